"""The WebSocket implementation the playground serves with: uvicorn's ``websockets-sansio``, answering bad handshakes.

Why this one: of uvicorn's three WebSocket implementations, ``websockets-sansio`` is the fastest (see
``benchmarks/ws_echo.py``) and the legacy ``websockets`` one is deprecated. But for a handshake whose request line
is over 8 KiB, or whose headers are too many or too long, the ``websockets`` parser prepares a 414 / 431 response
and uvicorn (0.54) never writes it: the client waits forever. :class:`AnsweringSansIOProtocol` writes that response
and closes the connection, so every over-long handshake gets a prompt 4xx. (``wsproto`` answers at once too, but it
accepts any length and is slower.) The limits are the ``websockets`` parser's: 8 KiB per line, 128 headers.

It also stops uvicorn logging "ASGI callable returned without completing handshake." at ERROR after every denial
response (a refused parameter, a 403 from the edge): a client could fill the log with those at will
(uvicorn PR #3138).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class AnsweringSansIOProtocol(WebSocketsSansIOProtocol):
    """``websockets-sansio`` that sends the parser's own error response for a malformed handshake."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.handshake_complete or self.conn.handshake_exc is None or self.transport.is_closing():
            return
        output = self.conn.data_to_send()  # the 414/431 response (empty for an unparseable request)
        if not any(output):
            output = [b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"]
        self.transport.write(b"".join(output))
        self.handshake_complete = True  # nothing more to send: shutdown() must not add a 500
        self.close_sent = True
        self.transport.close()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            self.handshake_complete = True  # answered with an HTTP response: the handshake is over, not failed
