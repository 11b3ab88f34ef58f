"""Reading the hub protocol's envelopes (lihil's join/exit/reply protocol) for the console's log and the diagram.

A client sends ``{"topic", "event", "payload", "ref", "join_ref"}``; the hub answers a request with
``{"topic", "event": "reply", "payload": {"status": "ok", "response": …}, "ref", …}`` or
``{"status": "error", "error": {"code", "message", "detail"}}``, and delivers broadcasts under the publish event's
name. Here a frame becomes one line a person reads: ``room:lobby · chat · {"said":"hi"}`` for a broadcast,
``room:lobby · reply to chat #3: ok · {}`` for a reply (matched to its request by ``ref``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..client.log import LogEntry

PAYLOAD_CHARS = 400
"""Default number of characters of an envelope's payload shown in a log row (the log keeps the whole frame)."""


@dataclass(frozen=True)
class Envelope:
    """The fields of one hub envelope that the console shows."""

    topic: str
    event: str
    payload: Any
    ref: str | None
    join_ref: str | None

    @property
    def is_reply(self) -> bool:
        return self.event == "reply" and isinstance(self.payload, dict) and "status" in self.payload

    @property
    def is_error(self) -> bool:
        """An error reply, or the hub's "error" event (a background task of the channel failed)."""
        return isinstance(self.payload, dict) and self.payload.get("status") == "error"


def parse_envelope(data: str | bytes | None) -> Envelope | None:
    """The envelope in a frame, or None when the frame is not a JSON object with a topic and an event."""
    if data is None:
        return None
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("topic"), str) or not isinstance(
            value.get("event"), str):
        return None
    ref, join_ref = value.get("ref"), value.get("join_ref")
    return Envelope(value["topic"], value["event"], value.get("payload"),
                    None if ref is None else str(ref), None if join_ref is None else str(join_ref))


def compact(value: Any, limit: int = PAYLOAD_CHARS) -> str:
    """``value`` as compact JSON, cut at ``limit`` characters with "…"."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def describe(envelope: Envelope, requests: Mapping[str, str], *, payload_chars: int = PAYLOAD_CHARS,
             sent: bool = False) -> str:
    """One line for ``envelope``. ``requests`` maps the refs this client sent to their event names, so a reply
    says what it answers: ``room:lobby · reply to chat #3: error invalid_payload — Invalid payload``."""
    if envelope.is_reply:
        return f"{envelope.topic} · {reply_summary(envelope, requests, payload_chars=payload_chars)}"
    text = f"{envelope.topic} · {envelope.event}"
    if envelope.payload is not None:
        text += f" · {compact(envelope.payload, payload_chars)}"
    if sent and envelope.ref is not None:
        text += f" · ref #{envelope.ref}"
    return text


def reply_summary(envelope: Envelope, requests: Mapping[str, str], *, payload_chars: int = PAYLOAD_CHARS) -> str:
    """``reply to chat #3: ok · {"said":"hi"}`` or ``reply to join #1: error not_joined — Topic not joined``."""
    ref = envelope.ref
    asked = requests.get(ref) if ref is not None else None
    target = f"{asked} #{ref}" if asked else f"#{ref}" if ref is not None else "(no ref)"
    payload = envelope.payload if isinstance(envelope.payload, dict) else {}
    if envelope.is_error:
        found = payload.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code, message, detail = error.get("code", "?"), error.get("message", ""), error.get("detail")
        text = f"reply to {target}: error {code}" + (f" — {message}" if message else "")
        return text + (f" · {compact(detail, payload_chars)}" if detail else "")
    return f"reply to {target}: ok · {compact(payload.get('response'), payload_chars)}"


def sent_requests(entries: Iterable[LogEntry]) -> dict[str, str]:
    """ref -> event of the envelopes among ``entries`` (log entries) that were sent."""
    found: dict[str, str] = {}
    for entry in entries:
        if entry.direction == "sent" and entry.kind in ("text", "binary"):
            envelope = parse_envelope(entry.data)
            if envelope is not None and envelope.ref is not None:
                found[envelope.ref] = envelope.event
    return found
