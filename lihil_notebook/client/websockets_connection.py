"""The TCP transport of a session: a :class:`~.connection.Connection` made of ``websockets``' asyncio client.

Only its public API: ``websockets.asyncio.client.connect`` dials, one task per connection awaits ``recv()`` and
hands each message on, ``send``/``ping``/``close`` are websockets' own. Pings from the server, fragmented messages,
UTF-8 checks and flow control stay websockets' business.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from .connection import ConnectionLost, DialFailed, Message, OnClosed, OnMessage, place_token
from .log import denial_log_text, describe_denial


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
    """``websockets``' client connection, read by one task on its loop (the owner loop)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self._reader: asyncio.Task[None] | None = None
        self._closing = False  # close() was called: a missing close frame is then no failure of ours

    def start(self, on_message: OnMessage, on_closed: OnClosed) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read(on_message, on_closed))

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
        if self._reader is not None:
            await asyncio.wait({self._reader})

    async def _read(self, on_message: OnMessage, on_closed: OnClosed) -> None:
        ws = self._ws
        try:
            while True:
                message = await ws.recv()
                on_message(message, len(message.encode()) if isinstance(message, str) else len(message))
        except ConnectionClosed as closed:
            ending = closed
        await ws.wait_closed()  # the transport, and so the socket, is released before anyone hears "closed"
        rcvd, sent = ending.rcvd, ending.sent
        if rcvd is not None:
            on_closed(rcvd.code, rcvd.reason, sent is not None and not ending.rcvd_then_sent)
        elif sent is not None and not self._closing:  # this side failed it (1007, 1009): no close frame came back
            on_closed(sent.code, sent.reason, True)
        else:
            on_closed(1006, "", self._closing)
