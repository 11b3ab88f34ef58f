"""A session under stress while cells await on loops of their own: pings, fragments and big frames arrive whole and
in order; a loop that ends, stops or loses its connection mid-wait takes nothing with it.

Real servers on 127.0.0.1: a plain ``websockets`` server for what a Starlette handler cannot send (pings, fragmented
messages), and playground routes.
"""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest
from websockets.asyncio.server import ServerConnection

from lihil import WebSocket
from lihil_notebook import LogEntry, Playground, SessionClosedError
from tests.notebook.playground_support import WAIT, cancel_and_close, wait_for
from tests.notebook.test_session_wire import descriptors_back_to, open_descriptors, plain_server

BIG = 300 * 1024  # more than one read of the socket takes
FAKE_FRAME = b"\x81\x04evil"  # a binary message's bytes that would read as a text frame if parsed out of place


def group(step: int) -> list[str | bytes | list[str]]:
    """What the server sends at ``step``: a text, and now and then a fragmented or a big message around it."""
    items: list[str | bytes | list[str]] = [f"text {step}"]
    if step % 3 == 0:
        items.append(["frag", f"ment {step}"])
    if step % 5 == 0:
        items.append(bytes([step % 256]) + FAKE_FRAME * (BIG // len(FAKE_FRAME)))
    if step % 2 == 0:
        items.append(bytes([1, 2, step % 256]))
    return items


def expected(step: int) -> list[str | bytes]:
    return ["".join(item) if isinstance(item, list) else item for item in group(step)]


STEPS = 120


async def paced(ws: ServerConnection) -> None:
    """After "start": sends a group, with a ping in the middle every fourth step, then waits for "next"; closes
    with 4000."""
    assert await ws.recv() == "start"
    for step in range(STEPS):
        for index, item in enumerate(group(step)):
            if index == 1 and step % 4 == 0:
                await ws.ping()  # the session answers it (a pong): websockets' own business
            await ws.send(item)
        assert await ws.recv() == "next"
    await ws.close(4000, "that was all")


def test_messages_an_awaiting_loop_reads_arrive_whole_in_order_among_pings_and_fragments(pg: Playground) -> None:
    with plain_server(paced) as url:
        session = pg.connect(url)
        seen: list[tuple[LogEntry, str]] = []
        session.subscribe(lambda entry: seen.append((entry, threading.current_thread().name)))

        async def read_all() -> list[list[str | bytes]]:
            await session.asend("start")
            steps = []
            for step in range(STEPS):
                steps.append([await session.areceive(timeout=WAIT) for _ in expected(step)])
                await session.asend("next")
            with pytest.raises(SessionClosedError):
                await session.areceive(timeout=WAIT)
            return steps

        got = asyncio.run(read_all())
        for step in range(STEPS):
            assert got[step] == expected(step), f"step {step}"
        assert (session.close_code, session.close_reason) == (4000, "that was all")
        wait_for(lambda: seen and seen[-1][0].kind == "close", "the close entry to reach the subscriber")
        assert [entry for entry, _ in seen] == session.log[1:]  # in log order, on the server thread only
        assert {thread for _, thread in seen} == {"lihil-playground-server"}
        received = [e.data for e in session.log if e.direction == "received" and e.kind in ("text", "binary")]
        assert received == [message for step in range(STEPS) for message in expected(step)]


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


@pytest.mark.parametrize("ending", ["answered", "timed out"])
def test_once_an_await_ends_the_server_loop_reads_again(pg: Playground, ending: str) -> None:
    """While the loop that awaited is busy (a cell computing), what arrives is still logged, live (the owner loop
    reads, whatever the cells' loops do)."""
    pg.mount_ws("/echo", echo)
    session = pg.connect("/echo")
    go_on, blocked = threading.Event(), threading.Event()

    async def await_then_block() -> None:
        for number in range(20):
            await session.asend(str(number))
            assert await session.areceive(timeout=WAIT) == str(number)
        if ending == "timed out":
            with pytest.raises(TimeoutError):
                await session.areceive(timeout=0.05)
        else:
            await session.asend("last")
            assert await session.areceive(timeout=WAIT) == "last"
        blocked.set()
        go_on.wait(WAIT)  # this loop is blocked, not awaiting

    loop_thread = threading.Thread(target=asyncio.run, args=(await_then_block(),), name="cell-loop")
    loop_thread.start()
    try:
        wait_for(blocked.is_set, "the awaits to end")
        session.send("while the cell computes")
        wait_for(lambda: session.log[-1].data == "while the cell computes" and session.log[-1].direction ==
                 "received", "the server loop to log the reply while the awaiting loop is blocked")
    finally:
        go_on.set()
        loop_thread.join(WAIT)
    assert session.receive() == "while the cell computes"  # and a blocking receive() has it
    session.close()
    assert session.close_code == 1000


def test_a_connection_dropped_while_a_loop_awaits_ends_the_wait_and_frees_the_socket(pg: Playground) -> None:
    dropped = threading.Event()

    async def drop(ws: ServerConnection) -> None:
        async for message in ws:
            if message == "drop":
                ws.transport.abort()  # no close frame: the connection is simply gone
                dropped.set()
                return
            await ws.send(message)

    with plain_server(drop) as url:
        gc.collect()
        before = open_descriptors()
        session = pg.connect(url)

        async def exchange_then_wait() -> None:
            for number in range(10):
                await session.asend(str(number))
                assert await session.areceive(timeout=WAIT) == str(number)
            await session.asend("drop")
            with pytest.raises(SessionClosedError, match="1006"):
                await session.areceive(timeout=WAIT)

        asyncio.run(exchange_then_wait())
        assert dropped.is_set() and session.closed and session.close_code == 1006
        descriptors_back_to(before)


def test_a_loop_stopped_in_the_middle_of_a_wait_does_not_keep_the_reading(pg: Playground) -> None:
    pg.mount_ws("/echo", echo)
    session = pg.connect("/echo")
    loop = asyncio.new_event_loop()

    async def warm_then_wait() -> None:
        for number in range(5):
            await session.asend(str(number))
            assert await session.areceive(timeout=WAIT) == str(number)
        loop.call_soon(loop.stop)
        await session.areceive(timeout=WAIT)  # the loop stops under this wait

    task = loop.create_task(warm_then_wait())
    loop.run_forever()  # returns once stopped, the task still waiting
    try:
        session.send("after")
        assert session.receive(timeout=WAIT) == "after"  # read by the server loop, not the stopped one
    finally:
        cancel_and_close(loop, task)
    session.close()
    assert session.close_code == 1000


def test_loops_that_read_for_a_session_and_finish_leave_no_descriptors(pg: Playground) -> None:
    pg.mount_ws("/echo", echo)

    async def exchanges() -> None:
        session = await pg.aconnect("/echo")
        for number in range(5):
            await session.asend(str(number))
            assert await session.areceive(timeout=WAIT) == str(number)
        await session.aclose()

    asyncio.run(exchanges())
    gc.collect()
    before = open_descriptors()
    for _ in range(30):  # a new event loop each time, as asyncio.run makes
        asyncio.run(exchanges())
    descriptors_back_to(before)


MiB = 1024 * 1024


def cut_short_group(step: int) -> list[str | bytes | list[str]]:
    items: list[str | bytes | list[str]] = [f"text {step}"]
    if step % 5 == 0:
        items.append(["frag", f"ment {step}"])
    if step % 10 == 0:
        items.append(bytes([step]) * MiB)
    return items


def test_a_connection_aborted_in_the_middle_of_a_frame_keeps_what_came_and_frees_the_socket(pg: Playground) -> None:
    """Pings, fragments and 1 MiB frames, then half of a 1 MiB frame and the connection is gone: every whole message
    arrives in order, the wait ends with 1006, and the socket is freed."""
    steps = 40

    async def cut_short(ws: ServerConnection) -> None:
        assert await ws.recv() == "start"
        for step in range(steps):
            if step % 7 == 0:
                await ws.ping()
            for item in cut_short_group(step):
                await ws.send(item)
        assert await ws.recv() == "all here"  # before the abort: an abort drops what the transport still holds
        ws.transport.write(b"\x82\x7f" + MiB.to_bytes(8, "big") + b"x" * 1000)  # a binary frame's head, and a bit
        ws.transport.abort()

    with plain_server(cut_short) as url:
        gc.collect()
        before = open_descriptors()
        session = pg.connect(url)

        expected_messages = ["".join(i) if isinstance(i, list) else i for s in range(steps) for i in cut_short_group(s)]

        async def read_all() -> list[str | bytes]:
            await session.asend("start")
            got = [await session.areceive(timeout=WAIT) for _ in expected_messages]
            await session.asend("all here")
            with pytest.raises(SessionClosedError, match="1006"):
                await session.areceive(timeout=WAIT)
            return got

        assert asyncio.run(read_all()) == expected_messages
        assert (session.closed, session.close_code) == (True, 1006)
        received = [e.data for e in session.log if e.direction == "received" and e.kind in ("text", "binary")]
        assert received == expected_messages
        descriptors_back_to(before)
