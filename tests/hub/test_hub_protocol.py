"""The hub protocol as lihil 0.2.41 defines it, through the public API, over real uvicorn and a real client."""

# No `from __future__ import annotations`: ididi reads the local classes' annotations at run time.
import logging
from typing import Any

import msgspec
import pytest

from lihil import (
    EVENT_NOT_FOUND,
    Annotated,
    ChannelBase,
    InMemorySocketBus,
    ISocket,
    Lihil,
    MessageEnvelope,
    SocketHub,
    Topic,
    use,
)
from lihil.errors import SockRejectedError
from tests.hub.hub_apps import hub_with
from tests.hub.hub_support import HubClient, wait_until


class Room(ChannelBase):
    topic = Topic("room:{room_id}")

    async def on_join(self, room_id: str) -> None:
        self.room_id = room_id
        await super().on_join()

    async def on_chat(self, payload: Any) -> None:
        await self.publish(payload, event="chat")

    async def on_where(self) -> dict[str, str]:
        return {"room_id": self.room_id}


def room_hub(**kwargs: Any) -> SocketHub:
    hub = SocketHub("/ws", **kwargs)
    hub.channel(Room)
    return hub


def test_join_chat_exit_with_refs_and_seq(serve: Any) -> None:
    server = serve(Lihil(room_hub()))
    with HubClient(server.url()) as a:
        ack = a.join("room:lobby", ref="r1")
        assert ack == {"topic": "room:lobby", "event": "reply", "ref": "r1", "join_ref": "r1", "event_id": None,
                       "seq": 1, "payload": {"status": "ok", "response": {
                           "topic": "room:lobby", "already_joined": False, "replay_supported": False}}}
        a.send("room:lobby", "join", ref="r2", join_ref="other")
        again = a.recv()
        assert again["payload"]["response"]["already_joined"] is True
        assert (again["ref"], again["join_ref"], again["seq"]) == ("r2", "r1", 2)

        a.send("room:lobby", "chat", {"text": "hi"}, ref="r3")
        chat = a.recv()  # a handler returning None sends no reply: the broadcast is the next frame
        assert (chat["event"], chat["payload"], chat["ref"], chat["join_ref"], chat["seq"]) == (
            "chat", {"text": "hi"}, None, "r1", 3)

        a.send("room:lobby", "where", ref="r4")
        assert a.recv()["payload"] == {"status": "ok", "response": {"room_id": "lobby"}}

        a.send("room:lobby", "exit", ref="x1")
        bye = a.recv()
        assert (bye["payload"], bye["join_ref"]) == ({"status": "ok", "response": {"topic": "room:lobby"}}, "r1")
        a.send("room:lobby", "chat", {"text": "after exit"}, ref="x2")
        error = a.recv()["payload"]["error"]
        assert (error["code"], error["message"], error["detail"]) == (
            "not_joined", "topic 'room:lobby' not joined: send a join for it first", None)


def test_unknown_topic_and_unknown_event(serve: Any) -> None:
    server = serve(Lihil(room_hub()))
    with HubClient(server.url()) as a:
        a.send("nowhere", "join", ref="j")
        assert a.recv()["payload"]["error"] == {  # the message names the topic and what the hub serves
            "code": "topic_not_found", "message": "topic 'nowhere' not found (this hub serves room:{room_id})",
            "detail": None}
        a.send("nowhere", "exit", ref="e")
        assert a.recv()["payload"]["error"]["code"] == "topic_not_found"
        a.join("room:1")
        a.send("room:1", "dance", ref="d")
        reply = a.recv()
        assert reply["payload"] == {"status": "error", "error": {  # names the event and what the channel handles
            "code": "event_not_found", "message": "event 'dance' not found on room:1 (Room handles: chat, where)",
            "detail": {}}}
        assert reply["ref"] == "d"


class Ping(msgspec.Struct):
    ok: bool


class Pong(msgspec.Struct):
    accepted: bool
    ref: str | None


class Commands(ChannelBase):
    topic = Topic("cmd:{name}")

    async def on_ping(self, payload: Ping, env: MessageEnvelope) -> Pong:
        return Pong(accepted=payload.ok, ref=env.ref)

    async def on_boom(self) -> None:
        raise RuntimeError("boom in handler")

    async def on_raw(self, payload: Any) -> Any:
        return payload

    async def on_message(self, env: MessageEnvelope) -> Any:
        return EVENT_NOT_FOUND if env.event != "free" else {"free": env.payload}


