"""``SessionConnection``: websockets' asyncio client connection, with the hops a session does not need taken out.

A plain ``websockets`` client hands every message through an assembler to a task waiting in ``recv()``, and every
send through a task that enters ``send_context()``. A session has one consumer for what arrives (its log and inbox)
and already writes in order from one place (its outbox), so on the server loop, where a session's messages pass
between a cell's thread and the handler, each of those tasks is one more turn of the loop per message:

* what arrives is handed to the session's ``on_message`` from ``data_received`` itself (fragmented messages are
  joined here first; a text message that is not UTF-8 fails the connection with 1007, as ``recv()`` would);
* :meth:`SessionConnection.send_now` writes a frame at once when nothing stops it (the connection is open and its
  transport is not asking writers to wait); otherwise the caller falls back to ``await send()``;
* :meth:`SessionConnection.send_direct` writes a frame *from the calling thread* (a cell's), so a send does not have
  to wake the server loop at all — as a plain ``websockets`` sync client writes from the caller's thread. It works
  on a duplicate of the socket's descriptor, on plain TCP only (TLS belongs to the transport), and only while the
  transport holds nothing unwritten; every write of the loop's own (pong, close, a queued frame) first takes the
  same lock and first writes what a direct write left unfinished, so bytes reach the socket in order. A direct write
  never touches websockets' protocol object (it builds the frame itself): that object stays the loop's alone.

* while a cell awaits a message, its own loop may read the socket instead of the server loop
  (:meth:`SessionConnection.lend_reading`, see :mod:`.reading`), for the messages websockets' parser need not see.

Ping, pong, close and flow control stay websockets' own. This subclass is passed as ``create_connection``, the hook
``websockets.asyncio.client.connect`` offers for it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import OPEN, Event
from websockets.streams import StreamReader

from .reading import ReadRole

Message = str | bytes

_AT_EOF = StreamReader.at_eof.__code__  # where websockets' parser waits between two frames


class SessionConnection(ClientConnection):
    """A client connection that delivers messages to one sink as they are parsed (see the module's docstring)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._on_message: Callable[[Message, int], None] | None = None
        self._on_messages_elsewhere: Callable[[list[tuple[Message, int]]], None] | None = None
        self._on_closed: Callable[[], None] | None = None
        self._early: list[tuple[Message, int]] = []  # arrived with or right after the handshake, before attach()
        self._fragments: list[bytes] = []
        self._fragmented_text = False
        self._lost = False
        self._write_lock = threading.RLock()  # every write to the socket, from any thread
        self._direct: socket.socket | None = None  # our own descriptor of the socket, for send_direct
        self._unfinished: list[bytes] = []  # what a direct write could not write at once: goes out first
        self._finishing = False  # the loop is asked to write _unfinished
        self._reads: ReadRole | None = None  # who reads the socket, once direct writes are allowed (Linux)

    def attach(self, on_message: Callable[[Message, int], None], on_closed: Callable[[], None],
               on_messages_elsewhere: Callable[[list[tuple[Message, int]]], None]) -> None:
        """From now on, each message goes to ``on_message(message, size in bytes)`` and the end of the connection
        to ``on_closed`` (both on the loop); messages read by a loop that borrowed the reading (see
        :mod:`.reading`) go to ``on_messages_elsewhere`` on that loop's thread. What arrived before is delivered
        now, in order."""
        self._on_message, self._on_closed = on_message, on_closed
        self._on_messages_elsewhere = on_messages_elsewhere
        early, self._early = self._early, []
        for message, size in early:
            on_message(message, size)
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

    def ending(self, *, closed_by_us: bool) -> tuple[int, str, bool]:
        """Once closed: the close code and reason to show, and whether this side failed the connection (text that
        is not UTF-8, a message too big): then the code is the one sent (1007, 1009), as no close frame came back."""
        sent = self.protocol.close_sent
        if sent is not None and self.protocol.close_rcvd is None and not closed_by_us:
            return sent.code, sent.reason, True
        return (self.close_code if self.close_code is not None else 1006), self.close_reason or "", False

    def allow_direct_io(self) -> None:
        """On the loop, once open and attached: let :meth:`send_direct` write from other threads, and let an
        awaiting loop borrow the reading (:meth:`lend_reading`; Linux). Plain TCP only."""
        if self.transport.get_extra_info("sslcontext") is not None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return
        with self._write_lock:
            if not self._lost and self._direct is None:
                self._direct = socket.socket(fileno=os.dup(sock.fileno()))
                self._direct.setblocking(False)
                if ReadRole.possible(self.loop) and self._on_messages_elsewhere is not None:
                    self._reads = ReadRole(self, self._direct, self._write_lock, self._on_messages_elsewhere)

    def lend_reading(self, loop: asyncio.AbstractEventLoop) -> bool:
        """On ``loop``'s thread: let ``loop`` read the socket until :meth:`give_back_reading`; False if it cannot
        now (then the server loop reads, as always)."""
        reads = self._reads
        return reads is not None and reads.lend(loop)

    def give_back_reading(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._reads is not None:
            self._reads.give_back(loop)

    def prefer_transport_reading(self) -> None:
        """Any thread: a blocking reader waits; the server loop's transport reads best (see :mod:`.reading`)."""
        if self._reads is not None:
            self._reads.prefer_transport()

    def max_message_size(self) -> int | None:
        return self.protocol.max_message_size

    def still_open(self) -> bool:
        return self.protocol.state is OPEN

    def parser_idle(self) -> bool:
        """Whether websockets' parser stands between two frames of an open connection, with nothing buffered and
        no fragmented message begun: then bytes read elsewhere start a frame. False whenever unsure."""
        protocol = self.protocol
        if protocol.state is not OPEN or protocol.reader.buffer or self._fragments or protocol.extensions:
            return False
        inner = protocol.parser
        while (deeper := getattr(inner, "gi_yieldfrom", None)) is not None:
            inner = deeper
        return getattr(inner, "gi_code", None) is _AT_EOF

    def send_direct(self, message: Message, before: Callable[[int], None]) -> bool:
        """Write ``message`` from this thread, now; False if it must go through the loop instead (TLS, not open, or
        bytes still waiting in the transport). ``before(payload size)`` runs just before the bytes go out (the
        session logs the frame there, so its entry always precedes the reply's). An ``OSError`` means the connection
        is broken."""
        if self._direct is None:
            return False
        text = isinstance(message, str)
        payload = message.encode() if isinstance(message, str) else message
        data = Frame(Opcode.TEXT if text else Opcode.BINARY, payload).serialize(mask=True)  # a client masks; no extensions (compression is off)
        with self._write_lock:
            sock = self._direct
            if (sock is None or self.protocol.state is not OPEN or self._unfinished
                    or self.transport.get_write_buffer_size()):
                return False
            before(len(payload))
            try:
                written = sock.send(data)
            except BlockingIOError:
                written = 0
            if written < len(data):
                self._unfinished.append(data[written:])
                if not self._finishing:
                    self._finishing = True
                    self.loop.call_soon_threadsafe(self._finish_unfinished)
        return True

    def _finish_unfinished(self) -> None:
        with self._write_lock:
            self._finishing = False
            self._write_unfinished()

    def _write_unfinished(self) -> None:
        unfinished, self._unfinished = self._unfinished, []
        for data in unfinished:
            self.transport.write(data)

    # --- websockets' callbacks ---------------------------------------------------------------------------------

    def send_data(self) -> None:
        with self._write_lock:
            if self._unfinished:
                self._write_unfinished()
            super().send_data()

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
        with self._write_lock:
            if self._reads is not None:
                self._reads.stop(lost=True)  # closes our descriptor (or has the borrower close it)
            elif self._direct is not None:
                self._direct.close()  # before the transport closes its own descriptor: then the socket is closed
            self._direct = None
            self._unfinished.clear()
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
            self._early.append((message, len(data)))
        else:
            self._on_message(message, len(data))
