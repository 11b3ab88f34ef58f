"""What differs in a browser's Python (Pyodide, e.g. a JupyterLite kernel): one thread, and a cell can wait for the
loop only by suspending through ``pyodide.ffi.run_sync`` (WebAssembly JS Promise Integration).

:func:`wait_on` is the one way synchronous code here waits for a loop: lihil's ``TestClient`` and the playground's
in-process ``Session`` both use it.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

IN_BROWSER = sys.platform == "emscripten"
"""True in Pyodide: no threads, no listening sockets."""


class CannotWaitHere(RuntimeError):
    """Synchronous code cannot wait for the loop: it runs on that loop, and cannot suspend (no browser that can)."""


def browser_run_sync() -> Callable[[Awaitable[Any]], Any] | None:
    """``pyodide.ffi.run_sync`` where this browser and this call stack can suspend (JSPI), else None."""
    try:
        from pyodide.ffi import can_run_sync, run_sync
    except ImportError:
        return None
    return run_sync if can_run_sync() else None


def wait_on(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T]) -> T:
    """``awaitable``'s result (or exception), waited for by synchronous code: it drives ``loop`` when nothing runs
    it (CPython: a script, a test), or suspends through ``run_sync`` in a browser that can. Elsewhere (code running
    on the loop itself) it closes ``awaitable`` and raises :class:`CannotWaitHere`."""
    if not loop.is_running() and not IN_BROWSER:  # Pyodide's loop is never ours to drive
        return loop.run_until_complete(awaitable)
    sync = browser_run_sync()
    if sync is None:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise CannotWaitHere("cannot wait for the loop this code runs on")

    # The outcome, not the exception, crosses run_sync: Pyodide would also report a failed task as "never
    # retrieved" in the cell's output, after the cell has already caught the error.
    async def outcome() -> tuple[bool, Any]:
        try:
            return True, await awaitable
        except BaseException as exc:
            return False, exc

    ok, value = sync(outcome())
    if not ok:
        raise value
    return value
