"""One owner per session (issue 19): whatever a cell's loop does — interrupted, kept, closed, or racing a sending
thread — the session stays live, frees every descriptor, and every view sees the log in one order."""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
import threading

import pytest

from lihil import WebSocket
from lihil_notebook import LogEntry, Playground, Session
from tests.notebook.playground_support import WAIT, cancel_and_close, wait_for
from tests.notebook.test_session_wire import descriptors_back_to, open_descriptors

SESSIONS = 100


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


@pytest.fixture
def echo_pg(pg: Playground) -> Playground:
    pg.mount_ws("/echo", echo)
    return pg


async def talk(session: Session, rounds: int = 3) -> None:
    for number in range(rounds):
        await session.asend(str(number))
        assert await session.areceive(timeout=WAIT) == str(number)


def test_ctrl_c_during_an_awaited_receive_leaves_the_session_live(echo_pg: Playground) -> None:
    """Bug 2: KeyboardInterrupt (Interrupt kernel) inside ``run_until_complete`` while a wait is pending; afterwards
    the log is live and ``areceive()`` on another loop gets the reply."""
    session = echo_pg.connect("/echo")
    loop = asyncio.new_event_loop()

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def warm_then_wait() -> None:
        await talk(session, 5)
        with pytest.raises(TimeoutError):
            await session.areceive(timeout=0.05)  # nothing more comes: the user's next wait starts on a quiet line
        loop.call_soon(interrupt)  # Ctrl-C arrives while the next wait is pending
        await session.areceive(timeout=WAIT)

    task = loop.create_task(warm_then_wait())
    with pytest.raises(KeyboardInterrupt):
        loop.run_until_complete(task)
    try:
        session.send("after")
        wait_for(lambda: session.log[-1].direction == "received" and session.log[-1].data == "after",
                 "the reply to be logged while the interrupted loop stands still", timeout=2)
        assert asyncio.run(session.areceive(timeout=2)) == "after"
        asyncio.run(talk(session))
    finally:
        cancel_and_close(loop, task)
    session.close()
    assert session.close_code == 1000


def test_sessions_on_kept_loops_leave_no_descriptor(echo_pg: Playground) -> None:
    """Bug 3: ``loop.run_until_complete(talk(s)); s.close(); loop.close()``, a hundred times: exactly as many
    descriptors as before."""

    def one() -> None:
        session = echo_pg.connect("/echo")
        loop = asyncio.new_event_loop()
        loop.run_until_complete(talk(session))
        session.close()
        loop.close()

    one()  # warm caches
    gc.collect()
    before = open_descriptors()
    for _ in range(SESSIONS):
        one()
    descriptors_back_to(before)


def test_sessions_on_asyncio_run_leave_no_descriptor(echo_pg: Playground) -> None:
    """Bug 3: ``asyncio.run(talk(s)); s.close()``, a hundred times."""

    def one() -> None:
        session = echo_pg.connect("/echo")
        asyncio.run(talk(session))
        session.close()

    one()
    gc.collect()
    before = open_descriptors()
    for _ in range(SESSIONS):
        one()
    descriptors_back_to(before)


def test_stopping_the_playground_frees_every_session_descriptor() -> None:
    """Bug 3: a hundred sessions left open, each having talked on a loop of its own (kept and closed, or
    ``asyncio.run``); ``pg.stop()`` frees them all (and the server's own): back to what the process held before the
    playground started."""
    warm = Playground()
    warm.mount_ws("/echo", echo)
    asyncio.run(talk(warm.connect("/echo")))
    warm.stop()
    gc.collect()
    before = open_descriptors()

    pg = Playground()
    pg.mount_ws("/echo", echo)
    try:
        sessions = [pg.connect("/echo") for _ in range(SESSIONS)]
        for number, session in enumerate(sessions):
            if number % 2:
                asyncio.run(talk(session))
            else:
                loop = asyncio.new_event_loop()
                loop.run_until_complete(talk(session))
                loop.close()
        assert open_descriptors() >= before + SESSIONS  # each session holds its socket while open
    finally:
        pg.stop()
    assert all(s.closed for s in sessions)
    descriptors_back_to(before)


def test_subscribers_see_the_log_order_while_a_thread_sends_and_a_loop_awaits(echo_pg: Playground) -> None:
    """Bug 4: thousands of messages sent from a thread while another loop awaits the echoes, with the interpreter
    switching threads as often as it can: subscribers get exactly the log, entry for entry, timestamps in order."""
    count = 4000
    session = echo_pg.connect("/echo")
    seen: list[LogEntry] = []
    session.subscribe(seen.append)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)
    try:
        def send_all() -> None:
            for number in range(count):
                session.send(str(number), timeout=WAIT)

        async def receive_all() -> list[str | bytes]:
            return [await session.areceive(timeout=WAIT) for _ in range(count)]

        sender = threading.Thread(target=send_all, name="sender")
        sender.start()
        received = asyncio.run(receive_all())
        sender.join(WAIT)
    finally:
        sys.setswitchinterval(interval)
    assert received == [str(n) for n in range(count)]
    session.close()
    wait_for(lambda: seen and seen[-1].kind == "close", "the close entry to reach the subscriber")
    log = session.log
    assert seen == log[1:]  # everything after "open", in log order
    assert all(a.time <= b.time for a, b in itertools.pairwise(log)), "timestamps out of log order"
