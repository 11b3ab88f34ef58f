"""Where our hub does better than lihil 0.2.41 (each row of the README's differences table has a test here)."""

import json
import logging
import struct
import threading
from typing import Any

import httpx
import pytest

from lihil import ChannelBase, InMemorySocketBus, Lihil, SocketHub, Topic
from lihil.socket import MessageEnvelope, RedisSocketBus, SocketBus
from tests.hub.hub_apps import ChatRoom, hub_with
from tests.hub.hub_support import FRAME_TIMEOUT, HubClient, RawClient

LEGACY_WARNING = "ignore:remove second argument of ws_handler:DeprecationWarning"  # uvicorn's legacy impl, not ours


@pytest.mark.filterwarnings(LEGACY_WARNING)
@pytest.mark.parametrize("ws", ["websockets-sansio", "websockets", "wsproto"])
def test_the_default_bus_is_shared_so_a_broadcast_reaches_every_member(serve: Any, ws: str) -> None:
    server = serve(Lihil(hub_with(ChatRoom)), ws=ws)  # under each of uvicorn's WebSocket implementations
    with HubClient(server.url()) as a, HubClient(server.url()) as b:
        a.join("room:1", ref="ja")
        b.join("room:1", ref="jb")
        a.send("room:1", "chat", {"t": "hi"}, ref="c1")
        got_a, got_b = a.recv_event("chat"), b.recv_event("chat")
        assert (got_a["payload"], got_a["join_ref"]) == ({"t": "hi"}, "ja")
        assert (got_b["payload"], got_b["join_ref"], got_b["seq"]) == ({"t": "hi"}, "jb", 2)


def chat_from_binary(text: HubClient, binary: HubClient) -> None:
    """Both clients join room:1; the binary one chats, and both receive it."""
    text.join("room:1")
    binary.join("room:1")
    binary.send("room:1", "chat", "from binary", ref="c")
    assert binary.recv_event("chat")["payload"] == "from binary"
    assert text.recv_event("chat")["payload"] == "from binary"


def test_text_and_binary_frames_both_work_and_replies_are_text_json_as_lihil_sends(serve: Any) -> None:
    server = serve(Lihil(hub_with(ChatRoom)))
    with HubClient(server.url(), binary=False) as text, HubClient(server.url(), binary=True) as binary:
        chat_from_binary(text, binary)
        text.send("room:1", "version", ref="v")
        assert text.recv()["payload"]["response"] == 1
        assert text.frame_types == ["text"] * 3
        assert binary.frame_types == ["text"] * 2  # lihil's clients read replies with receive_json(): text


def test_reply_frames_match_mirrors_the_frame_type_each_client_sends(serve: Any) -> None:
    server = serve(Lihil(hub_with(ChatRoom, reply_frames="match")))
    with HubClient(server.url(), binary=False) as text, HubClient(server.url(), binary=True) as binary:
        chat_from_binary(text, binary)
        assert text.frame_types == ["text"] * 2
        assert binary.frame_types == ["binary"] * 2  # replies and broadcasts, in the frame type it sends


def test_reply_frames_must_be_one_of_the_two_modes() -> None:
    with pytest.raises(ValueError, match=r"reply_frames= expects one of \('text', 'match'\), got 'mirror'"):
        hub_with(ChatRoom, reply_frames="mirror")


def test_a_bus_instance_can_be_shared_by_two_hubs(serve: Any) -> None:
    shared = InMemorySocketBus()
    app: Lihil[None] = Lihil()
    app.include(hub_with(ChatRoom, bus=shared), SocketHub("/other", bus=shared))
    other = app.get_route("/other")
    assert isinstance(other, SocketHub)
    other.channel(ChatRoom)
    server = serve(app)
    with HubClient(server.url("/ws")) as a, HubClient(server.url("/other")) as b:
        a.join("room:1")
        b.join("room:1")
        b.send("room:1", "chat", "across hubs", ref="c")
        assert a.recv_event("chat")["payload"] == "across hubs"
    with pytest.raises(TypeError, match=r"pass bus= \(an instance\) or bus_factory= \(a factory\), not both"):
        SocketHub("/ws", bus=shared, bus_factory=InMemorySocketBus)
    with pytest.raises(TypeError, match="bus= expects a SocketBus instance"):
        SocketHub("/ws", bus=InMemorySocketBus)  # type: ignore[arg-type]


