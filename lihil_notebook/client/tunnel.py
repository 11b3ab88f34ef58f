"""``TunnelSocket``: one WebSocket connection made by the kernel on behalf of a page the browser shows.

Where the browser cannot reach the playground's port (Colab; a hub without the proxy) a page shown with
``pg.show`` opens its WebSockets through the widget comm; for each one the kernel dials the real route at
``ws://127.0.0.1:PORT`` with the page's own path and query, and relays frames both ways — text as text, binary as
binary — and the close code and reason. It is a plain relay, not a :class:`~.session.Session`: the server sees an
ordinary client (no session header), so the route's handler behaves exactly as for a browser connecting direct.

Everything runs on the server loop; :meth:`TunnelSocket.send` and :meth:`TunnelSocket.close` may be called from any
thread and return at once. What happens is reported through the ``events`` callback (on the server loop):
``("open", protocol)``, ``("message", str | bytes)``, ``("close", (code, reason))``.

Dialling loopback never goes through a proxy from ``http_proxy``/``https_proxy``/``all_proxy`` (the token would
travel to it): ``proxy=None`` here, :func:`open_direct` for urllib. At DEBUG level websockets logs the handshake's
headers; :func:`redacting_logger` blanks the Authorization and Cookie values and any ``lihil_token``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from .connection import ConnectionLost, Dialer, DialFailed

TunnelEvent = Literal["open", "message", "close"]

_SECRETS = re.compile(r"(lihil_token(?:_\d+)?=)[^&\s;'\"]+|((?:authorization|cookie):\s*)[^\n'\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` without tokens: ``lihil_token=…`` values, and Authorization and Cookie header values."""
    return _SECRETS.sub(lambda m: (m[1] or m[2]) + "…", text)


class _Redacting(logging.LoggerAdapter[logging.Logger]):
    """websockets' client logger, with every message's token values blanked out."""

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, "%s", redact(text), **kwargs)  # type: ignore[arg-type]


def redacting_logger(name: str = "websockets.client") -> logging.LoggerAdapter[logging.Logger]:
    """A logger for ``websockets.connect(logger=...)`` that never writes the token (DEBUG logs headers)."""
    return _Redacting(logging.getLogger(name), {})


def open_direct(request: urllib.request.Request, *, timeout: float) -> Any:
    """``urlopen`` that never goes through a proxy from the environment (the kernel's own server is loopback)."""
    return _DIRECT.open(request, timeout=timeout)


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: The close code a page sees when the kernel could not connect at all (as a browser's 1006 "abnormal closure").
ABNORMAL_CLOSURE = 1006
OPEN_TIMEOUT = 10.0
MAX_MESSAGE_SIZE = 16 * 1024 * 1024


class TunnelSocket:
    """A relayed connection to ``url`` (``ws://127.0.0.1:PORT/path?query``); see the module docstring.

    ``call_soon(fn, *args)`` runs ``fn`` on the server loop from any thread (``pg.call_soon``).
    """

    def __init__(
        self,
        url: str,
        call_soon: Callable[..., None],
        events: Callable[[TunnelEvent, Any], None],
        *,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] = (),
        open_timeout: float = OPEN_TIMEOUT,
        dial: Dialer | None = None,
    ) -> None:
        """``dial``: the transport's :class:`~.connection.Dialer` (in-process: the app itself); None: websockets
        over TCP."""
        self._dial = dial
        self.url = url
        self._call_soon = call_soon
        self._events = events
        self._headers = dict(headers or {})
        self._subprotocols = [Subprotocol(p) for p in subprotocols]
        self._open_timeout = open_timeout
        self._ws: ClientConnection | None = None
        self._outgoing: asyncio.Queue[str | bytes | tuple[int, str]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Begin connecting (from any thread)."""
        self._call_soon(self._start)

    def send(self, data: str | bytes) -> None:
        """Queue a frame for the route (from any thread); frames go out in call order."""
        self._call_soon(self._put, data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason`` (from any thread); idempotent."""
        self._call_soon(self._put, (code, reason))

    # --- on the server loop ------------------------------------------------------------------------------------------

    def _start(self) -> None:
        self._outgoing = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _put(self, item: str | bytes | tuple[int, str]) -> None:
        if self._outgoing is not None and not self._closed:
            self._outgoing.put_nowait(item)

    async def _run(self) -> None:
        assert self._outgoing is not None
        if self._dial is not None:
            await self._run_connection(self._dial, self._outgoing)
            return
        try:
            self._ws = await asyncio.wait_for(
                connect(self.url, additional_headers=self._headers, subprotocols=self._subprotocols or None,
                        max_size=MAX_MESSAGE_SIZE, open_timeout=None, ping_interval=None, proxy=None,
                        logger=redacting_logger()),
                self._open_timeout,
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            status = exc.response.status_code if isinstance(exc, InvalidStatus) else None
            self._finish(ABNORMAL_CLOSURE, f"HTTP {status}" if status else type(exc).__name__)
            return
        except Exception as exc:  # a URL or header websockets refuses (InvalidURI, ValueError): the page must hear
            self._finish(ABNORMAL_CLOSURE, f"the kernel could not open it: {type(exc).__name__}: {exc}"[:120])
            return
        self._events("open", self._ws.subprotocol or "")
        writer = asyncio.create_task(self._write(self._ws, self._outgoing))
        try:
            async for message in self._ws:
                self._events("message", message)
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        # The code the route closed with (or echoed back when the page closed first); 1006 without a close frame.
        self._finish(self._ws.close_code or ABNORMAL_CLOSURE, self._ws.close_reason or "")

    async def _write(self, ws: ClientConnection, outgoing: asyncio.Queue[str | bytes | tuple[int, str]]) -> None:
        while True:
            item = await outgoing.get()
            try:
                if isinstance(item, tuple):
                    await ws.close(*item)
                    return
                await ws.send(item)
            except ConnectionClosed:
                return

    async def _run_connection(self, dial: Dialer, outgoing: asyncio.Queue[str | bytes | tuple[int, str]]) -> None:
        """The relay over a :class:`~.connection.Connection` (the in-process transport's)."""
        try:
            conn = await dial(self.url, headers=self._headers, subprotocols=self._subprotocols, token=None,
                              timeout=self._open_timeout, max_size=MAX_MESSAGE_SIZE, close_timeout=2.0)
        except DialFailed as exc:
            self._finish(ABNORMAL_CLOSURE, f"HTTP {exc.status}" if exc.status else exc.text)
            return
        self._events("open", conn.subprotocol or "")
        ended = asyncio.Event()

        def on_closed(code: int, reason: str, by_us: bool) -> None:
            self._finish(code, reason)
            ended.set()

        conn.start(lambda message, size: self._events("message", message), on_closed)

        async def write() -> None:
            while True:
                item = await outgoing.get()
                try:
                    if isinstance(item, tuple):
                        await conn.close(*item)
                        return
                    await conn.send(item)
                except ConnectionLost:
                    return

        writer = asyncio.create_task(write())
        try:
            await ended.wait()
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _finish(self, code: int, reason: str) -> None:
        if not self._closed:
            self._closed = True
            self._events("close", (code, reason))