def test_typed_payloads_struct_replies_and_errors(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(Lihil(hub_with(Commands)))
    with HubClient(server.url()) as a:
        a.join("cmd:x", ref="j")
        a.send("cmd:x", "ping", {"ok": True}, ref="p1")
        reply = a.recv()
        assert reply["payload"] == {"status": "ok", "response": {"accepted": True, "ref": "p1"}}
        assert (reply["ref"], reply["join_ref"]) == ("p1", "j")

        a.send("cmd:x", "ping", {"ok": "true"}, ref="p2")  # strict: the string "true" is not a bool
        error = a.recv()["payload"]["error"]
        assert error["code"] == "invalid_payload" and "Expected `bool`, got `str`" in error["detail"]["error"]
        assert error["message"] == "invalid payload for event 'ping' on cmd:x: Expected `bool`, got `str` - at `$.ok`"

        with caplog.at_level(logging.ERROR, logger="lihil.socket"):
            a.send("cmd:x", "boom", ref="b")
            error = a.recv()["payload"]["error"]
        assert (error["code"], error["detail"]) == ("internal_error", {"error": "boom in handler"})
        assert "boom in handler" in caplog.text  # the server side sees the traceback too

        a.send("cmd:x", "raw", 0, ref="r")  # 0 is a response, not "no reply"
        assert a.recv()["payload"] == {"status": "ok", "response": 0}
        a.send("cmd:x", "free", [1], ref="f")
        assert a.recv()["payload"] == {"status": "ok", "response": {"free": [1]}}
        a.send("cmd:x", "other", ref="o")
        assert a.recv()["payload"]["error"]["code"] == "event_not_found"


def test_on_join_receives_only_the_topic_params_it_declares(serve: Any) -> None:
    seen: list[dict[str, str]] = []

    class Scoped(ChannelBase):
        topic = Topic("org:{org_id}/room:{room_id}")

        async def on_join(self, room_id: str) -> None:
            seen.append({"room_id": room_id})
            await super().on_join()

    class Everything(ChannelBase):
        topic = Topic("all:{a}:{b}")

        async def on_join(self, **params: str) -> None:
            seen.append(params)
            await super().on_join()

    server = serve(Lihil(hub_with(Scoped, Everything)))
    with HubClient(server.url()) as a:
        a.join("org:acme/room:lobby")
        a.join("all:1:2", ref="j2")
    assert seen == [{"room_id": "lobby"}, {"a": "1", "b": "2"}]


def test_the_most_specific_topic_pattern_wins(serve: Any) -> None:
    class Any_(ChannelBase):
        topic = Topic("room:{rest}")

        async def on_who(self) -> str:
            return "generic"

    class Specific(ChannelBase):
        topic = Topic("room:{kind}:{id}")

        async def on_who(self) -> str:
            return "specific"

    server = serve(Lihil(hub_with(Any_, Specific)))
    with HubClient(server.url()) as a:
        a.join("room:vip:1")
        a.send("room:vip:1", "who", ref="w")
        assert a.recv()["payload"]["response"] == "specific"


@pytest.mark.parametrize(("body", "message"), [
    ("async def on_join(self, missing: str) -> None: ...",
     "Bad.on_join declares unknown topic parameter(s): missing. Available topic parameters: room_id"),
    ("async def on_join(self, *rooms: str) -> None: ...", "variadic positional"),
    ("async def on_ping(self, payload: dict, env: MessageEnvelope, extra: str) -> None: ...",
     "Bad.on_ping accepts at most payload and env"),
    ("async def on_ping(self, *, payload: dict) -> None: ...", "only supports positional payload/env"),
    ("async def on_ping(self, payload: dict, other: dict) -> None: ...", "second parameter must be env"),
    ("def on_ping(self, payload: dict) -> None: ...", "Bad.on_ping must be a coroutine function"),
])
def test_handler_signatures_are_checked_when_the_channel_is_registered(body: str, message: str) -> None:
    namespace: dict[str, Any] = {"ChannelBase": ChannelBase, "Topic": Topic, "MessageEnvelope": MessageEnvelope}
    exec(f"class Bad(ChannelBase):\n    topic = Topic('room:{{room_id}}')\n    {body}\n", namespace)
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SocketHub("/ws").channel(namespace["Bad"])


def test_a_channel_without_a_topic_is_refused() -> None:
    class NoTopic(ChannelBase):
        pass

    with pytest.raises(AttributeError, match="NoTopic has no `topic`"):
        SocketHub("/ws").channel(NoTopic)

    class StrTopic(ChannelBase):
        topic = "room:{id}"  # type: ignore[assignment]

    with pytest.raises(TypeError, match=r"wrap it: topic = Topic\('room:\{id\}'\)"):
        SocketHub("/ws").channel(StrTopic)


def test_hooks_run_in_order_and_on_connect_can_reject(serve: Any) -> None:
    events: list[str] = []

    class Tracked(Room):
        async def on_join(self, room_id: str) -> None:
            events.append(f"join {room_id}")
            await super().on_join(room_id)

        async def on_exit(self) -> None:
            events.append("exit")
            await super().on_exit()

    hub = SocketHub("/ws")
    hub.channel(Tracked)

    @hub.on_connect
    async def check(sock: ISocket) -> None:
        events.append("connect")
        await sock.allow_if(sock.query_params.get("token") == "ok")

    @hub.on_disconnect
    async def gone(sock: ISocket) -> None:
        events.append("disconnect")

    server = serve(Lihil(hub))
    with HubClient(server.url("/ws?token=ok")) as a:
        a.join("room:1")
    wait_for_events = wait_until
    wait_for_events(lambda: events[-1:] == ["disconnect"], 5.0, "on_disconnect ran")
    assert events == ["connect", "join 1", "exit", "disconnect"]

    events.clear()
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:  # closed before accept: the server answers 403
        HubClient(server.url("/ws?token=bad"))
    assert refused.value.response.status_code == 403
    wait_for_events(lambda: events == ["connect", "disconnect"], 5.0, "on_disconnect ran after the rejection")


def test_join_rejection_and_join_failure_leave_no_subscription(serve: Any) -> None:
    class Picky(ChannelBase):
        topic = Topic("picky:{name}")

        async def on_join(self, name: str) -> None:
            await super().on_join()
            if name == "no":
                raise SockRejectedError("not you")
            if name == "broken":
                raise RuntimeError("join exploded")

        async def on_hello(self) -> None:
            await self.publish("hello", event="hello")

    hub = SocketHub("/ws")
    hub.channel(Picky)
    server = serve(Lihil(hub))
    with HubClient(server.url()) as a:
        a.send("picky:no", "join", ref="j1")
        reply = a.recv()
        assert (reply["payload"]["error"]["code"], reply["payload"]["error"]["detail"], reply["join_ref"]) == (
            "join_rejected", {"error": "not you"}, None)
        assert reply["payload"]["error"]["message"] == "join of 'picky:no' rejected: not you"
        a.send("picky:broken", "join", ref="j2")
        assert a.recv()["payload"]["error"] == {"code": "internal_error", "message": "internal error",
                                                "detail": {"error": "join exploded"}}
        a.send("picky:no", "hello", ref="h")  # not joined: the failed join left nothing behind
        assert a.recv()["payload"]["error"]["code"] == "not_joined"
    bus = hub.bus
    assert isinstance(bus, InMemorySocketBus) and bus._subs == {}  # nothing left subscribed


def test_replay_after_runs_after_the_join_reply(serve: Any) -> None:
    class Replaying(ChannelBase):
        topic = Topic("log:{name}")

        async def replay_after(self, event_id: str | None) -> list[MessageEnvelope]:
            return [MessageEnvelope(self.resolved_topic, "missed", {"after": event_id}, event_id="e2")]

    server = serve(Lihil(hub_with(Replaying)))
    with HubClient(server.url()) as a:
        ack = a.join("log:1", ref="j", last_event_id="e1")
        assert ack["payload"]["response"]["replay_supported"] is True
        missed = a.recv()
        assert (missed["event"], missed["payload"], missed["join_ref"], missed["event_id"]) == (
            "missed", {"after": "e1"}, "j", "e2")


def test_task_failure_policies(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def fail() -> None:
        raise RuntimeError("task broke")

    class Erroring(ChannelBase):
        topic = Topic("err:{n}")

        async def on_go(self) -> str:
            self.start_task("work", fail())
            return "started"

    class Closing(Erroring):
        topic = Topic("close:{n}")
        task_exception_policy = "close"
        task_exception_close_code = 4500
        task_exception_close_reason = "Task failed"

    server = serve(Lihil(hub_with(Erroring, Closing)))
    with caplog.at_level(logging.ERROR, logger="lihil.socket.channel"), HubClient(server.url()) as a:
        a.join("err:1")
        a.send("err:1", "go", ref="g")
        assert a.recv()["payload"]["response"] == "started"
        error = a.recv_event("error")
        assert error["payload"]["error"] == {"code": "internal_error", "message": "internal error",
                                             "detail": {"task": "work", "error": "task broke"}}
        assert (error["topic"], error["ref"]) == ("err:1", None)
        a.join("close:1", ref="j2")
        a.send("close:1", "go", ref="g2")
        assert a.recv()["payload"]["response"] == "started"
        from websockets.exceptions import ConnectionClosed

        with pytest.raises(ConnectionClosed) as closed:
            a.recv()
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4500, "Task failed")  # type: ignore[union-attr]
    assert "channel task 'work' failed on err:1" in caplog.text


def test_tasks_are_cancelled_when_the_client_exits(serve: Any) -> None:
    import asyncio

    cancelled: list[str] = []

    class Ticking(ChannelBase):
        topic = Topic("tick:{n}")

        async def on_start(self) -> None:
            async def forever() -> None:
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    cancelled.append(self.resolved_topic)
                    raise
            self.start_task("tick", forever())

    server = serve(Lihil(hub_with(Ticking)))
    with HubClient(server.url()) as a:
        a.join("tick:1")
        a.send("tick:1", "start", ref="s")
        a.send("tick:1", "exit", ref="x")
        assert a.recv()["payload"]["status"] == "ok"
    assert cancelled == ["tick:1"]


def test_dependency_injection_through_the_hub_graph(serve: Any) -> None:
    class Greeter:
        def greet(self, name: str) -> str:
            return f"hello {name}"

    class Kafka:
        pass

    calls: list[str] = []

    def make_kafka() -> Kafka:
        calls.append("kafka")
        return Kafka()

    def make_bus(kafka: Annotated[Kafka, use(make_kafka)]) -> InMemorySocketBus:
        calls.append("bus")
        return InMemorySocketBus()

    class Greeting(ChannelBase):
        topic = Topic("greet:{name}")

        def __init__(self, greeter: Greeter, socket: ISocket, *, topic: str, bus: Any, resolver: Any) -> None:
            super().__init__(socket, topic=topic, bus=bus, resolver=resolver)
            self.greeter = greeter

        async def on_join(self, name: str) -> None:
            self.name = name
            await super().on_join()

        async def on_hi(self) -> str:
            return self.greeter.greet(self.name)

    hub = SocketHub("/ws", bus_factory=make_bus)
    hub.add_nodes(Greeter)
    hub.channel(Greeting)
    server = serve(Lihil(hub))
    for _ in range(2):
        with HubClient(server.url()) as a:
            a.join("greet:ann")
            a.send("greet:ann", "hi", ref="h")
            assert a.recv()["payload"]["response"] == "hello ann"
    assert calls == ["kafka", "bus"]  # bus_factory: once per hub, shared by every connection
    assert isinstance(hub.bus, InMemorySocketBus)


def test_on_connect_failing_refuses_the_handshake_with_500(serve: Any) -> None:
    from websockets.exceptions import InvalidStatus

    events: list[str] = []
    hub = room_hub()

    @hub.on_connect
    async def broken(sock: ISocket) -> None:
        raise RuntimeError("on_connect broke")

    @hub.on_disconnect
    async def gone(sock: ISocket) -> None:
        events.append("disconnect")

    server = serve(Lihil(hub))
    with pytest.raises(InvalidStatus) as refused:
        HubClient(server.url())
    assert refused.value.response.status_code == 500
    assert events == ["disconnect"]


def test_route_middlewares_wrap_the_hub_and_see_every_frame(serve: Any) -> None:
    import asyncio

    seen: list[str] = []

    def recording(app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            def send_and_record(message: Any) -> Any:  # not a coroutine function: returns a future
                seen.append(message["type"])
                return asyncio.ensure_future(send(message))

            await app(scope, receive, send_and_record)
        return wrapped

    server = serve(Lihil(room_hub(middlewares=[recording])))
    with HubClient(server.url()) as a:
        a.join("room:1")
        a.send("room:1", "chat", "through the middleware", ref="c")
        assert a.recv_event("chat")["payload"] == "through the middleware"
    assert seen[:3] == ["websocket.accept", "websocket.send", "websocket.send"]
