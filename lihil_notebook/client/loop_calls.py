"""``LoopCaller``: calling into a session's owner loop from a cell — blocking, awaited, or fire-and-forget.

The owner loop is whatever loop the playground serves on: the server thread's, or (in-process) the kernel's own.
No nest_asyncio: nothing here ever re-enters a running loop. A blocking call hands a coroutine to the owner loop and
waits for it on a ``threading.Event``; an awaited call wraps that in the caller's own loop, or just awaits when the
caller already is on the owner loop. A blocking call made *on* the owner loop (a handler, a callback, or any cell
when the playground runs in-process) would wait for itself forever, so it raises, naming the ``await`` twin.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopClosed(RuntimeError):
    """The server loop is gone (the server stopped)."""


class LoopCaller:
    """Runs work on ``loop`` for callers anywhere else; ``what`` names the caller in errors."""

    def __init__(self, loop: asyncio.AbstractEventLoop, what: str,
                 gone: Callable[[str], Exception] | None = None) -> None:
        """``gone(action)``, if given, is the exception :meth:`block` and :meth:`await_` raise when the loop is
        gone (else :class:`LoopClosed`)."""
        self.loop, self.what = loop, what
        self._gone = gone

    def _loop_closed(self, action: str) -> Exception:
        return self._gone(action) if self._gone is not None else LoopClosed()

    def on_loop(self) -> bool:
        """Whether this code runs on the owner loop."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def refuse_here(self, action: str) -> None:
        """Raise if called on the owner loop, where blocking for ``action`` would wait for itself."""
        if self.on_loop():
            raise RuntimeError(
                f"{self.what}.{action}() blocks, and it was called on the playground's server thread (a handler or a "
                f"callback; in-process: the kernel's loop the playground serves on), where it would wait for itself; "
                f"use `await {self.what.lower()}.a{action}(...)` there"
            )

    def run_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the owner loop (now, if this is it; now anyway if the loop is gone)."""
        if self.on_loop():
            fn()
            return
        try:
            self.loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop is closed
            fn()

    def block(self, coro: Coroutine[Any, Any, T], timeout: float, action: str) -> T:
        """Run ``coro`` on the loop and wait here for its result, at most ``timeout`` + 1 s (the coroutine's own
        timeout should fire first). When the loop is gone, raises what ``gone`` says."""
        try:
            self.refuse_here(action)
        except RuntimeError:
            coro.close()
            raise
        finished = threading.Event()
        started: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self.loop.create_task(coro)
            task.add_done_callback(lambda _: finished.set())
            started.append(task)

        def cancel() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: so is the task
                self.loop.call_soon_threadsafe(lambda: [t.cancel() for t in started])

        try:
            self.loop.call_soon_threadsafe(start)
        except RuntimeError:
            coro.close()
            raise self._loop_closed(action) from None
        try:
            done = finished.wait(timeout + 1.0)
        except KeyboardInterrupt:  # Interrupt kernel: stop the work, then let the interrupt through
            cancel()
            raise
        if not done:
            cancel()
            raise TimeoutError(f"{self.what}: {action} did not finish in {timeout} s")
        return started[0].result()

    async def await_(self, coro: Coroutine[Any, Any, T], action: str) -> T:
        """Await ``coro`` on the owner loop from whichever loop is running here."""
        if asyncio.get_running_loop() is self.loop:
            return await coro
        try:
            future = self.submit(coro)
        except LoopClosed:
            raise self._loop_closed(action) from None
        return await asyncio.wrap_future(future)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.loop)
        except RuntimeError:
            coro.close()
            raise LoopClosed from None

    def fire(self, coro: Coroutine[Any, Any, Any], on_error: Callable[[Exception], None]) -> None:
        """Start ``coro`` on the loop and return; its exception, if any, goes to ``on_error`` (on the loop)."""

        async def reported() -> None:
            try:
                await coro
            except Exception as exc:
                on_error(exc)

        try:
            asyncio.run_coroutine_threadsafe(reported(), self.loop)
        except RuntimeError:
            coro.close()
            raise LoopClosed from None
