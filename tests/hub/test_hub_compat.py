"""Code written against lihil 0.2.41's hub runs here: its spellings, its graph, its websocket-like objects."""

import asyncio
from typing import Any

import pytest
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect, WebSocketState

import lihil.socket.hub as hub_module
from lihil import InMemorySocketBus, Lihil, SocketHub, WebSocket, WebSocketRoute
from lihil.socket import ISocket, SocketBus
from lihil.socket.hub import ChannelFactory, SocketSession
from tests.hub.hub_apps import ChatRoom, hub_with
from tests.hub.hub_support import HubClient


def room_hub(**kwargs: Any) -> SocketHub:
    return hub_with(ChatRoom, **kwargs)


async def bus_in_graph(hub: SocketHub) -> SocketBus:
    async with hub.graph.ascope() as scope:
        bus: SocketBus = await scope.aresolve(SocketBus)
        return bus


# --- SocketSession built by hand, as lihil's own glue code does ---------------------------------------------------


def test_a_session_built_with_lihils_spelling_serves_the_channels_on_the_hubs_own_bus(serve: Any) -> None:
    hub = room_hub()
    by_hand = WebSocketRoute("/by-hand")

    @by_hand.endpoint
    async def serve_by_hand(ws: WebSocket) -> None:
        async with hub.graph.ascope() as scope:
            bus = await scope.aresolve(SocketBus)  # lihil's way to get the bus: the hub's, shared
            session = SocketSession(ISocket(ws), bus, scope,
                                    channel_fractories=[ChannelFactory(ChatRoom.topic, ChatRoom)])
            async with session:
                await session.run()

    server = serve(Lihil(hub, by_hand))
    with HubClient(server.url("/ws")) as member, HubClient(server.url("/by-hand")) as glued:
        member.join("room:1", ref="m")
        glued.join("room:1", ref="g")
        member.send("room:1", "chat", "hello", ref="c")
        assert glued.recv_event("chat")["payload"] == "hello"  # one room: the session is on the hub's bus
        glued.send("room:1", "version", ref="v")
        assert glued.recv()["payload"] == {"status": "ok", "response": 1}


def test_channel_factories_and_lihils_spelling_are_one_parameter() -> None:
    socket, bus, graph = ISocket(object()), InMemorySocketBus(), room_hub().graph
    factories = [ChannelFactory(ChatRoom.topic, ChatRoom)]
    with pytest.raises(TypeError, match=r"channel_factories= or its alias channel_fractories=.*not both"):
        SocketSession(socket, bus, graph, channel_factories=factories, channel_fractories=factories)
    with pytest.raises(TypeError, match=r"channel_factories= expects a sequence of ChannelFactory .*got None"):
        SocketSession(socket, bus, graph)
    with pytest.raises(TypeError, match=r"channel_fractories= expects a sequence of ChannelFactory .*got Channel"):
        SocketSession(socket, bus, graph, channel_fractories=factories[0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"channel_factories= expects a sequence of ChannelFactory .*got \[<class"):
        SocketSession(socket, bus, graph, [ChatRoom])  # type: ignore[list-item]


# --- SocketBus from the hub's graph --------------------------------------------------------------------------------


def test_socket_bus_resolved_from_the_hubs_graph_is_the_bus_its_connections_share() -> None:
    hub = room_hub()
    assert asyncio.run(bus_in_graph(hub)) is hub.bus
    mine = InMemorySocketBus()
    assert asyncio.run(bus_in_graph(room_hub(bus=mine))) is mine
    replacement = InMemorySocketBus()
    hub.replace_bus(replacement)
    assert asyncio.run(bus_in_graph(hub)) is replacement
    Lihil(hub)  # included: the hub's graph is now the app's
    assert asyncio.run(bus_in_graph(hub)) is replacement


def test_socket_bus_from_the_graph_is_the_one_a_bus_factory_made_for_the_hub(serve: Any) -> None:
    made: list[SocketBus] = []

    def make_bus() -> InMemorySocketBus:
        bus = InMemorySocketBus()
        made.append(bus)
        return bus

    hub = room_hub(bus_factory=make_bus)
    server = serve(Lihil(hub))
    with HubClient(server.url()) as client:
        client.join("room:1")  # the first connection has the factory called
    assert asyncio.run(bus_in_graph(hub)) is hub.bus is made[0]
    assert len(made) == 1


# --- a server that sends something that is not an ASGI message ----------------------------------------------------


def test_an_asgi_message_without_a_type_is_a_runtime_error_naming_the_hub_and_the_message() -> None:
    hub = room_hub()  # never set up: the first call does it
    sent: list[Message] = []

    async def receive() -> Message:
        return {"text": "no type"}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match=r"SocketHub\('/ws'.*returned \{'text': 'no type'\}.*no 'type' key"):
        asyncio.run(hub({"type": "websocket", "path": "/ws"}, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1011, "reason": "Internal Server Error"}]


