"""``TestClient``: Starlette's, and where there are no threads (a browser kernel: Pyodide in JupyterLite) the same
client on the loop this code runs on.

Starlette's ``TestClient`` runs the app in a thread of its own (an anyio blocking portal) and waits for it. A
browser's Python has one thread. There, our ``TestClient`` gets a :class:`LoopPortal` instead: the app runs as tasks
on the kernel's own event loop, and each blocking call suspends the cell with ``pyodide.ffi.run_sync`` (WebAssembly
JS Promise Integration) until its step is done. Everything else (requests, ``websocket_connect``, the denial
responses, re-raised server exceptions) is Starlette's own code, unchanged; it reaches the portal through the
client's public ``portal`` attribute.

On CPython nothing changes unless you ask: ``client.portal = LoopPortal(loop)`` runs the app on ``loop`` (one not
running; it is driven for each call) in the calling thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.testclient import TestClient as StarletteTestClient
from starlette.types import ASGIApp, Message

from .in_browser import IN_BROWSER, CannotWaitHere, wait_on

__all__ = ["LOOP_PORTAL_TIMEOUT", "LoopPortal", "TestClient"]

T = TypeVar("T")

LOOP_PORTAL_TIMEOUT = 30.0
"""Seconds one ``TestClient`` step may wait on the loop (a receive nobody answers, an app that never responds)
before it raises ``TimeoutError``: a cell that waits for ever would freeze a browser tab."""


class TaskFuture(concurrent.futures.Future[Any]):
    """The future of a task a :class:`LoopPortal` started: settled by the task itself, as it ends (so it is done the
    moment the app is), and ``result()`` waits for it through the portal instead of blocking the only thread."""

    def __init__(self, portal: LoopPortal) -> None:
        super().__init__()
        self._portal = portal
        self.task: asyncio.Task[Any] | None = None

    def result(self, timeout: float | None = None) -> Any:
        self._settle(timeout)
        return super().result(0)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._settle(timeout)
        return super().exception(0)

    def _settle(self, timeout: float | None) -> None:
        if not self.done() and self.task is not None:
            task = self.task
            self._portal.wait(asyncio.wait({task}), "the app's task", timeout)


class TaskStatus:
    """What ``start_task`` hands the task: ``started(value)`` gives ``value`` to the caller."""

    def __init__(self, started: asyncio.Future[Any]) -> None:
        self._started = started

    def started(self, value: Any = None) -> None:
        if not self._started.done():
            self._started.set_result(value)


class LoopPortal:
    """What Starlette's ``TestClient`` asks of an anyio ``BlockingPortal`` (``call``, ``start_task_soon``,
    ``start_task``), on ``loop`` and in the calling thread: tasks run on the loop; each call waits for its step with
    ``run_sync`` in a browser, or drives the loop when nothing else runs it.

    ``timeout`` (default :data:`LOOP_PORTAL_TIMEOUT`) bounds every wait.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, *, timeout: float = LOOP_PORTAL_TIMEOUT) -> None:
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"LoopPortal: timeout= expects seconds > 0, got {timeout!r}")
        self.loop = loop if loop is not None else asyncio.get_event_loop()
        self.timeout = float(timeout)

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` on the loop (awaited if it is a coroutine function); its result, or its exception."""

        async def step() -> Any:
            result = func(*args)
            return await result if inspect.isawaitable(result) else result

        return self.wait(step(), getattr(func, "__qualname__", repr(func)))

    def start_task_soon(self, func: Callable[..., Awaitable[Any]], *args: Any, name: object = None) -> TaskFuture:
        """Start ``func(*args)`` as a task on the loop; a future settled when it ends."""
        future = TaskFuture(self)

        async def run() -> None:
            try:
                value = await func(*args)
            except BaseException as exc:
                future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                future.set_result(value)

        future.task = self.loop.create_task(run(), name=None if name is None else str(name))
        return future

    def start_task(self, func: Callable[..., Awaitable[Any]], *args: Any, name: object = None) -> tuple[TaskFuture,
                                                                                                          Any]:
        """Start ``func(*args, task_status=...)`` and wait until it calls ``task_status.started(value)``; the task's
        future and ``value``."""
        started: asyncio.Future[Any] = self.loop.create_future()

        async def until_started() -> Any:
            result = await func(*args, task_status=TaskStatus(started))
            if not started.done():
                raise RuntimeError(f"{getattr(func, '__qualname__', func)!s} ended without calling "
                                   "task_status.started()")
            return result

        future = self.start_task_soon(until_started, name=name)

        async def wait_started() -> Any:
            assert future.task is not None
            await asyncio.wait({started, future.task}, return_when=asyncio.FIRST_COMPLETED)
            if started.done():
                return started.result()
            return future.task.result()  # it ended first: its exception

        return future, self.wait(wait_started(), getattr(func, "__qualname__", repr(func)))

    def wait(self, awaitable: Awaitable[T], what: str, timeout: float | None = None) -> T:
        """The outcome of ``awaitable`` on the loop, waited for here (at most ``timeout`` s, default the portal's)."""
        limit = self.timeout if timeout is None else timeout

        async def bounded() -> T:
            try:
                return await asyncio.wait_for(awaitable, limit)
            except TimeoutError:
                raise TimeoutError(f"TestClient: {what} did not finish within {limit:g} s (LoopPortal timeout=): "
                                   "the app never answered") from None

        try:
            return wait_on(self.loop, bounded())
        except CannotWaitHere:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeError("TestClient blocks, and this code runs on the loop the app would run on (in a browser "
                               "that cannot suspend a cell, or inside a coroutine): use `await` with lihil's "
                               "LocalClient for HTTP, or a playground Session's `await s.areceive()` for WebSockets"
                               ) from None


class TestClient(StarletteTestClient):
    """Starlette's ``TestClient`` (``from lihil.vendors import TestClient``); in a browser kernel, on the kernel's
    loop (see the module's text). ``with TestClient(app) as client:`` runs the app's lifespan in both."""

    __test__ = False

    def __init__(self, app: ASGIApp, *args: Any, **kwargs: Any) -> None:
        super().__init__(app, *args, **kwargs)
        self._lifespan: _Lifespan | None = None
        if IN_BROWSER:  # one thread: Starlette's portal thread cannot start
            self.portal = LoopPortal()  # type: ignore[assignment]

    def __enter__(self) -> TestClient:
        portal = self.portal
        if not isinstance(portal, LoopPortal):
            super().__enter__()
            return self
        lifespan = _Lifespan(self.app, self.app_state)
        portal.call(lifespan.start)
        self._lifespan = lifespan
        return self

    def __exit__(self, *args: Any) -> None:
        lifespan, self._lifespan = self._lifespan, None
        if lifespan is None:
            super().__exit__(*args)
            return
        assert isinstance(self.portal, LoopPortal)
        self.portal.call(lifespan.stop)


class _Lifespan:
    """An app's ASGI lifespan, run as a task on the portal's loop: started on entry, shut down on exit."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app, self.state = app, state
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self._run())
        await self.to_app.put({"type": "lifespan.startup"})
        await self._expect("startup")

    async def stop(self) -> None:
        await self.to_app.put({"type": "lifespan.shutdown"})
        await self._expect("shutdown")
        if self.task is not None:
            await self.task

    async def _run(self) -> None:
        scope = {"type": "lifespan", "state": self.state, "asgi": {"version": "3.0", "spec_version": "2.0"}}
        try:
            await self.app(scope, self.to_app.get, self.from_app.put)
        finally:
            await self.from_app.put(None)

    async def _expect(self, phase: str) -> None:
        message = await self.from_app.get()
        if message is None:  # the app returned or raised instead of answering
            assert self.task is not None
            await self.task
            raise RuntimeError(f"the app's lifespan ended before {phase} completed")
        if message["type"] == f"lifespan.{phase}.failed":
            raise RuntimeError(f"the app's lifespan {phase} failed: {message.get('message', '')}")
