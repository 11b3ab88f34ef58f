"""RedisSocketBus against a real redis-server: rooms across servers, restarts, outages, history, secrets.

Each "server" here is uvicorn in a thread with its own event loop and its own RedisSocketBus, as separate
processes would have (test_redis_processes.py runs real separate processes).
"""

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from lihil.socket import BusUnavailableError, RedisSocketBus
from tests.hub.hub_apps import redis_hub_app
from tests.hub.hub_support import HubClient, RedisServer, ServerThread, numsub, wait_until

RESUBSCRIBE_TIMEOUT = 10.0
"""Seconds the buses get to reconnect and resubscribe after a Redis restart (their back-off is capped at 1 s)."""


def two_servers(serve: Callable[..., ServerThread], redis: RedisServer, **settings: Any) -> list[ServerThread]:
    return [serve(redis_hub_app(redis.url, reconnect_backoff_max=1.0, **settings)) for _ in range(2)]


def test_a_room_spans_servers(serve: Any, redis_server: RedisServer) -> None:
    one, two = two_servers(serve, redis_server)
    with HubClient(one.url()) as a, HubClient(two.url()) as b:
        a.join("room:span", ref="ja")
        b.join("room:span", ref="jb")
        a.send("room:span", "chat", {"t": "hi from one"}, ref="c")
        got = b.recv_event("chat")
        assert (got["payload"], got["join_ref"]) == ({"t": "hi from one"}, "jb")
        assert a.recv_event("chat")["payload"] == {"t": "hi from one"}  # the sender too, through Redis
        b.send("room:span", "chat", "and back", ref="c2")
        assert a.recv_event("chat")["payload"] == "and back"


def test_one_subscriber_connection_per_process_for_all_topics(serve: Any, own_redis_server: RedisServer) -> None:
    (server,) = [serve(redis_hub_app(own_redis_server.url))]
    clients = [HubClient(server.url()) for _ in range(3)]
    try:
        for n, client in enumerate(clients):
            client.join(f"room:{n}")
            client.join("room:shared", ref="j2")
        pubsub_clients = own_redis_server.command("CLIENT", "LIST", "TYPE", "pubsub").decode()
        assert pubsub_clients.count("id=") == 1, pubsub_clients
        channels = own_redis_server.command("PUBSUB", "CHANNELS", "lihil:room:*").decode()
        for name in ("lihil:room:0", "lihil:room:1", "lihil:room:2", "lihil:room:shared"):
            assert name in channels
        assert numsub(own_redis_server, "lihil:room:shared") == 1  # three members, one subscription
    finally:
        for client in clients:
            client.close()


def test_rooms_carry_messages_again_after_redis_restarts(serve: Any, own_redis_server: RedisServer) -> None:
    one, two = two_servers(serve, own_redis_server)
    with HubClient(one.url()) as a, HubClient(two.url()) as b:
        a.join("room:r")
        b.join("room:r")
        own_redis_server.restart()  # stopped by pid, started again on the same port: no subscriptions left
        wait_until(lambda: numsub(own_redis_server, "lihil:room:r") == 2, RESUBSCRIBE_TIMEOUT,
                   "both servers resubscribed to room:r by themselves")
        for member in (a, b):  # each member is told that the gap may have cost it messages
            resumed = member.recv_event("bus_resumed")["payload"]
            assert resumed["gap_seconds"] > 0 and resumed["replay"] is False
            assert "events published meanwhile may be missing" in resumed["detail"]
        a.send("room:r", "chat", "after the restart", ref="c")  # same client connections as before
        assert b.recv_event("chat")["payload"] == "after the restart"
        assert a.recv_event("chat")["payload"] == "after the restart"