@pytest.mark.parametrize(("frame", "ref", "says"), [
    ("not json at all", None, "the frame is not valid JSON"),
    ("[1, 2]", None, "the frame is JSON list, not an object"),
    ('{"event": "join", "ref": "r9"}', "r9", "Object missing required field `topic`"),
    ('{"topic": "room:1", "event": "join", "ref": 5}', None, "Expected `str | null`, got `int` - at `$.ref`"),
])
def test_bad_input_gets_an_error_reply_and_the_connection_stays_open(
    serve: Any, frame: str, ref: str | None, says: str
) -> None:
    server = serve(Lihil(hub_with(ChatRoom)))
    with HubClient(server.url()) as a:
        a.send_raw(frame)
        reply = a.recv()
        assert (reply["event"], reply["ref"]) == ("reply", ref)
        error = reply["payload"]["error"]
        assert error["code"] == "invalid_message" and says in error["detail"]["error"], error
        assert '"topic": str, "event": str' in error["detail"]["error"]  # ...and says what was expected
        assert a.join("room:1", ref="after")["payload"]["status"] == "ok"  # still open and working


class Megaphone(ChannelBase):
    """Publishes to a room without being a member of it (so the publisher reads nothing back)."""

    topic = Topic("megaphone:{room_id}")

    async def on_join(self, room_id: str) -> None:
        self.room = f"room:{room_id}"  # no super().on_join(): not subscribed

    async def on_say(self, payload: Any) -> None:
        await self.bus.publish(self.room, "chat", payload)


@pytest.mark.filterwarnings(LEGACY_WARNING)
@pytest.mark.parametrize(("bus_kind", "ws"), [
    ("memory", "websockets-sansio"), ("redis", "websockets-sansio"), ("memory", "websockets"), ("memory", "wsproto"),
])
def test_a_slow_subscriber_is_closed_with_1013_and_does_not_hold_up_the_room(
    serve: Any, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest, bus_kind: str, ws: str
) -> None:
    messages, size, limit = 400, 32 * 1024, 20
    bus: SocketBus = InMemorySocketBus()
    if bus_kind == "redis":  # the same on Redis: its reader hands envelopes to the outboxes and never waits
        bus = RedisSocketBus(request.getfixturevalue("redis_server").url)
    server = serve(Lihil(hub_with(ChatRoom, Megaphone, max_send_queue=limit, bus=bus)), ws=ws)
    received: list[int] = []
    slow = RawClient(server.port)
    try:
        with caplog.at_level(logging.WARNING, logger="lihil.socket"), HubClient(server.url()) as fast, \
                HubClient(server.url()) as publisher:
            slow.send_text('{"topic": "room:1", "event": "join", "ref": "s"}')
            assert json.loads(slow.recv_frame()[1])["payload"]["status"] == "ok"
            fast.join("room:1")
            publisher.join("megaphone:1")
            reader = threading.Thread(target=lambda: received.extend(
                fast.recv_event("chat")["payload"]["i"] for _ in range(messages)), daemon=True)
            reader.start()
            blob = "x" * size
            for i in range(messages):  # the slow client reads nothing meanwhile
                publisher.send("megaphone:1", "say", {"i": i, "blob": blob})
            reader.join(FRAME_TIMEOUT * 4)
            assert received == list(range(messages))  # every one, in order, while the slow member lagged
            frames = [slow.recv_frame()]
            while frames[-1][0] != 0x8 and len(frames) <= messages:  # up to the close frame
                frames.append(slow.recv_frame())
    finally:
        slow.close()
    closes = [payload for opcode, payload in frames if opcode == 0x8]
    assert len(closes) == 1 and len(frames) < messages, "the slow client is closed before it gets every message"
    code, reason = struct.unpack("!H", closes[0][:2])[0], closes[0][2:].decode()
    assert code == 1013
    assert reason.startswith("send queue full") and f"max_send_queue={limit}" in reason
    warnings = [r.getMessage() for r in caplog.records if "closing hub connection" in r.getMessage()]
    assert len(warnings) == 1 and "send queue full" in warnings[0]  # only the slow one, and the log says why


class RoomV1(ChannelBase):
    topic = Topic("room:{room_id}")

    async def on_version(self) -> int:
        return 1

    async def on_chat(self, payload: Any) -> None:
        await self.publish(payload, event="chat")


class RoomV2(RoomV1):
    async def on_version(self) -> int:
        return 2


