"""``ServingLoop``: how code on other threads or loops reaches the loop a transport serves on.

Both transports (``thread.ServerThread`` over TCP, ``inprocess.InProcessServer`` on the kernel's own loop) have one
loop that owns the app's connections; this is the one way in, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import ServerNotRunningError

T = TypeVar("T")


class ServingLoop:
    """Mixin: ``submit`` and ``call_soon`` onto ``self.loop``, which raises ServerNotRunningError while stopped."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        raise NotImplementedError

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the serving loop; the returned future completes with its result (the coroutine is closed,
        never left un-awaited, when the loop is gone)."""
        try:
            loop = self.loop
        except ServerNotRunningError:
            coro.close()
            raise
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run the plain function ``fn(*args)`` on the serving loop, soon."""
        self.loop.call_soon_threadsafe(fn, *args)
