"""``SessionConnection``: websockets' asyncio client connection, with the hops a session does not need taken out.

A plain ``websockets`` client hands every message through an assembler to a task waiting in ``recv()``, and every
send through a task that enters ``send_context()``. A session has one consumer for what arrives (its log and inbox)
and already writes in order from one place (its outbox), so on the server loop, where a session's messages pass
between a cell's thread and the handler, each of those tasks is one more turn of the loop per message:

* what arrives is handed to the session's ``on_message`` from ``data_received`` itself (fragmented messages are
  joined here first; a text message that is not UTF-8 fails the connection with 1007, as ``recv()`` would);
* :meth:`SessionConnection.send_now` writes a frame at once when nothing stops it (the connection is open and its
  transport is not asking writers to wait); otherwise the caller falls back to ``await send()``.

Ping, pong, close and flow control stay websockets' own. This subclass is passed as ``create_connection``, the hook
``websockets.asyncio.client.connect`` offers for it.
"""

from __future__ import annotations

from collections.abc import Callable

from websockets.asyncio.client import ClientConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import OPEN, Event

Message = str | bytes


class SessionConnection(ClientConnection):
    """A client connection that delivers messages to one sink as they are parsed (see the module's docstring)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._on_message: Callable[[Message], None] | None = None
        self._on_closed: Callable[[], None] | None = None
        self._early: list[Message] = []  # arrived with or right after the handshake, before attach()
        self._fragments: list[bytes] = []
        self._fragmented_text = False
        self._lost = False

    def attach(self, on_message: Callable[[Message], None], on_closed: Callable[[], None]) -> None:
        """From now on, each message goes to ``on_message`` and the end of the connection to ``on_closed`` (both on
        the loop). What arrived before is delivered now, in order."""
        self._on_message, self._on_closed = on_message, on_closed
        early, self._early = self._early, []
        for message in early:
            on_message(message)
        if self._lost:
            on_closed()

    def send_now(self, message: Message) -> bool:
        """Write ``message`` now, on the loop, if nothing makes a writer wait; False if ``await send()`` must."""
        if self.protocol.state is not OPEN or self.paused:
            return False
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        else:
            self.protocol.send_binary(message)
        self.send_data()
        return True

    # --- websockets' callbacks ---------------------------------------------------------------------------------

    def process_event(self, event: Event) -> None:
        if self.response is None or not isinstance(event, Frame):  # the handshake's response
            super().process_event(event)
            return
        if event.opcode is Opcode.TEXT or event.opcode is Opcode.BINARY:
            if event.fin:
                self._deliver(bytes(event.data), event.opcode is Opcode.TEXT)
            else:
                self._fragments, self._fragmented_text = [bytes(event.data)], event.opcode is Opcode.TEXT
        elif event.opcode is Opcode.CONT:
            self._fragments.append(bytes(event.data))
            if event.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(data, self._fragmented_text)
        else:  # ping, pong and close: websockets' own handling
            super().process_event(event)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._lost = True
        if self._on_closed is not None:
            self._on_closed()

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
            self._early.append(message)
        else:
            self._on_message(message)
