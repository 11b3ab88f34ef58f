"""Helpers for the playground tests: condition waits, server threads and free ports."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from lihil_notebook.server.thread import THREAD_NAME

#: Seconds any wait in these tests gives its condition.
WAIT = 5.0


#: Called between two polls of :func:`wait_for`: an in-process playground's loop runs only when driven
#: (``pg.run_pending``), so the fixtures that make one register it here for the test's duration.
PAUSES: list[Callable[[float], None]] = []


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        (PAUSES[-1] if PAUSES else time.sleep)(0.005)


def cancel_and_close(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` (left waiting on ``loop``), let it finish on ``loop``, then close ``loop``."""
    task.cancel()
    loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    loop.close()


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


def port_is_free(port: int) -> bool:
    """True when a fresh socket can listen on 127.0.0.1:port (nothing else listens there)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


