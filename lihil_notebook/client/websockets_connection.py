"""The TCP transport of a session: a :class:`~.connection.Connection` made of ``websockets``' asyncio client.

Only its public API: ``websockets.asyncio.client.connect`` dials; one task on the owner loop reads with ``recv()``
and hands each message to the session; ``send()``, ``ping()`` and ``close()`` write. Pings, pongs, the closing
handshake, fragments, UTF-8 (1007) and size (1009) checks and flow control are websockets' own.

A subclass through ``connect``'s ``create_connection`` hook could hand messages over from the parser and write
without a task, saving two turns of the owner loop per round trip; it needs websockets' undocumented methods
(``process_event``, ``send_data``), so it is not done: measured, the difference was within the noise of this
2-core machine (README, "Notebook latency").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode
from websockets.typing import Subprotocol

from .connection import ConnectionLost, DialFailed, Message, OnClosed, OnMessage, place_token
from .log import denial_log_text, describe_denial
from .tunnel import redacting_logger


async def dial_websockets(
    url: str, *, headers: Mapping[str, str], subprotocols: Sequence[str], token: str | None, timeout: float,
    max_size: int, close_timeout: float,
) -> WebsocketsConnection:
    """Open a connection to ``url`` (a :class:`~.connection.Dialer`). Raises :class:`~.connection.DialFailed`."""
    dialled, headers = place_token(url, headers, token)
    try:
        ws = await connect(
            dialled, additional_headers=headers, subprotocols=[Subprotocol(p) for p in subprotocols] or None,
            open_timeout=timeout,
            proxy=None,  # 127.0.0.1 must never go through an HTTP(S)_PROXY from the environment
            logger=redacting_logger(),  # DEBUG logs the handshake's headers: never the token
            ping_interval=None, max_size=max_size, close_timeout=close_timeout, compression=None,
                    )
    except InvalidStatus as exc:
        status, problem, text = describe_denial(exc)
        raise DialFailed(f"{url}: the server refused the handshake: {text}", kind="denied", text=text, url=url,
                         status=status, problem=problem, log_text=denial_log_text(exc, problem)) from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        what = "timed out" if isinstance(exc, TimeoutError) else f"failed: {exc}"
        text = f"connecting to {url} {what}"  # the URL shown never carries the token
        raise DialFailed(text, kind="error", text=text, url=url) from None
    return WebsocketsConnection(ws)


class WebsocketsConnection:
    """A session's :class:`~.connection.Connection` over ``websockets`` (see the module's docstring)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self._closing = False  # close() was called: a missing close frame is then no failure of ours
        self._reader: asyncio.Task[None] | None = None

    def start(self, on_message: OnMessage, on_closed: OnClosed) -> None:
        self._reader = asyncio.ensure_future(self._read(on_message, on_closed))

    async def _read(self, on_message: OnMessage, on_closed: OnClosed) -> None:
        ws = self._ws
        try:
            while True:
                message = await ws.recv()
                on_message(message, len(message) if isinstance(message, bytes) else len(message.encode()))
        except ConnectionClosed as closed:
            await ws.wait_closed()
            on_closed(*self._ending(closed))

    async def send(self, message: Message) -> None:
        try:
            await self._ws.send(message)
        except ConnectionClosed:
            raise ConnectionLost from None

    async def ping(self) -> float:
        try:
            pong = await self._ws.ping()
        except ConnectionClosed:
            raise ConnectionLost from None
        return await pong  # websockets resolves it with the latency

    async def close(self, code: int, reason: str) -> None:
        self._closing = True
        await self._ws.close(code, reason)
        await self._ws.wait_closed()
        if self._reader is not None:
            await asyncio.shield(self._reader)

    def _ending(self, closed: ConnectionClosed) -> tuple[int, str, bool]:
        """The close code and reason to show, and whether this side started the closing."""
        rcvd, sent = closed.rcvd, closed.sent
        if rcvd is not None:
            return rcvd.code, rcvd.reason, sent is not None and not closed.rcvd_then_sent
        if sent is not None and not self._closing:  # this side failed it (1007, 1009): no close frame came back
            return sent.code, sent.reason, True
        return CloseCode.ABNORMAL_CLOSURE, "", self._closing
