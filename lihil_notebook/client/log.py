"""What a session records: :class:`LogEntry`, and how payloads, close codes and refused handshakes read in it."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from websockets.exceptions import InvalidStatus

Direction = Literal["sent", "received", "event"]
Kind = Literal["text", "binary", "open", "close", "error", "ping", "pong", "stale", "denied", "server-error",
               "server-print", "separator"]
"""What a log entry is. "separator" is the console's own row between the connections of one panel."""
Message = str | bytes

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


def describe_message(message: Message) -> tuple[Kind, Message, int]:
    if isinstance(message, str):
        return "text", message, len(message.encode())
    return "binary", message, len(message)


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
