"""The hub's public names, where lihil 0.2.41 has them, and the protocol helpers' exact values."""

import re

import msgspec
import pytest

import lihil
import lihil.socket
from lihil.websocket import WebSocketRoute

NAMES = ("SocketHub", "ChannelBase", "Topic", "ISocket", "SocketBus", "InMemorySocketBus", "MessageEnvelope",
         "ReplyPayload", "ErrorPayload", "SocketError", "reply_payload", "error_payload", "EVENT_NOT_FOUND",
         "TOPIC_NOT_FOUND")


@pytest.mark.parametrize("name", NAMES)
def test_importable_from_lihil_and_lihil_socket(name: str) -> None:
    assert getattr(lihil, name) is getattr(lihil.socket, name)


def test_lihil_socket_also_has_websocket_route_and_redis_bus() -> None:
    from lihil.socket import RedisSocketBus
    from lihil.socket import WebSocketRoute as SocketWebSocketRoute

    assert SocketWebSocketRoute is WebSocketRoute
    assert issubclass(RedisSocketBus, lihil.SocketBus)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        lihil.socket.Nope  # noqa: B018


def test_topic_is_an_anchored_pattern() -> None:
    pattern = lihil.Topic("room:{room_id}")
    assert isinstance(pattern, re.Pattern)
    assert pattern.match("room:lobby").groupdict() == {"room_id": "lobby"}  # type: ignore[union-attr]
    assert pattern.match("room:a/b") is None and pattern.match("xroom:1") is None
    assert lihil.Topic("a.b").match("aXb") is None  # everything but {name} matches itself
    with pytest.raises(ValueError, match=r"Invalid topic pattern: room:\{oops"):
        lihil.Topic("room:{oops")


def test_reply_and_error_payloads() -> None:
    assert msgspec.to_builtins(lihil.reply_payload()) == {"status": "ok", "response": {}}
    assert msgspec.to_builtins(lihil.reply_payload(0)) == {"status": "ok", "response": 0}
    assert msgspec.to_builtins(lihil.error_payload("internal_error")) == {
        "status": "error", "error": {"code": "internal_error", "message": "internal error", "detail": {}}}
    assert lihil.error_payload("internal_error", detail=None).error.detail is None
    assert lihil.error_payload("internal_error", detail=False).error.detail is False
    assert lihil.error_payload("custom").error.message == "custom"
    assert lihil.TOPIC_NOT_FOUND.error.code == "topic_not_found"
    assert lihil.EVENT_NOT_FOUND.error.message == "event not found"  # lower case, as every message
    env = lihil.MessageEnvelope("room:1", "chat", {"t": 1})
    assert (env.ref, env.join_ref, env.event_id, env.seq) == (None, None, None, None)
