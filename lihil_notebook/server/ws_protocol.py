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

And it bounds what a client that does not read can make the server buffer: every ping is answered with a pong
that uvicorn writes straight to the transport, so pings sent without reading the answers grew the server's memory
without limit. :func:`bounded_ws_protocol` sets the transport's high-water mark to ``ws_write_buffer_limit`` and
stops reading from the connection while its unsent writes are over it (no new pings are read, so no new pongs are
made); reading resumes once they drain. The handler's own sends already wait for the buffer to drain (uvicorn).
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


def bounded_ws_protocol(write_buffer_limit: int,
                        base: type[AnsweringSansIOProtocol] = AnsweringSansIOProtocol) -> type[AnsweringSansIOProtocol]:
    """``base`` that stops reading while more than ``write_buffer_limit`` bytes wait to be sent (see the module
    docstring)."""

    class BoundedSansIOProtocol(base):  # type: ignore[valid-type,misc]
        _backed_up = False

        def connection_made(self, transport: Any) -> None:
            transport.set_write_buffer_limits(high=write_buffer_limit)
            super().connection_made(transport)

        def pause_writing(self) -> None:
            super().pause_writing()
            self._backed_up = True
            if not self.transport.is_closing():
                self.transport.pause_reading()

        def resume_writing(self) -> None:
            super().resume_writing()
            self._backed_up = False
            if not self.read_paused and not self.transport.is_closing():
                self.transport.resume_reading()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._backed_up and not self.transport.is_closing():
                self.transport.pause_reading()  # uvicorn resumed reading for the handler: not while backed up

    return BoundedSansIOProtocol
