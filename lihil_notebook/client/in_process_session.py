"""``InProcessSession``: a :class:`~.session.Session` whose owner loop is the one cells run on (in-process mode).

Over TCP a blocking call waits on a thread for the server thread's loop. In-process there is one loop, and a
blocking call made from a cell either drives it (no loop runs: a script, a test), suspends the cell with Pyodide's
``run_sync`` (a browser with JS Promise Integration), or raises, naming the ``await`` twin. ``send`` never waits: the
frame is queued and goes out as soon as the loop runs.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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
    """Wait here for ``awaitable`` (at most ``timeout`` s) on ``loop``: drive it when nobody runs it, use Pyodide's
    ``run_sync`` where the browser can suspend a cell, else raise naming ``twin`` — a cell running on the loop
    cannot wait for that loop."""

    async def bounded() -> T:
        return await asyncio.wait_for(awaitable, timeout)

    if loop.is_closed():
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError(f"{what}: the playground is stopped")
    if not loop.is_running() and sys.platform != "emscripten":  # Pyodide's loop is never ours to drive
        return loop.run_until_complete(bounded())
    sync = pyodide_run_sync()
    if sync is not None:
        # The outcome, not the exception, crosses run_sync: a failed task there is also reported as "never
        # retrieved" into the cell's output, after the cell has already caught the error.
        async def outcome() -> tuple[bool, Any]:
            try:
                return True, await bounded()
            except BaseException as exc:
                return False, exc

        ok, value = sync(outcome())
        if not ok:
            raise value
        return value
    if asyncio.iscoroutine(awaitable):
        awaitable.close()
    raise RuntimeError(f"{what} blocks, and the playground runs in-process, on the loop this cell runs on, so the "
                       f"cell cannot wait for it (in a browser: this one cannot suspend a cell); use `{twin}` instead")


def pyodide_run_sync() -> Callable[[Awaitable[Any]], Any] | None:
    """``pyodide.ffi.run_sync`` when this browser and this call stack can suspend (JSPI), else None."""
    try:
        from pyodide.ffi import can_run_sync, run_sync
    except ImportError:
        return None
    return run_sync if can_run_sync() else None