# --- a websocket-like object with lihil's interface (receive_bytes, send_json) ------------------------------------


class BytesOnlySocket:
    """A websocket-like object with only what lihil's hub uses: binary frames in, ``send_json`` out."""

    def __init__(self, frames: list[bytes | Exception]) -> None:
        self.application_state = self.client_state = WebSocketState.CONNECTED
        self.frames = frames
        self.out: list[tuple[str, Any]] = []
        self.closed: list[tuple[int, str]] = []

    async def accept(self, subprotocol: str | None = None) -> None:
        return None

    async def receive_bytes(self) -> bytes:
        frame = self.frames.pop(0) if self.frames else WebSocketDisconnect(1000)
        if isinstance(frame, Exception):
            raise frame
        return frame

    async def send_json(self, data: Any) -> None:
        self.out.append(("json", data))

    async def send_bytes(self, data: bytes) -> None:
        self.out.append(("bytes", data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed.append((code, reason))


def serve_once(monkeypatch: pytest.MonkeyPatch, hub: SocketHub, socket: BytesOnlySocket) -> None:
    monkeypatch.setattr(hub_module, "WebSocket", lambda scope, receive, send: socket)

    async def no_asgi(*args: Any) -> Any:
        raise AssertionError("the hub used the ASGI channel instead of the websocket-like object")

    asyncio.run(hub({"type": "websocket", "path": "/ws"}, no_asgi, no_asgi))


JOIN = b'{"topic": "room:1", "event": "join", "ref": "j"}'
VERSION = b'{"topic": "room:1", "event": "version", "ref": "v"}'


def test_a_hub_serves_a_websocket_like_object_that_only_has_receive_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    socket = BytesOnlySocket([JOIN, VERSION])
    serve_once(monkeypatch, room_hub(), socket)
    kinds = [kind for kind, _ in socket.out]
    replies = [(data["ref"], data["payload"]["status"]) for _, data in socket.out]
    assert (kinds, replies) == (["json", "json"], [("j", "ok"), ("v", "ok")])  # text JSON, as lihil replies
    assert socket.out[1][1]["payload"]["response"] == 1
    assert socket.closed == [(1000, "")]  # the client left: a normal close


def test_reply_frames_match_answers_such_an_object_in_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    socket = BytesOnlySocket([JOIN])
    serve_once(monkeypatch, room_hub(reply_frames="match"), socket)
    assert [kind for kind, _ in socket.out] == ["bytes"]


def test_a_server_failure_closes_such_an_object_with_1011(monkeypatch: pytest.MonkeyPatch) -> None:
    socket = BytesOnlySocket([JOIN, RuntimeError("the transport broke")])
    with pytest.raises(RuntimeError, match="the transport broke"):
        serve_once(monkeypatch, room_hub(), socket)
    assert socket.closed == [(1011, "Internal Server Error")]
