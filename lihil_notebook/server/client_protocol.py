"""What a client does wrong at the WebSocket level is the client's business: one INFO line, not a server ERROR.

uvicorn's ``websockets-sansio`` logs a text frame of invalid UTF-8 at ERROR with a full traceback ("Invalid UTF-8
sequence received from client."), so any client can flood the server's log at will; a bad opcode, an oversize
message or a client that vanishes mid-frame are logged at DEBUG only, so nobody learns why the connection ended.
:class:`ServedWebSocketProtocol` logs each of them as **one line at INFO** on uvicorn's own logger, with the close
code, its meaning, the reason and the client's address::

    127.0.0.1:50412 - "WebSocket /echo" closed 1007 (invalid frame payload data): invalid UTF-8 in a text message
    127.0.0.1:50418 - "WebSocket /echo" closed 1002 (protocol error): invalid opcode: 3
    127.0.0.1:50420 - "WebSocket /echo" closed 1009 (message too big): frame with 2000 bytes exceeds limit of 1024 bytes
    127.0.0.1:50424 - "WebSocket /echo" closed 1006 (abnormal closure): the client went away without a close frame

It also keeps the reason of a refusal. An app that closes before accepting (``await ws.close(4403, "say who you
are")``, a hub's ``socket.allow_if(...)``) gets, per the ASGI spec, a plain HTTP 403: the client learns neither the
code nor the reason. Here the 403 carries them as problem JSON (``{"title": "Forbidden", "status": 403, "detail":
"say who you are", "close_code": 4403}``), so the console, websocat or curl can say why.
"""

from __future__ import annotations

import json
from typing import Any

from websockets.frames import CLOSE_CODE_EXPLANATIONS
from websockets.protocol import State

from .ws_protocol import AnsweringSansIOProtocol

FORBIDDEN = 403
ABNORMAL_CLOSURE = 1006
INVALID_PAYLOAD_DATA = 1007
_PROBLEM_JSON = b"application/problem+json"


class ServedWebSocketProtocol(AnsweringSansIOProtocol):
    """The playground's WebSocket implementation (uvicorn's ``ws=`` setting); see the module docstring."""

    # --- a client's protocol errors --------------------------------------------------------------------------------

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            try:
                b"".join(self.frames).decode()
            except UnicodeDecodeError:  # uvicorn would log it at ERROR with a traceback
                self.frames = []
                self.conn.send_close(INVALID_PAYLOAD_DATA, "invalid UTF-8 in a text message")
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()

    def handle_parser_exception(self) -> None:
        close = self.conn.close_sent
        if close is not None:
            self._log_client_close(close.code, close.reason)
        super().handle_parser_exception()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn.state is State.OPEN and not self.close_sent:  # no close frame either way: it just went away
            self._log_client_close(ABNORMAL_CLOSURE, "the client went away without a close frame")
        super().connection_lost(exc)

    def _log_client_close(self, code: int, reason: str) -> None:
        meaning = CLOSE_CODE_EXPLANATIONS.get(code, "unknown").removesuffix(" [internal]")
        self.logger.info('%s - "WebSocket %s" closed %d (%s)%s', _client(self.client), self._path(), code, meaning,
                         f": {reason}" if reason else "")

    def _path(self) -> str:
        scope = getattr(self, "scope", None)
        return str(scope["path"]) if scope else "?"

    # --- a refusal keeps its reason ------------------------------------------------------------------------------

    async def send(self, message: Any) -> None:
        if (message["type"] == "websocket.close" and not self.handshake_complete
                and self.initial_response is None and not self.disconnected):
            await self._refuse(message.get("code", 1000), message.get("reason") or "")
            return
        await super().send(message)

    async def _refuse(self, code: int, reason: str) -> None:
        problem = {"title": "Forbidden", "status": FORBIDDEN,
                   "detail": reason or f"the app closed the connection with code {code} before accepting it",
                   "close_code": code}
        body = json.dumps(problem, ensure_ascii=False).encode()
        await super().send({"type": "websocket.http.response.start", "status": FORBIDDEN,
                            "headers": [(b"content-type", _PROBLEM_JSON)]})
        await super().send({"type": "websocket.http.response.body", "body": body})


def _client(address: tuple[str, int] | None) -> str:
    return f"{address[0]}:{address[1]}" if address else "?"
