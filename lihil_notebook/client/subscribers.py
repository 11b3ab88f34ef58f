"""``Subscribers``: who follows a session's log, and the one way entries reach them.

Entries are made on two threads — the server loop (what arrives, opens, closes) and a cell's thread (a frame it
writes directly) — but a subscriber is always called on the server loop thread, once per entry, in log order. An
entry made elsewhere waits in a queue until the loop runs it through; an entry made on the loop first lets the
queued ones through. A subscriber may name the kinds it wants: an entry nobody wants is not queued, and then a send
from a cell needs no wake-up of the loop at all.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Collection

from .log import Kind, LogEntry

Callback = Callable[[LogEntry], None]


class Subscribers:
    """The subscribers of one session. ``run_on_loop(fn)`` runs ``fn`` on the server loop thread (now if this is it)."""

    def __init__(self, run_on_loop: Callable[[Callable[[], None]], None]) -> None:
        self._run_on_loop = run_on_loop
        self._callbacks: list[tuple[Callback, frozenset[str] | None]] = []
        self._queued: deque[LogEntry] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._wanted: frozenset[str] | None = frozenset()  # the kinds anyone wants; None: every kind

    def add(self, callback: Callback, kinds: Collection[Kind] | None = None) -> Callable[[], None]:
        """Call ``callback(entry)`` for each new entry (of ``kinds``, if given); returns a function that stops it."""
        subscription = (callback, frozenset(kinds) if kinds is not None else None)
        self._callbacks.append(subscription)
        self._update_wanted()

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(subscription)
                self._update_wanted()

        return unsubscribe

    def _update_wanted(self) -> None:
        wanted: set[str] = set()
        for _, kinds in self._callbacks:
            if kinds is None:
                self._wanted = None
                return
            wanted |= kinds
        self._wanted = frozenset(wanted)

    def queue(self, entry: LogEntry) -> None:
        """Any thread: keep ``entry`` for the next :meth:`deliver` if anyone wants it (calls nobody)."""
        if self._wanted is None or entry.kind in self._wanted:
            with self._lock:
                self._queued.append(entry)

    def deliver_soon(self) -> None:
        """Any thread, outside any lock: have the loop deliver what is queued (now, if this is the loop's thread)."""
        with self._lock:
            if not self._queued or self._scheduled:
                return
            self._scheduled = True
        self._run_on_loop(self.deliver)

    def publish(self, entry: LogEntry) -> None:
        """On the loop: ``entry``, after whatever was queued before it."""
        self.queue(entry)
        self.deliver()

    def deliver(self) -> None:
        """On the loop: call the subscribers for each queued entry, oldest first."""
        if not self._queued and not self._scheduled:
            return
        with self._lock:
            self._scheduled = False
            if not self._queued:
                return
            entries = list(self._queued)
            self._queued.clear()
        for entry in entries:
            for callback, kinds in list(self._callbacks):
                if kinds is None or entry.kind in kinds:
                    with contextlib.suppress(Exception):  # a subscriber's bug must not break the connection
                        callback(entry)
