"""The hub's wire protocol: envelopes, reply and error payloads, and the error codes a client can see.

Every frame either way is one JSON object, an *envelope*::

    {"topic": "room:lobby", "event": "chat", "payload": {...}, "ref": "7", "join_ref": "1",
     "event_id": null, "seq": 12}

A client sends ``topic`` and ``event`` (``payload``, ``ref`` and ``join_ref`` are optional); the server always sends
all seven keys in that order. ``ref`` ties a reply to its request, ``join_ref`` ties a frame to one join of a topic,
``seq`` counts the envelopes sent on one connection (1, 2, 3...), and ``event_id`` names an event a bus can replay.

A reply (``event: "reply"``) carries ``{"status": "ok", "response": ...}`` or
``{"status": "error", "error": {"code", "message", "detail"}}``.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class MessageEnvelope(msgspec.Struct, frozen=True):
    """One message on the wire or on a bus. Positional arguments work: ``MessageEnvelope("room:1", "chat", {...})``."""

    topic: str
    event: str
    payload: Any = None
    ref: str | None = None
    join_ref: str | None = None
    event_id: str | None = None
    seq: int | None = None


class SocketError(msgspec.Struct, frozen=True, kw_only=True):
    """What went wrong: a machine-readable ``code``, a human ``message`` and free-form ``detail``."""

    code: str
    message: str
    detail: Any = None


class ReplyPayload(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"] = "ok"
    response: Any = None


class ErrorPayload(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["error"] = "error"
    error: SocketError


ERROR_MESSAGES: dict[str, str] = {
    "topic_not_found": "topic not found",
    "event_not_found": "event not found",
    "join_rejected": "join rejected",
    "invalid_payload": "invalid payload",
    "internal_error": "internal error",
    "not_joined": "topic not joined",
    # Beyond lihil 0.2.41:
    "invalid_message": "invalid message",
    "bus_unavailable": "message bus unavailable",
    "replay_failed": "replay failed",
}
"""The message used for each error code when none is given (lower case, as every message here; the hub's own
replies name the topic or event, e.g. "event 'dance' not found on room:lobby (Room handles: chat)")."""


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


def reply_payload(response: Any = None) -> ReplyPayload:
    """An ok reply; ``None`` becomes ``{}`` so clients can always read ``response``."""
    return ReplyPayload(response={} if response is None else response)


def error_payload(code: str, message: str | None = None, detail: Any = _UNSET) -> ErrorPayload:
    """An error reply. ``detail`` defaults to ``{}``; an explicit ``None``, ``False`` or ``0`` is kept as given."""
    return ErrorPayload(
        error=SocketError(code=code, message=message or ERROR_MESSAGES.get(code, code),
                          detail={} if detail is _UNSET else detail)
    )


def is_reply_payload(value: Any) -> bool:
    """True for a value to send as a reply payload unchanged (not wrapped in ``reply_payload``)."""
    if isinstance(value, ReplyPayload | ErrorPayload):
        return True
    return isinstance(value, dict) and value.get("status") in ("ok", "error")


TOPIC_NOT_FOUND = error_payload("topic_not_found")
EVENT_NOT_FOUND = error_payload("event_not_found")
"""Return this from ``on_message`` to tell the client the event has no handler (compare with ``is``)."""


class InvalidMessage(Exception):
    """An inbound frame that is not an envelope; ``ref``/``topic`` are what could still be read from it."""

    def __init__(self, reason: str, *, ref: str | None = None, topic: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.ref, self.topic = reason, ref, topic


_decoder = msgspec.json.Decoder(MessageEnvelope)
_loose = msgspec.json.Decoder()
ENVELOPE_SHAPE = 'a JSON object {"topic": str, "event": str, "payload"?: any, "ref"?: str, "join_ref"?: str}'


def decode_envelope(data: bytes | str) -> MessageEnvelope:
    """Decode one inbound frame, or raise :class:`InvalidMessage` saying what was wrong and what was expected."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _explain(data, exc) from None


def _explain(data: bytes | str, exc: msgspec.DecodeError) -> InvalidMessage:
    try:
        loose = _loose.decode(data)
    except msgspec.DecodeError:
        return InvalidMessage(f"the frame is not valid JSON ({exc}); expected {ENVELOPE_SHAPE}")
    if not isinstance(loose, dict):
        return InvalidMessage(f"the frame is JSON {type(loose).__name__}, not an object; expected {ENVELOPE_SHAPE}")
    ref, topic = loose.get("ref"), loose.get("topic")
    return InvalidMessage(
        f"the envelope is invalid: {exc}; expected {ENVELOPE_SHAPE}",
        ref=ref if isinstance(ref, str) else None, topic=topic if isinstance(topic, str) else None,
    )
