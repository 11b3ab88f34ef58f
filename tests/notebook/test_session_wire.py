"""A session's own wire path: messages handed over as they are parsed, frames written from the sender's thread.

Against real servers on 127.0.0.1: playground routes, and a plain ``websockets`` server for what a Starlette handler
cannot send (fragmented messages, text that is not UTF-8).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from websockets.asyncio.server import ServerConnection, serve

from lihil import WebSocket
from lihil_notebook import LogEntry, Playground
from tests.console.console_routes import frames
from tests.notebook.playground_support import WAIT, wait_for


@contextmanager
def plain_server(handler: Callable[[ServerConnection], Awaitable[None]]) -> Iterator[str]:
    """A ``websockets`` server on 127.0.0.1 in a thread of its own; yields its ws:// URL."""
    loop = asyncio.new_event_loop()
    started: list[str] = []
    stop = asyncio.Event()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            started.append(f"ws://127.0.0.1:{port}/")
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), name="plain-ws-server", daemon=True)
    thread.start()
    try:
        yield wait_for(lambda: started and started[0], "the plain server to listen")
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT)
        loop.close()


def test_a_fragmented_message_arrives_whole_and_in_order(pg: Playground) -> None:
    async def fragments(ws: ServerConnection) -> None:
        await ws.send("first")
        await ws.send(["frag", "men", "ted"])  # one text message in three frames
        await ws.send([b"\x00\x01", b"\x02"])  # one binary message in two
        await ws.send("last")
        await ws.wait_closed()

    with plain_server(fragments) as url:
        session = pg.connect(url)
        assert [session.receive() for _ in range(4)] == ["first", "fragmented", b"\x00\x01\x02", "last"]
        session.close()


def test_text_that_is_not_utf8_closes_with_1007_and_says_why(pg: Playground) -> None:
    async def bad_text(ws: ServerConnection) -> None:
        await ws.send("fine")
        await ws.send(b"\xff\xfe", text=True)  # a text frame whose bytes are not UTF-8
        await ws.wait_closed()

    with plain_server(bad_text) as url:
        session = pg.connect(url)
        assert session.receive() == "fine"
        wait_for(lambda: session.closed, "the session to close")
        assert session.close_code == 1007
        assert "invalid start byte" in session.close_reason
        assert [(e.direction, e.kind) for e in session.log][-2:] == [("received", "text"), ("sent", "close")]


def test_a_greeting_sent_with_the_handshake_is_received(pg: Playground) -> None:
    async def greet(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")  # often in the same TCP segment as the handshake's response
        await ws.send_text("again")
        await ws.receive()

    pg.mount_ws("/greet", greet)
    for _ in range(20):
        session = pg.connect("/greet")
        assert [session.receive(), session.receive()] == ["hello", "again"]
        session.close()


async def count_bytes(ws: WebSocket) -> None:
    """Answers each message with its type and length, so big frames need not travel back."""
    await ws.accept()
    async for data in frames(ws):
        await ws.send_text(f"{'text' if isinstance(data, str) else 'bytes'} {len(data)}")


def test_frames_bigger_than_the_socket_buffer_keep_their_order(pg: Playground) -> None:
    """A frame the socket cannot take at once is finished by the server loop, before anything sent after it."""
    pg.mount_ws("/count", count_bytes)
    session = pg.connect("/count")
    big = 3 * 1024 * 1024  # beyond a loopback socket's buffer; a round's frames still fit in the session's log
    for round_ in range(3):
        session.send(b"x" * big)
        session.send("small")
        session.send_nowait(b"y" * (big // 2))
        rtt = session.ping()
        assert rtt >= 0
        asyncio.run(session.asend("tail"))
        answers = [session.receive(timeout=WAIT) for _ in range(4)]
        assert answers == [f"bytes {big}", "text 5", f"bytes {big // 2}", "text 4"], f"round {round_}"
    sent = [(e.kind, e.size) for e in session.log if e.direction == "sent" and e.kind in ("text", "binary")]
    assert sent[-4:] == [("binary", big), ("text", 5), ("binary", big // 2), ("text", 4)]
    session.close()
    assert session.close_code == 1000


def test_subscribers_see_the_log_in_order_on_the_server_thread(pg: Playground) -> None:
    pg.mount_ws("/count", count_bytes)
    session = pg.connect("/count")
    seen: list[tuple[LogEntry, str]] = []
    session.subscribe(lambda entry: seen.append((entry, threading.current_thread().name)))
    states: list[str] = []
    session.subscribe(lambda entry: states.append(entry.kind), kinds=["close"])
    for number in range(200):
        session.send(str(number))
        session.receive()
    session.close()
    wait_for(lambda: seen and seen[-1][0].kind == "close", "the close entry to reach the subscriber")
    assert [entry for entry, _ in seen] == session.log[1:]  # everything after "open", in log order
    assert [e.direction for e, _ in seen[:4]] == ["sent", "received", "sent", "received"]
    assert {thread for _, thread in seen} == {"lihil-playground-server"}
    assert states == ["close"]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def descriptors_back_to(before: int) -> None:
    """Collect garbage, then wait until this process holds no more descriptors than ``before``."""
    gc.collect()
    wait_for(lambda: open_descriptors() <= before, f"descriptors back to {before} (now {open_descriptors()})")


def test_closed_sessions_and_finished_loops_leave_no_descriptors(pg: Playground) -> None:
    pg.mount_ws("/count", count_bytes)

    async def one_exchange() -> str:
        session = pg.connect_nowait("/count")
        async with asyncio.timeout(WAIT):
            while session.state == "connecting":
                await asyncio.sleep(0.001)
        await session.asend("hi")
        answer = await session.areceive()
        await session.aclose()
        return answer

    assert asyncio.run(one_exchange()) == "text 2"  # the first loop's wake-up sockets, and warm caches
    gc.collect()
    before = open_descriptors()
    for _ in range(30):  # a new event loop each time, as asyncio.run makes
        assert asyncio.run(one_exchange()) == "text 2"
    descriptors_back_to(before)
