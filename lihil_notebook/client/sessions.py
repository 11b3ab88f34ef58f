"""``SessionRegistry``: the notebook's client sessions — made with the playground's limits, found by id, pruned, and
kept inside one memory budget.

What it bounds (each a setting of the Playground, with its default): closed sessions kept (``max_sessions``), each
session's log (``session_log_limit`` entries, ``session_log_bytes``), all logs together (``total_log_bytes``: closed
sessions' logs are released first, oldest first, then the largest open ones are trimmed), and each session's unread
messages (``max_unread_bytes``). Whatever goes leaves an entry saying so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from .connection import Dialer
from .frames import MAX_UNREAD_BYTES
from .log import LOG_LIMIT, SESSION_LOG_BYTES, Kind, LogBudget, LogEntry
from .session import Session
from .websockets_connection import dial_websockets

STATE_KINDS: frozenset[Kind] = frozenset({"open", "close", "denied", "stale", "error"})
"""The log entries that change a session's state (what the registry's listeners hear about)."""
MAX_SESSIONS = 100
"""Closed sessions kept in ``pg.sessions`` (open ones are always kept)."""
TOTAL_LOG_BYTES = 64 * 1024 * 1024
"""Bytes of log all sessions together keep (closed sessions' logs are released first)."""


class SessionRegistry:
    """The sessions, oldest first. Thread-safe. ``on_change()`` is called when one opens, closes or is added."""

    def __init__(
        self,
        *,
        on_change: Callable[[], None],
        max_sessions: int = MAX_SESSIONS,
        log_limit: int = LOG_LIMIT,
        log_bytes: int = SESSION_LOG_BYTES,
        total_log_bytes: int = TOTAL_LOG_BYTES,
        max_unread_bytes: int = MAX_UNREAD_BYTES,
    ) -> None:
        self._on_change = on_change
        self._max_sessions, self._log_limit, self._log_bytes = max_sessions, log_limit, log_bytes
        self._max_unread_bytes = max_unread_bytes
        self.budget = LogBudget(total_log_bytes, self._reclaim)
        self._sessions: list[Session] = []
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._sessions)

    def find(self, session_id: str) -> Session | None:
        return self._by_id.get(session_id)

    def new(
        self, *, path: str, url: str, loop: asyncio.AbstractEventLoop, name: str | None,
        headers: Mapping[str, str] | None, subprotocols: Sequence[str] | None, token: str | None,
        dial: Dialer = dial_websockets, session_type: type[Session] = Session,
    ) -> Session:
        """A session (not yet connecting) with the registry's limits, registered. ``loop`` is its owner loop and
        ``dial`` its transport (see :mod:`.connection`); ``session_type`` how its blocking calls wait."""
        session = session_type(path=path, url=url, loop=loop, dial=dial, name=name, headers=headers,
                          subprotocols=subprotocols, log_limit=self._log_limit, log_bytes=self._log_bytes,
                          log_budget=self.budget, max_unread_bytes=self._max_unread_bytes, token=token)
        session.subscribe(self._on_entry, kinds=STATE_KINDS)  # not every message: those need no wake-up
        with self._lock:
            self._sessions.append(session)
            self._by_id[session.id] = session
            closed = [s for s in self._sessions if s.closed]
            pruned = closed[: max(0, len(closed) - self._max_sessions)]
            for old in pruned:
                self._sessions.remove(old)
                self._by_id.pop(old.id, None)
        for old in pruned:
            old.release()  # its log and unread messages leave the budget with it
        self._on_change()
        return session

    def close_all(
        self, submit: Callable[[Coroutine[Any, Any, Any]], concurrent.futures.Future[Any]], code: int, reason: str,
        timeout: float,
    ) -> None:
        """Close every open session with ``code``/``reason`` on the owner loop, waiting up to ``timeout``."""
        open_ones = [s for s in self.all() if not s.closed]
        if not open_ones:
            return

        async def close_each() -> None:
            await asyncio.gather(*(s.close_connection(code, reason) for s in open_ones), return_exceptions=True)

        with contextlib.suppress(Exception):
            submit(close_each()).result(timeout)

    def abandon_all(self) -> None:
        """The owner loop is gone: every session still open is closed now."""
        for session in self.all():
            session.abandon()

    def _on_entry(self, entry: LogEntry) -> None:
        if entry.kind != "error" or entry.direction == "event":
            self._on_change()

    def _reclaim(self, excess: int) -> None:
        """Over ``total_log_bytes``: release closed sessions' logs, oldest first, then trim the largest open ones."""
        sessions = self.all()
        for session in [s for s in sessions if s.closed]:
            if excess <= 0:
                return
            excess -= session.release()
        for session in sorted((s for s in sessions if not s.closed), key=lambda s: -s.log_bytes):
            if excess <= 0:
                return
            excess -= session.trim_log(max(0, session.log_bytes - excess))
