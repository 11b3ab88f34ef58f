"""``InProcessSession``: a :class:`~.session.Session` whose owner loop is the one cells run on (in-process mode).

Over TCP a blocking call waits on a thread for the server thread's loop. In-process there is one loop, and a
blocking call made from a cell either drives it (no loop runs: a script, a test), suspends the cell with Pyodide's
``run_sync`` (a browser with JS Promise Integration), or raises, naming the ``await`` twin. ``send`` never waits: the
frame is queued and goes out as soon as the loop runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from lihil.in_browser import CannotWaitHere, wait_on

from .frames import OutboxFull
from .log import Message, as_frame, backed_up_error, decode_json
from .session import Session

T = TypeVar("T")


class InProcessSession(Session):
    """Same API and log as :class:`~.session.Session`; only how a blocking call waits differs."""

    def send(self, data: str | bytes | dict[str, Any] | list[Any], *, timeout: float = 5.0) -> None:
        frame = as_frame(data)
        self._require_open("send")
        try:
            self._outbox.put_nowait(frame)
        except OutboxFull:
            raise backed_up_error(self._who, self._outbox.limit, timeout) from None
        except RuntimeError:
            raise self._gone("send") from None

    def receive(self, timeout: float = 5.0) -> Message:
        return run_until(self._loop, self.areceive(timeout), timeout + 1.0, f"{self.name}.receive()",
                         "await s.areceive()")

    def receive_json(self, timeout: float = 5.0) -> Any:
        return decode_json(self.receive(timeout), self._who)

    def ping(self, timeout: float = 5.0) -> float:
        return run_until(self._loop, self.aping(timeout), timeout + 1.0, f"{self.name}.ping()", "await s.aping()")

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed or self._cancel_connecting():
            return
        run_until(self._loop, self.aclose(code, reason), self._close_timeout + 1.0, f"{self.name}.close()",
                  "await s.aclose()")


def run_until(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T], timeout: float, what: str, twin: str) -> T:
    """Wait here for ``awaitable`` (at most ``timeout`` s) on ``loop`` (lihil's :func:`~lihil.in_browser.wait_on`),
    or raise naming ``twin`` — a cell running on the loop cannot wait for that loop."""

    async def bounded() -> T:
        return await asyncio.wait_for(awaitable, timeout)

    if loop.is_closed():
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError(f"{what}: the playground is stopped")
    try:
        return wait_on(loop, bounded())
    except CannotWaitHere:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError(f"{what} blocks, and the playground runs in-process, on the loop this cell runs on, so "
                           "the cell cannot wait for it (in a browser: this one cannot suspend a cell); use "
                           f"`{twin}` instead") from None
