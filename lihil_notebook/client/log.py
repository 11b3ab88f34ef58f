"""What a session records: :class:`LogEntry`, its bounded :class:`SessionLog`, the :class:`LogBudget` all
sessions share, and how payloads, close codes and refused handshakes read in the log."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from websockets.exceptions import InvalidStatus

from ..errors import SessionClosedError

Direction = Literal["sent", "received", "event"]
Kind = Literal["text", "binary", "open", "close", "error", "ping", "pong", "stale", "denied", "server-error",
               "server-print", "server-warning", "dropped", "separator"]
"""What a log entry is. "separator" is the console's own row between the connections of one panel."""
Message = str | bytes

LOG_LIMIT = 100_000
"""Default number of log entries a session keeps (the oldest go first)."""
SESSION_LOG_BYTES = 8 * 1024 * 1024
"""Default bytes of log a session keeps; past it the oldest entries go, and one entry says how many."""

CLOSE_CODE_NAMES = {
    1000: "normal closure", 1001: "going away", 1002: "protocol error", 1003: "unsupported data",
    1006: "abnormal closure, no close frame", 1007: "invalid payload", 1008: "policy violation",
    1009: "message too big", 1011: "internal error", 1012: "service restart", 1013: "try again later",
}


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One thing that happened on a session.

    ``data`` is the payload for messages (``kind`` "text"/"binary") and a human-readable text for events
    (close "1000 bye", pong "0.4 ms", a server traceback, a printed line); ``size`` is the payload's byte size for
    messages and 0 for events.
    """

    time: float
    direction: Literal["sent", "received", "event"]
    kind: Kind
    data: str | bytes | None
    size: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (binary data as hex, with ``"encoding": "hex"``), e.g. for a JSON-lines export."""
        out: dict[str, Any] = {"time": self.time, "direction": self.direction, "kind": self.kind, "size": self.size}
        if isinstance(self.data, bytes):
            out["data"], out["encoding"] = self.data.hex(), "hex"
        else:
            out["data"] = self.data
        return out


def describe_close(code: int | None, reason: str, *, by_us: bool) -> str:
    """``"the server closed it with code 1011 (internal error), reason 'boom'"``."""
    meaning = CLOSE_CODE_NAMES.get(code or 0, "")
    said = f"code {code}" + (f" ({meaning})" if meaning else "") + (f", reason {reason!r}" if reason else "")
    return f"{'you' if by_us else 'the server'} closed it with {said}"


def closed_error(who: str, action: str, refusal: str | None, code: int | None, reason: str,
                 by_us: bool, handler_error: tuple[BaseException, str] | None = None) -> SessionClosedError:
    """What a session says when ``action`` finds it closed (or refused): ``"session s1 (/echo) cannot send: ..."``;
    ``handler_error``: what the server's handler raised, and where, named after the close."""
    if refusal is not None:
        return SessionClosedError(f"{who} cannot {action}: the server refused the handshake: {refusal}",
                                  code=None, reason=refusal)
    said = f"{who} cannot {action}: {describe_close(code, reason, by_us=by_us)}"
    if handler_error is None:
        return SessionClosedError(said, code=code, reason=reason)
    exc, where = handler_error
    return SessionClosedError(f"{said}, because the handler raised {type(exc).__name__}: {exc} ({where})",
                              code=code, reason=reason, handler_error=exc)


def backed_up_error(who: str, limit: int, timeout: float) -> TimeoutError:
    return TimeoutError(f"{who}: {limit} frames were still waiting to be written after {timeout} s (is the "
                        "connection stalled?)")


def kind_of(message: Message) -> Kind:
    return "text" if isinstance(message, str) else "binary"


def describe_message(message: Message) -> tuple[Kind, Message, int]:
    return kind_of(message), message, len(message.encode() if isinstance(message, str) else message)


def as_frame(data: Any) -> Message:
    if isinstance(data, str):
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, dict | list):
        return json.dumps(data)
    raise TypeError(f"Session.send(data): expected str (a text frame), bytes (a binary frame) or a dict/list "
                    f"(sent as JSON text), got {type(data).__name__}")


def decode_json(message: Message, who: str) -> Any:
    try:
        return json.loads(message)
    except ValueError as exc:
        shown = message[:80] if isinstance(message, str) else message[:80].hex()
        raise ValueError(f"{who} received a message that is not JSON "
                         f"({exc}): {shown!r}") from None


def denial_log_text(exc: InvalidStatus, problem: Any) -> str:
    """What a refused handshake's log entry holds: the status line, then the problem JSON pretty-printed (or
    the start of the body when it is not JSON)."""
    response = exc.response
    head = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    if problem is not None:
        return head + "\n" + json.dumps(problem, indent=2, ensure_ascii=False)
    body = bytes(response.body or b"")
    return head + ("\n" + body[:2000].decode(errors="replace") if body else "")


