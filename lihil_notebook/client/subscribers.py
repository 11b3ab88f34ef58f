"""``Subscribers``: who follows a session's log.

Every entry is made on the session's owner loop, and handed to the subscribers in the same step as it is appended
to the log (:meth:`Session._emit`): the log, the console and ``diagram()`` see one order, the order things happened
on the owner loop. A subscriber may name the kinds it wants.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection

from .log import Kind, LogEntry

Callback = Callable[[LogEntry], None]


class Subscribers:
    """The subscribers of one session; :meth:`publish` runs on the owner loop only."""

    def __init__(self) -> None:
        self._callbacks: list[tuple[Callback, frozenset[str] | None]] = []

    def add(self, callback: Callback, kinds: Collection[Kind] | None = None) -> Callable[[], None]:
        """Call ``callback(entry)`` for each new entry (of ``kinds``, if given); returns a function that stops it."""
        subscription = (callback, frozenset(kinds) if kinds is not None else None)
        self._callbacks = [*self._callbacks, subscription]  # a new list: publish() may be iterating the old one

        def unsubscribe() -> None:
            self._callbacks = [s for s in self._callbacks if s is not subscription]

        return unsubscribe

    def publish(self, entry: LogEntry) -> None:
        for callback, kinds in self._callbacks:
            if kinds is None or entry.kind in kinds:
                with contextlib.suppress(Exception):  # a subscriber's bug must not break the connection
                    callback(entry)