def test_channels_can_be_replaced_on_a_live_hub(serve: Any) -> None:
    hub = hub_with(RoomV1)
    app: Lihil[None] = Lihil(hub)
    server = serve(app)
    assert app.get_route("/ws") is hub
    with HubClient(server.url()) as old:
        old.join("room:1")
        seen: list[str] = []

        async def hello(sock: Any) -> None:
            seen.append("v2 connect")

        hub.replace_channels(RoomV2, on_connect=hello)
        with HubClient(server.url()) as new:
            new.join("room:1")
            new.send("room:1", "version", ref="v")
            assert new.recv()["payload"]["response"] == 2
            old.send("room:1", "version", ref="v")
            assert old.recv()["payload"]["response"] == 1  # open connections keep what they started with...
            old.join("room:2", ref="j2")
            old.send("room:2", "version", ref="v2")
            assert old.recv()["payload"]["response"] == 1  # ...also for topics they join afterwards
            old.send("room:1", "chat", "still one room", ref="c")
            assert new.recv_event("chat")["payload"] == "still one room"  # ...on the same bus
        assert seen == ["v2 connect"]
    with pytest.raises(TypeError, match="unknown topic parameter"):
        class Broken(RoomV1):
            async def on_join(self, nope: str) -> None: ...

        hub.replace_channels(RoomV1, Broken)
    assert hub.channels == (RoomV2,)  # a bad replacement changes nothing


def test_an_http_request_to_a_hub_is_told_it_is_a_websocket_route(serve: Any) -> None:
    server = serve(Lihil(hub_with(ChatRoom)))
    response = httpx.get(f"http://127.0.0.1:{server.port}/ws", timeout=FRAME_TIMEOUT)
    assert response.status_code == 426 and "WebSocket route" in response.text


def test_replayed_and_live_envelopes_arrive_in_order_without_duplicates(serve: Any) -> None:
    """A rejoin's replay goes out before live broadcasts that raced with it."""
    class Log(ChannelBase):
        topic = Topic("log:{n}")

        async def replay_after(self, event_id: str | None) -> list[MessageEnvelope]:
            # While the replay is being assembled, a live broadcast arrives (it is also in the replay).
            await self.bus.publish(self.resolved_topic, "live", {"id": "e3"})
            return [MessageEnvelope(self.resolved_topic, "old", {"id": "e2"}, event_id="e2")]

    server = serve(Lihil(hub_with(Log)))
    with HubClient(server.url()) as a:
        a.join("log:1", last_event_id="e1")
        assert [a.recv()["event"] for _ in range(2)] == ["old", "live"]


def test_the_bus_can_be_replaced_on_a_live_hub(serve: Any) -> None:
    first, second = InMemorySocketBus(), InMemorySocketBus()
    hub = hub_with(ChatRoom, bus=first)
    server = serve(Lihil(hub))
    with HubClient(server.url()) as old:
        old.join("room:1")
        assert hub.replace_bus(second) is first and hub.bus is second
        with HubClient(server.url()) as new, HubClient(server.url()) as newer:
            new.join("room:1")
            newer.join("room:1")
            new.send("room:1", "chat", "on the second bus", ref="c")
            assert newer.recv_event("chat")["payload"] == "on the second bus"
            old.send("room:1", "chat", "on the first bus", ref="c")
            assert old.recv_event("chat")["payload"] == "on the first bus"  # old connections keep their bus
            new.send("room:1", "version", ref="v")
            assert new.recv_event("chat")["payload"] == "on the second bus"  # its own broadcast, then...
            assert new.recv()["payload"]["response"] == 1  # ...the reply; nothing from the first bus in between
    with pytest.raises(TypeError, match="replace_bus expects a SocketBus instance"):
        hub.replace_bus("redis://x")  # type: ignore[arg-type]


def test_a_hub_can_be_swapped_in_the_app_route_table_while_serving(serve: Any) -> None:
    first = hub_with(RoomV1)
    app: Lihil[None] = Lihil(first)
    server = serve(app)
    with HubClient(server.url()) as old:
        old.join("room:1")
        assert app.remove_route("/ws") is first
        second = hub_with(RoomV2, bus=first.bus)  # same bus: the room survives the swap
        app.include(second)
        assert app.get_route("/ws") is second
        with HubClient(server.url()) as new:
            new.join("room:1")
            new.send("room:1", "version", ref="v")
            assert new.recv()["payload"]["response"] == 2
            new.send("room:1", "chat", "to the old hub's member", ref="c")
            assert old.recv_event("chat")["payload"] == "to the old hub's member"
            old.send("room:1", "version", ref="v")
            assert old.recv()["payload"]["response"] == 1