def describe_denial(exc: InvalidStatus) -> tuple[int, Any, str]:
    """(status, problem JSON or None, a one-line text) for a refused handshake."""
    response = exc.response
    status = response.status_code
    body = bytes(response.body or b"")
    problem: Any = None
    with contextlib.suppress(ValueError):
        problem = json.loads(body) if body else None
    text = f"HTTP {status} {response.reason_phrase}".rstrip()
    if isinstance(problem, dict):
        details = problem.get("detail")
        if isinstance(details, list):
            lines = [f"{d.get('location')} {d.get('param')!r}: {d.get('message')}" for d in details
                     if isinstance(d, dict)]
            text += " — " + "; ".join(lines)
        elif details:
            text += f" — {details}"
    elif body:
        text += " — " + body[:300].decode(errors="replace")
    return status, problem, text


ENTRY_OVERHEAD = 120
"""Bytes an entry costs beyond its payload (the object, its fields, the deque slot): what the byte caps count."""


def entry_bytes(entry: LogEntry) -> int:
    data = entry.data
    return ENTRY_OVERHEAD + (len(data) if data is not None else 0)


class LogBudget:
    """The byte budget all sessions' logs share (``total_log_bytes``). Thread-safe.

    Each :class:`SessionLog` reports what it adds and frees; when the total passes ``limit``, ``reclaim(excess)``
    is called (outside the lock, never re-entered) to free that much — the Playground releases closed sessions'
    logs first, oldest first, then trims the largest open ones.
    """

    def __init__(self, limit: int, reclaim: Callable[[int], None] = lambda excess: None) -> None:
        if limit <= 0:
            raise ValueError(f"total_log_bytes: expected a positive number of bytes, got {limit}")
        self.limit, self._reclaim = limit, reclaim
        self.total = 0
        self._lock = threading.Lock()
        self._reclaiming = False

    def charge(self, delta: int) -> None:
        with self._lock:
            self.total += delta
            excess = self.total - self.limit
            if excess <= 0 or self._reclaiming:
                return
            self._reclaiming = True
        try:
            self._reclaim(excess)
        finally:
            with self._lock:
                self._reclaiming = False


class SessionLog:
    """A session's entries, oldest first, capped at ``max_bytes`` (and ``max_entries``).

    Past the cap the oldest entries go, and one entry at the front says how many ("N earlier entries dropped"):
    nothing disappears without a trace. :meth:`release` frees the whole log the same way.
    """

    def __init__(self, max_bytes: int, max_entries: int, budget: LogBudget | None = None) -> None:
        if max_bytes <= 0:
            raise ValueError(f"session_log_bytes: expected a positive number of bytes, got {max_bytes}")
        self.max_bytes, self.max_entries, self._budget = max_bytes, max_entries, budget
        self._entries: deque[LogEntry] = deque()
        self._lock = threading.Lock()
        self.nbytes = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def add(self, entry: LogEntry) -> LogEntry:
        """Append ``entry``, and return it."""
        self.append(entry)
        return entry

    def append(self, entry: LogEntry) -> None:
        cost = entry_bytes(entry)
        with self._lock:
            self._entries.append(entry)
            self.nbytes += cost
            freed = self._shrink_to(self.max_bytes, self.max_entries) if (
                self.nbytes > self.max_bytes or len(self._entries) > self.max_entries) else 0
        if self._budget is not None:
            self._budget.charge(cost - freed)

    def trim(self, target_bytes: int) -> int:
        """Drop the oldest entries until at most ``target_bytes`` are held; the bytes freed."""
        with self._lock:
            freed = self._shrink_to(target_bytes, self.max_entries)
        if self._budget is not None and freed:
            self._budget.charge(-freed)
        return freed

    def release(self) -> int:
        """Drop every entry (one "N earlier entries dropped" stays); the bytes freed."""
        return self.trim(0)

    def _shrink_to(self, max_bytes: int, max_entries: int) -> int:
        freed = 0
        if self._entries and self._entries[0].kind == "dropped":
            head = self._entries.popleft()
            self.nbytes -= entry_bytes(head)
            freed += entry_bytes(head)
        while self._entries and (self.nbytes > max_bytes or len(self._entries) >= max_entries):
            old = self._entries.popleft()
            cost = entry_bytes(old)
            self.nbytes -= cost
            freed += cost
            self.dropped += 1
        if self.dropped:
            note = LogEntry(self._entries[0].time if self._entries else time.time(), "event", "dropped",
                            f"{self.dropped} earlier entries dropped (session_log_bytes / total_log_bytes)", 0)
            self._entries.appendleft(note)
            self.nbytes += entry_bytes(note)
            freed -= entry_bytes(note)
        return freed
