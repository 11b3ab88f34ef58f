"""The TCP transport of a session: a :class:`~.connection.Connection` made of ``websockets``' asyncio client.

``websockets.asyncio.client.connect`` dials; pings, pongs, the closing handshake, UTF-8 and size checks and flow
control are websockets' own. :class:`SessionClientConnection`, passed through ``connect``'s documented
``create_connection`` hook, takes out two turns of the owner loop that a plain client spends per message, because a
session has exactly one consumer and one writer, both already on that loop:

* each message goes to the session from ``data_received``, as websockets parses it, instead of through the
  assembler to a task waiting in ``recv()`` (fragments are joined here; text that is not UTF-8 fails the connection
  with 1007, as ``recv()`` would);
* a frame is written at once when nothing makes a writer wait (the connection is open and the transport is not
  asking writers to pause), instead of through a task entering ``send()``; otherwise ``send()`` it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import OPEN, Event
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
            create_connection=SessionClientConnection,
        )
    except InvalidStatus as exc:
        status, problem, text = describe_denial(exc)
        raise DialFailed(f"{url}: the server refused the handshake: {text}", kind="denied", text=text, url=url,
                         status=status, problem=problem, log_text=denial_log_text(exc, problem)) from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        what = "timed out" if isinstance(exc, TimeoutError) else f"failed: {exc}"
        text = f"connecting to {url} {what}"  # the URL shown never carries the token
        raise DialFailed(text, kind="error", text=text, url=url) from None
    assert isinstance(ws, SessionClientConnection)  # made by create_connection
    return WebsocketsConnection(ws)


class WebsocketsConnection:
    """A session's :class:`~.connection.Connection` over ``websockets`` (see the module's docstring)."""

    def __init__(self, ws: SessionClientConnection) -> None:
        self._ws = ws
        self.subprotocol: str | None = ws.subprotocol
        self._closing = False  # close() was called: a missing close frame is then no failure of ours

    def start(self, on_message: OnMessage, on_closed: OnClosed) -> None:
        self._ws.attach(on_message, lambda: on_closed(*self._ending()))

    def send(self, message: Message) -> Awaitable[None]:
        if self._ws.send_now(message):
            done = self._ws.loop.create_future()
            done.set_result(None)
            return done
        return self._send(message)

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

    async def _send(self, message: Message) -> None:
        try:
            await self._ws.send(message)
        except ConnectionClosed:
            raise ConnectionLost from None

    def _ending(self) -> tuple[int, str, bool]:
        """The close code and reason to show, and whether this side started the closing."""
        protocol = self._ws.protocol
        rcvd, sent = protocol.close_rcvd, protocol.close_sent
        if rcvd is not None:
            return rcvd.code, rcvd.reason, sent is not None and not protocol.close_rcvd_then_sent
        if sent is not None and not self._closing:  # this side failed it (1007, 1009): no close frame came back
            return sent.code, sent.reason, True
        return CloseCode.ABNORMAL_CLOSURE, "", self._closing


class SessionClientConnection(ClientConnection):
    """``websockets``' client connection handing messages to one sink and writing at once when it can (see the
    module's docstring). Everything here runs on the connection's loop."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._on_message: OnMessage | None = None
        self._on_lost: Callable[[], None] | None = None
        self._early: list[tuple[Message, int]] = []  # arrived with or right after the handshake, before attach()
        self._fragments: list[bytes] = []
        self._fragmented_text = False
        self._lost = False

    def attach(self, on_message: OnMessage, on_lost: Callable[[], None]) -> None:
        """From now on each message goes to ``on_message(message, size)`` and the end to ``on_lost()``; what came
        before is delivered now, in order."""
        self._on_message, self._on_lost = on_message, on_lost
        early, self._early = self._early, []
        for message, size in early:
            on_message(message, size)
        if self._lost:
            on_lost()

    def send_now(self, message: Message) -> bool:
        """Write ``message`` now if nothing makes a writer wait; False if ``await send()`` must."""
        if self.protocol.state is not OPEN or self.paused:
            return False
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        else:
            self.protocol.send_binary(message)
        self.send_data()
        return True

    def process_event(self, event: Event) -> None:
        if self.response is None or not isinstance(event, Frame):  # the handshake's response
            super().process_event(event)
        elif event.opcode is Opcode.TEXT or event.opcode is Opcode.BINARY:
            if event.fin:
                self._deliver(bytes(event.data), event.opcode is Opcode.TEXT)
            else:
                self._fragments, self._fragmented_text = [bytes(event.data)], event.opcode is Opcode.TEXT
        elif event.opcode is Opcode.CONT:
            self._fragments.append(bytes(event.data))
            if event.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(data, self._fragmented_text)
        else:  # ping, pong and close: websockets' own
            super().process_event(event)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._lost = True
        if self._on_lost is not None:
            self._on_lost()

    def _deliver(self, data: bytes, text: bool) -> None:
        message: Message = data
        if text:
            try:
                message = data.decode()
            except UnicodeDecodeError as exc:
                self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                self.send_data()
                return
        if self._on_message is None:
            self._early.append((message, len(data)))
        else:
            self._on_message(message, len(data))