def test_while_redis_is_down_a_publish_gets_a_clear_error_reply(
    serve: Any, own_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    (server,) = [serve(redis_hub_app(own_redis_server.url, command_timeout=1.0, reconnect_backoff_max=1.0))]
    with HubClient(server.url()) as a, caplog.at_level(logging.WARNING, logger="lihil.socket"):
        a.join("room:d")
        own_redis_server.stop()
        started = time.monotonic()
        a.send("room:d", "chat", "lost?", ref="c")
        reply = a.recv()
        assert time.monotonic() - started < 3.0  # bounded by command_timeout, never a hung handler
        error = reply["payload"]["error"]
        assert (reply["ref"], error["code"], error["message"]) == ("c", "bus_unavailable", "message bus unavailable")
        assert f"Redis at {own_redis_server.url}" in error["detail"]["error"]
        a.send("room:other", "join", ref="j")  # a join needs Redis too
        assert a.recv()["payload"]["error"]["code"] == "bus_unavailable"
        own_redis_server.start()
        wait_until(lambda: numsub(own_redis_server, "lihil:room:d") == 1, RESUBSCRIBE_TIMEOUT, "resubscribed")
        assert a.recv_event("bus_resumed")["topic"] == "room:d"
        a.send("room:d", "chat", "back", ref="c2")
        assert a.recv_event("chat")["payload"] == "back"
    assert "unreachable" in caplog.text and "is back; resubscribed" in caplog.text


def test_history_replays_what_a_rejoining_client_missed(serve: Any, redis_server: RedisServer) -> None:
    (server,) = [serve(redis_hub_app(redis_server.url, history=3))]
    with HubClient(server.url()) as a:
        ack = a.join("room:h")
        assert ack["payload"]["response"]["replay_supported"] is True
        for i in range(5):
            a.send("room:h", "chat", i, ref=f"c{i}")
        sent = [a.recv_event("chat") for _ in range(5)]
        ids = [env["event_id"] for env in sent]
        assert all(ids) and len(set(ids)) == 5  # fanned-out envelopes carry their stream ids
    with HubClient(server.url()) as b:
        b.join("room:h", ref="rejoin", last_event_id=ids[2])
        replayed = [b.recv() for _ in range(2)]
        assert [(e["payload"], e["event_id"], e["join_ref"]) for e in replayed] == [
            (3, ids[3], "rejoin"), (4, ids[4], "rejoin")]
    with HubClient(server.url()) as c:
        c.join("room:h", last_event_id=ids[0])  # ids[1] has been trimmed away (history=3): c is told so
        truncated = c.recv_event("replay_truncated")
        assert truncated["payload"]["after"] == ids[0] and truncated["payload"]["history"] == 3
        assert "were dropped" in truncated["payload"]["detail"]
        assert [c.recv()["payload"] for _ in range(3)] == [2, 3, 4]
    with HubClient(server.url()) as d:
        d.join("room:h", last_event_id="not-an-id")
        error = d.recv()["payload"]["error"]
        assert error["code"] == "replay_failed"
        assert "payload.last_event_id" in error["detail"]["error"] and "'not-an-id'" in error["detail"]["error"]


def test_a_password_in_the_url_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bus = RedisSocketBus(f"redis://app:s3cret-pw@127.0.0.1:{port}/0", command_timeout=1.0, connect_timeout=1.0)
    assert repr(bus) == f"RedisSocketBus('redis://app:***@127.0.0.1:{port}/0')"

    async def publish() -> str:
        try:
            await bus.publish("room:1", "chat", "x")
        except BusUnavailableError as exc:
            return str(exc)
        finally:
            await bus.aclose()
        return "published?"

    with caplog.at_level(logging.DEBUG, logger="lihil.socket"):
        message = asyncio.run(publish())
    assert "redis://app:***@127.0.0.1" in message and "is unreachable" in message
    assert "s3cret-pw" not in message and "s3cret-pw" not in caplog.text


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"url": "http://x"}, "RedisSocketBus(url): expected a redis://host:port/db URL"),
    ({"history": -1}, "RedisSocketBus(history=): expected an int >= 0"),
    ({"command_timeout": 0}, "RedisSocketBus(command_timeout=): expected seconds > 0, got 0"),
    ({"reconnect_backoff": 2.0, "reconnect_backoff_max": 1.0}, "reconnect_backoff_max (1.0) must be >= "),
    ({"max_connections": 0}, "RedisSocketBus(max_connections=): expected an int >= 1"),
])
def test_bad_settings_name_the_parameter(kwargs: dict[str, Any], says: str) -> None:
    url = kwargs.pop("url", "redis://127.0.0.1:6379/0")
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        RedisSocketBus(url, **kwargs)


def test_reconnects_back_off_up_to_the_cap_without_a_busy_loop(own_redis_server: RedisServer) -> None:
    import asyncio

    backoff, cap = 0.1, 0.4

    async def scenario() -> tuple[float, int]:
        bus = RedisSocketBus(own_redis_server.url, reconnect_backoff=backoff, reconnect_backoff_max=cap,
                             connect_timeout=1.0)

        async def member(env: Any) -> None: ...

        try:
            await bus.subscribe("room:b", member)
            link = bus.link
            own_redis_server.stop()

            async def attempts_reach(n: int, timeout: float = 10.0) -> float:
                deadline = time.monotonic() + timeout
                while link.reconnects < n:
                    assert time.monotonic() < deadline, f"only {link.reconnects} reconnect attempts in {timeout} s"
                    await asyncio.sleep(0.01)
                return time.monotonic()

            first = await attempts_reach(1)  # the subscriber connection noticed Redis is gone
            sixth = await attempts_reach(6)
            return sixth - first, link.reconnects
        finally:
            await bus.aclose()

    elapsed, attempts = asyncio.run(scenario())
    # waits of 0.1, 0.2, 0.4, 0.4, 0.4 s between failures: 1.5 s (no cap: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 = 3.1 s;
    # a busy loop: milliseconds)
    assert 1.3 <= elapsed < 2.6, elapsed
    assert attempts <= 7


def test_a_redis_that_stops_answering_cannot_hang_a_handler(serve: Any, own_redis_server: RedisServer) -> None:
    import os
    import signal

    (server,) = [serve(redis_hub_app(own_redis_server.url, command_timeout=1.0))]
    assert own_redis_server.proc is not None
    pid = own_redis_server.proc.pid
    with HubClient(server.url()) as a:
        a.join("room:hang")
        os.kill(pid, signal.SIGSTOP)  # connections stay open, nothing answers
        try:
            started = time.monotonic()
            a.send("room:hang", "chat", "anyone?", ref="c")
            reply = a.recv()
            waited = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        error = reply["payload"]["error"]
        assert error["code"] == "bus_unavailable" and "within 1.0 s (command_timeout)" in error["detail"]["error"]
        assert 0.9 <= waited < 3.0, waited  # the command_timeout, not forever
