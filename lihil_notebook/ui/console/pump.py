"""``UiPump``: "something changed" from any thread becomes at most ``rate`` flushes a second of a console."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Callable

from ...playground import Playground


class UiPump:
    """Turns "something changed" signals from any thread into flushes on the server loop, at most ``rate`` per
    second. ``flush`` always runs under one lock, so widget state has a single writer at a time.

    If the server loop is not running, the flush runs in the calling thread instead (nothing else writes then).
    ``stall_timeout`` re-arms a flush that was scheduled on a loop that stopped before running it.
    """

    def __init__(
        self, pg: Playground, flush: Callable[[], None], *, rate: float = 15.0, stall_timeout: float = 2.0
    ) -> None:
        if rate <= 0:
            raise ValueError(f"refresh_rate: expected a positive number of flushes per second, got {rate}")
        self.interval = 1.0 / rate
        self.stall_timeout = stall_timeout
        self.flushes = 0
        self.errors: list[str] = []
        self._pg = pg
        self._flush = flush
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._scheduled_at: float | None = None
        self._last = 0.0

    def request(self) -> None:
        """Ask for a flush soon. Cheap and thread-safe; many requests before the flush make one flush."""
        now = time.monotonic()
        with self._lock:
            if self._scheduled_at is not None and now - self._scheduled_at < self.stall_timeout:
                return
            self._scheduled_at = now
        try:
            self._pg.call_soon(self._arm)
        except Exception:  # no server loop to run on: flush here, nobody else is writing
            self._run()

    def _arm(self) -> None:
        delay = self._last + self.interval - time.monotonic()
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._run)
        else:
            self._run()

    def _run(self) -> None:
        with self._lock:
            self._scheduled_at = None
        with self._flush_lock:
            self._last = time.monotonic()
            self.flushes += 1
            try:
                self._flush()
            except Exception:  # keep pumping; the console shows what went wrong
                self.errors = [*self.errors[-4:], traceback.format_exc()]
