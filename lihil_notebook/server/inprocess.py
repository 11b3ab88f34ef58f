"""``InProcessServer``: the app served on the kernel's own event loop — no port, no thread, no watchdog.

The other transport of the seam (the first is :class:`~.thread.ServerThread`, uvicorn over TCP on its own thread).
Where a kernel has neither listening sockets nor threads (JupyterLite's Pyodide kernel, ``sys.platform ==
"emscripten"``) this is the only way to serve; anywhere else it can be forced (``Playground(transport=
"in-process")``), which is how the mode is tested on CPython. Requests reach the app as ASGI calls made in this
process: the notebook's sessions through an in-memory connection (:mod:`lihil_notebook.client.asgi_connection`),
``pg.show``'s tunnel the same way, ``LocalClient``/``TestClient`` as they always do.

The loop: the one running when the server starts (a kernel cell's), else — in a plain script or a test, where no
loop runs — a loop of its own that blocking calls drive while they wait
(:func:`lihil_notebook.client.in_process_session.run_until`).
Nothing runs between cells on a loop nobody drives: that is the price of having no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.types import ASGIApp

from ..errors import ServerNotRunningError
from .serving_loop import ServingLoop

NO_NETWORK = "in this kernel (no network)"
"""What stands where a URL would: an in-process playground has no address anyone can dial."""


def in_process_by_default() -> bool:
    """True where the platform has no sockets or threads to serve with (Pyodide: ``sys.platform == "emscripten"``)."""
    return sys.platform == "emscripten"


class InProcessServer(ServingLoop):
    """Serves ``app`` in this process on an event loop (see the module's docstring). Same surface as
    :class:`~.thread.ServerThread` where the playground needs it: ``loop``, ``submit``, ``call_soon``, ``stop``."""

    host = "in-process"
    port: int | None = None
    thread = None

    def __init__(self, app: ASGIApp, *, on_log: Callable[[str], None] | None = None) -> None:
        self.app = app
        self._on_log = on_log or (lambda text: None)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_loop = False

    def __repr__(self) -> str:
        return f"<InProcessServer {'running' if self.is_running else 'stopped'}>"

    def start(self) -> None:
        try:
            self._loop, self._own_loop = asyncio.get_running_loop(), False
        except RuntimeError:
            if in_process_by_default():  # Pyodide's loop runs whenever the page does, cell or not
                self._loop, self._own_loop = asyncio.get_event_loop(), False
            else:
                self._loop, self._own_loop = asyncio.new_event_loop(), True
        if self._own_loop:
            self._loop.set_exception_handler(self._on_loop_exception)

    def stop(self) -> bool:
        loop, self._loop = self._loop, None
        if loop is not None and self._own_loop and not loop.is_closed() and not loop.is_running():
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        return True

    @property
    def is_running(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            raise ServerNotRunningError("the playground is stopped; start it with `%lihil start` or `pg.start()`")
        return self._loop

    def settle(self, coro: Coroutine[Any, Any, Any], timeout: float) -> None:
        """Run ``coro`` to its end if the loop can be driven here, else let it run after this cell (no waiting)."""
        loop = self.loop
        if not loop.is_running():
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(coro, timeout))
            return
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: never "never retrieved"

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self._on_log(f"{context.get('message', 'unhandled exception in the loop')}" + (f": {exc!r}" if exc else ""))
