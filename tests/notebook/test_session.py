"""The Session API against real routes: frames, the log, timeouts, close codes, awaitable and non-blocking twins."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Annotated

import pytest

from lihil import Param, WebSocket
from lihil_notebook import LogEntry, Playground, Session, SessionClosedError
from lihil_notebook.client.frames import Outbox, OutboxFull
from tests.console.console_routes import frames, send_back
from tests.notebook.playground_support import WAIT, wait_for


async def mirror(ws: WebSocket) -> None:
    """Sends back what it gets, text as text and bytes as bytes; "bye" closes with 4000."""
    await ws.accept()
    async for data in frames(ws):
        if data == "bye":
            await ws.close(4000, "asked to leave")
            return
        await send_back(ws, data)


@pytest.fixture
def session(pg: Playground) -> Session:
    pg.mount_ws("/mirror", mirror)
    return pg.connect("/mirror", name="ann")


def test_frames_by_type_and_what_the_log_records(session: Session) -> None:
    assert (session.name, session.state, session.closed) == ("ann", "open", False)
    session.send("héllo")
    assert session.receive() == "héllo"
    session.send(b"\x00\xff")
    assert session.receive() == b"\x00\xff"
    session.send({"op": "join", "rooms": [1, 2]})
    assert session.receive_json() == {"op": "join", "rooms": [1, 2]}
    with pytest.raises(TypeError, match=r"Session.send\(data\): expected str .* got int"):
        session.send(42)  # type: ignore[arg-type]

    entries = session.log
    assert [(e.direction, e.kind) for e in entries] == [
        ("event", "open"), ("sent", "text"), ("received", "text"), ("sent", "binary"), ("received", "binary"),
        ("sent", "text"), ("received", "text"),
    ]
    assert entries[1].size == len("héllo".encode()) and entries[3].size == 2 and entries[0].size == 0
    assert entries[3].to_dict() == {"time": entries[3].time, "direction": "sent", "kind": "binary", "size": 2,
                                    "data": "00ff", "encoding": "hex"}
    assert json.loads(json.dumps(entries[1].to_dict()))["data"] == "héllo"
    with pytest.raises(AttributeError):
        entries[0].kind = "close"  # type: ignore[misc]  # frozen


def test_timeouts_and_closed_sessions_say_what_happened(session: Session) -> None:
    with pytest.raises(TimeoutError, match=r"session ann \(/mirror\): no message within 0.05 s"):
        session.receive(timeout=0.05)
    assert session.ping() >= 0
    assert [e.kind for e in session.log][-2:] == ["ping", "pong"]
    assert str(session.log[-1].data).endswith(" ms")

    session.send("bye")
    with pytest.raises(SessionClosedError, match=r"the server closed it with code 4000, reason 'asked to leave'"):
        session.receive()
    assert (session.state, session.close_code, session.close_reason) == ("closed", 4000, "asked to leave")
    assert session.log[-1].kind == "close" and session.log[-1].data == "4000 asked to leave"
    with pytest.raises(SessionClosedError, match="cannot send"):
        session.send("anyone?")
    session.close()  # idempotent on a closed session


def test_messages_received_before_a_close_are_still_delivered(pg: Playground) -> None:
    async def farewell(ws: WebSocket) -> None:
        await ws.accept()
        for word in ("one", "two"):
            await ws.send_text(word)
        await ws.close(1000, "done")

    pg.mount_ws("/farewell", farewell)
    session = pg.connect("/farewell")
    assert [session.receive(), session.receive()] == ["one", "two"]
    with pytest.raises(SessionClosedError, match="code 1000"):
        session.receive()


def test_closing_with_a_code_and_reason(session: Session) -> None:
    session.close(4001, "done testing")
    assert (session.state, session.close_code) == ("closed", 4001)
    closes = [e for e in session.log if e.kind == "close"]
    assert len(closes) == 1 and closes[0].direction == "sent" and closes[0].data == "4001 done testing"


def test_awaitable_twins_work_from_another_event_loop(session: Session) -> None:
    async def conversation() -> tuple[str | bytes, object, float]:
        # asyncio.run gives this thread its own loop, as a notebook cell's top-level await runs on the kernel's
        await session.asend("a")
        first = await session.areceive()
        await session.asend([1, 2])
        second = await session.areceive_json()
        rtt = await session.aping()
        await session.aclose(1000, "bye bye")
        return first, second, rtt

    first, second, rtt = asyncio.run(conversation())
    assert (first, second) == ("a", [1, 2]) and rtt >= 0
    assert session.close_code == 1000


def test_nowait_variants_report_through_the_log_and_subscribers_run_on_the_server_thread(session: Session) -> None:
    seen: list[tuple[LogEntry, str]] = []
    unsubscribe = session.subscribe(lambda entry: seen.append((entry, threading.current_thread().name)))
    session.send_nowait("quick")
    session.ping_nowait()
    wait_for(lambda: {"text", "pong"} <= {e.kind for e, _ in seen if e.direction == "received"},
             "the echo and the pong")
    session.send_nowait(object())  # type: ignore[arg-type]  # a bad payload: an error entry, not an exception
    wait_for(lambda: any(e.kind == "error" for e, _ in seen), "the error entry")
    assert "expected str" in str(next(e.data for e, _ in seen if e.kind == "error"))
    assert {thread for _, thread in seen} == {"lihil-playground-server"}

    session.close_nowait(4002, "later")
    wait_for(lambda: session.closed, "the session to close")
    assert session.close_code == 4002
    session.send_nowait("too late")
    wait_for(lambda: "cannot send" in str(session.log[-1].data), "the failed send to be logged")
    count = len(seen)
    unsubscribe()
    session.send_nowait("after unsubscribe")
    wait_for(lambda: len(session.log) > count + 1, "one more log entry")
    assert len(seen) == count


def test_headers_and_subprotocols_reach_the_handler(pg: Playground) -> None:
    async def whoami(ws: WebSocket, token: Annotated[str, Param("header", alias="x-token")]) -> None:
        await ws.accept(subprotocol="chat.v1")
        await ws.send_text(token)

    pg.mount_ws("/whoami", whoami)
    session = pg.connect("/whoami", headers={"x-token": "s3cret"}, subprotocols=["chat.v1", "chat.v0"])
    assert session.receive() == "s3cret"
    assert session.accepted_subprotocol == "chat.v1"
    assert "subprotocol chat.v1" in str(session.log[0].data)


def test_sessions_are_listed_and_closed_when_the_server_stops(pg: Playground) -> None:
    pg.mount_ws("/mirror", mirror)
    first, second = pg.connect("/mirror"), pg.connect("/mirror", name="bob")
    assert pg.sessions[-2:] == [first, second] and second.name == "bob"
    assert first.id != second.id
    pg.stop()
    for session in (first, second):
        assert session.closed and session.close_code == 1001
    with pytest.raises(SessionClosedError):
        first.send("anyone?")


def test_close_stays_idempotent_after_the_server_restarts(pg: Playground) -> None:
    pg.mount_ws("/mirror", mirror)
    session = pg.connect("/mirror")
    pg.stop()
    pg.start()  # the session's old loop is gone; closing it again must still be a quiet no-op
    session.close()
    asyncio.run(session.aclose())
    assert session.close_code == 1001


def test_queued_sends_go_out_in_call_order(session: Session) -> None:
    for number in range(300):
        if number % 2:
            session.send(str(number))
        else:
            session.send_nowait(str(number))
    assert [session.receive() for _ in range(300)] == [str(n) for n in range(300)]
    sent = [e.data for e in session.log if e.kind == "text" and e.direction == "sent"]
    assert sent == [str(n) for n in range(300)]


def test_a_send_that_cannot_be_written_is_logged_and_the_next_receive_says_why(pg: Playground) -> None:
    async def hang_up(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close(4003, "go away")

    pg.mount_ws("/hang-up", hang_up)
    session = pg.connect("/hang-up")
    wait_for(lambda: session.closed, "the server's close to arrive")
    with pytest.raises(SessionClosedError, match="code 4003"):
        session.send("too late")  # known to be closed: refused at once
    with pytest.raises(SessionClosedError, match=r"the server closed it with code 4003, reason 'go away'"):
        session.receive()


def test_the_outbox_applies_back_pressure_and_keeps_order() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="outbox-test-loop", daemon=True)
    thread.start()
    written: list[int] = []
    gate = asyncio.Event()

    async def write(item: int) -> None:
        await gate.wait()
        written.append(item)

    outbox: Outbox[int] = Outbox(loop, write, lambda exc, unsent: None, limit=2)
    try:
        outbox.put(1, timeout=1)
        outbox.put(2, timeout=1)
        with pytest.raises(OutboxFull):
            outbox.put(3, timeout=0.05)  # two frames unwritten: the third waits, then gives up
        with pytest.raises(OutboxFull):
            outbox.put_nowait(3)
        loop.call_soon_threadsafe(gate.set)
        outbox.put(3, timeout=1)  # a slot frees up once the writer runs
        wait_for(lambda: written == [1, 2, 3], "the writer to drain the outbox in order")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


def test_frames_queued_before_close_reach_the_server_first(pg: Playground) -> None:
    heard: list[str] = []

    async def listener(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            heard.append(text)
        heard.append("<closed>")

    pg.mount_ws("/listener", listener)
    session = pg.connect("/listener")
    session.send("a")
    session.send_nowait("b")
    session.close()
    wait_for(lambda: heard[-1:] == ["<closed>"], "the handler to see the close")
    assert heard == ["a", "b", "<closed>"]

    async def relay(ws: WebSocket) -> None:  # the awaitable API from a handler, on the server loop itself
        await ws.accept()
        inner = pg.connect_nowait("/listener")
        async with asyncio.timeout(WAIT):  # a wait on a condition, bounded
            while inner.state == "connecting":
                await asyncio.sleep(0.001)
        await inner.asend("c")
        await inner.asend("d")
        await inner.aclose()
        await ws.send_text("relayed")

    heard.clear()
    pg.mount_ws("/relay", relay)
    assert pg.connect("/relay").receive() == "relayed"
    wait_for(lambda: heard[-1:] == ["<closed>"], "the inner session's close")
    assert heard == ["c", "d", "<closed>"]
