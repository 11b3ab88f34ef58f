"""``ReadRole``: which event loop reads a session's socket — its own (the server loop) or, while a cell awaits a
message, the cell's.

A message for an awaiting cell used to cross threads: the server loop read and parsed it, then woke the cell's loop.
A plain ``websockets`` client awaited in a cell reads on the cell's loop itself, one thread switch fewer. So, while
``await session.areceive()`` waits, the awaiting loop *borrows* the reading (:meth:`ReadRole.lend`) and gives it back
when the wait ends (:meth:`ReadRole.give_back`); at every other time the server loop reads, so the log and the
console stay live while a cell blocks or computes.

How the hand-over stays safe:

* The transport's own reading is paused for good; the server loop watches the socket through a one-shot ``epoll``
  of its own, which any thread may disarm and re-arm (``epoll_ctl`` is thread-safe, asyncio's selector is not).
* Everything the server loop reads goes to websockets' ``data_received``, whole. A borrowing loop takes only what
  :func:`simple_frames` understands — complete, unfragmented text and binary frames — and only when websockets'
  parser stands between two frames (:meth:`SessionConnection.parser_idle`); anything else it read (a ping, a close,
  a fragment, part of a frame, the end of the stream) goes to the server loop, which hands it to websockets after the
  borrower's messages, so nothing is parsed twice, out of order or by two parsers.
* The role changes under the connection's lock; nobody reads while the server loop is busy with what it read.

Linux only (``epoll``), plain TCP only (as direct writes); elsewhere the server loop reads, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import threading
from collections.abc import Callable
from typing import Protocol

Message = str | bytes


class Reader(Protocol):
    """What :class:`ReadRole` needs of its connection (a :class:`~.connection.SessionConnection`)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...
    @property
    def transport(self) -> asyncio.Transport: ...
    def max_message_size(self) -> int | None: ...
    def parser_idle(self) -> bool: ...
    def still_open(self) -> bool: ...
    def data_received(self, data: bytes) -> None: ...

READ_CHUNK = 256 * 1024
"""Bytes read from the socket at most per read (asyncio's own transports read as much)."""

_WATCH = getattr(select, "EPOLLIN", 0) | getattr(select, "EPOLLONESHOT", 0)


def simple_frames(data: bytes, max_size: int | None) -> tuple[list[tuple[Message, int]], int]:
    """The messages in the complete, final, unmasked text and binary frames without extension bits that ``data``
    starts with (text decoded as UTF-8), each with its payload size, and the offset where the rest begins: the first
    byte of anything else (another frame type, a fragment, a frame cut short, a payload over ``max_size``, text that is
    not UTF-8), which only websockets' parser may take."""
    messages: list[tuple[Message, int]] = []
    pos, end = 0, len(data)
    while end - pos >= 2:
        head1, head2 = data[pos], data[pos + 1]
        opcode = head1 & 0x0F
        if head1 & 0xF0 != 0x80 or opcode not in (1, 2) or head2 & 0x80:  # FIN, no RSV; text/binary; not masked
            break
        length, start = head2 & 0x7F, pos + 2
        if length >= 126:
            width = 2 if length == 126 else 8
            if end - start < width:
                break
            length, start = int.from_bytes(data[start:start + width], "big"), start + width
        if (max_size is not None and length > max_size) or end - start < length:
            break
        payload = data[start:start + length]
        message: Message = payload
        if opcode == 1:
            try:
                message = payload.decode()
            except UnicodeDecodeError:
                break
        messages.append((message, length))
        pos = start + length
    return messages, pos


class ReadRole:
    """Who reads the socket of ``conn`` (see the module's docstring). Made on the server loop, once open."""

    def __init__(self, conn: Reader, sock: socket.socket, lock: threading.RLock,
                 deliver: Callable[[list[tuple[Message, int]]], None]) -> None:
        """``sock``: our own non-blocking descriptor of the socket; ``lock``: the connection's; ``deliver``: takes
        what a borrowing loop read, on that loop's thread."""
        self._conn, self._sock, self._fd, self._lock, self._deliver = conn, sock, sock.fileno(), lock, deliver
        self._watch: select.epoll | None = None  # set while the server loop reads through it, not the transport
        self._switching = False  # a change between the two ways of reading is asked of the server loop
        self._borrower: asyncio.AbstractEventLoop | None = None
        self._busy = False  # the server loop is reading, or handing what it read to websockets
        self._stopped = False
        self._close_socket = False  # close ``sock`` once the last borrower stops watching it
        self._registered: asyncio.AbstractEventLoop | None = None  # the loop watching ``sock`` (a borrower's)

    @staticmethod
    def possible(loop: asyncio.AbstractEventLoop) -> bool:
        """Whether the server loop ``loop`` can watch our ``epoll`` (a selector loop, on Linux)."""
        return hasattr(select, "epoll") and isinstance(loop, asyncio.SelectorEventLoop)

    # --- a borrowing loop (a cell's), on its own thread --------------------------------------------------------

    def lend(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Let ``loop`` read until :meth:`give_back`; False (nothing changes) when it cannot now."""
        if loop is self._conn.loop:
            return False
        with self._lock:
            if self._watch is None:
                self._ask(self._start_watching)  # from the next wait on
                return False
            if self._registered is not None and self._registered.is_closed():
                self._registered = None  # that loop is gone, and its watch with it
            if (self._stopped or self._busy or self._borrower is not None
                    or self._registered not in (None, loop) or not self._conn.parser_idle()):
                return False
            if self._registered is not loop:  # (else still watched from an earlier wait)
                try:
                    loop.add_reader(self._fd, self._borrowed_readable, loop)  # under the lock: stop() sees it
                except Exception:  # a loop that cannot watch a socket (Windows' proactor)
                    return False
                self._registered = loop
            self._borrower = loop
            self._watch.modify(self._fd, 0)  # the server loop stops watching (an event already out finds a borrower)
        return True

    def give_back(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop`` no longer reads (idempotent). It goes on watching the socket until something arrives while it
        does not borrow (then it stops): a cell awaiting message after message pays for no watch at all."""
        self._give_back(loop, None)

    def _borrowed_readable(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._borrower is not loop:
                data = None  # given back: the server loop reads this
            else:
                try:
                    data = self._sock.recv(READ_CHUNK)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    data = b""  # broken: the transport will read the error itself
        if data is None:
            self._unregister(loop)
            return
        if data and self._conn.still_open():  # the parser was idle when lent, and only this loop has read since
            messages, used = simple_frames(data, self._conn.max_message_size())
        else:
            messages, used = [], 0
        try:
            if messages:
                self._deliver(messages)  # outside the lock: the session logs and queues them (and wakes this loop)
        finally:
            if used < len(data) or not data:
                self._give_back(loop, data[used:])  # the rest (b"": the end) is websockets' to read, after these

    def _give_back(self, loop: asyncio.AbstractEventLoop, rest: bytes | None) -> None:
        with self._lock:
            if self._borrower is not loop:
                return
            self._borrower = None
            if self._stopped or self._watch is None:
                return
            if rest is None:
                self._watch.modify(self._fd, _WATCH)
                return
            self._busy = True
        try:
            self._conn.loop.call_soon_threadsafe(self._take, rest)
        except RuntimeError:  # the server loop is closed: nobody reads any more
            pass

    def _unregister(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: stop watching the socket there, unless it borrowed again meanwhile."""
        with self._lock:
            if self._registered is not loop or self._borrower is loop:
                return
            loop.remove_reader(self._fd)
            self._registered = None
            if self._close_socket:
                self._sock.close()

    def prefer_transport(self) -> None:
        """Any thread (a blocking ``receive()``'s): nobody awaits here, so let the transport read again — reading
        through the watch costs the server loop two system calls per read."""
        if self._watch is not None and not self._switching:
            with self._lock:
                self._ask(self._stop_watching)

    def _ask(self, switch: Callable[[], None]) -> None:
        """Under the lock: have the server loop run ``switch`` (once at a time)."""
        if self._switching or self._stopped:
            return
        self._switching = True
        try:
            self._conn.loop.call_soon_threadsafe(switch)
        except RuntimeError:  # the server loop is closed
            self._switching = False

    # --- the server loop ----------------------------------------------------------------------------------------

    def _start_watching(self) -> None:
        with self._lock:
            self._switching = False
            if self._stopped or self._watch is not None:
                return
            self._watch = select.epoll()
            self._watch.register(self._fd, _WATCH)
            self._conn.loop.add_reader(self._watch.fileno(), self._server_readable)
            self._conn.transport.pause_reading()  # from now on, what the transport would read, the watch reads

    def _stop_watching(self) -> None:
        with self._lock:
            self._switching = False
            if self._borrower is not None and not self._borrower.is_running():
                self._borrower = None  # a loop stopped in the middle of its wait: it cannot read, so it gives up
            if self._stopped or self._watch is None or self._busy or self._borrower is not None:
                return  # read elsewhere right now: the next blocking receive() asks again
            self._close_watch()
        self._conn.transport.resume_reading()

    def _close_watch(self) -> None:
        assert self._watch is not None
        self._conn.loop.remove_reader(self._watch.fileno())
        self._watch.close()
        self._watch = None

    def _server_readable(self) -> None:
        with self._lock:
            if self._watch is None:
                return
            with contextlib.suppress(OSError):
                self._watch.poll(0)  # take the event: the socket is now unwatched until re-armed
            if self._stopped or self._busy or self._borrower is not None:
                return
            self._busy = True
            try:
                data = self._sock.recv(READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
        self._take(data)

    def _take(self, data: bytes | None) -> None:
        """On the server loop, busy: ``data`` to websockets (``b""``: the end of the stream, which the transport
        reads again itself), then watch again."""
        if data == b"":
            self.stop(lost=False)
            return
        try:
            if data:
                self._conn.data_received(data)
        finally:  # whatever websockets made of it, the socket is read again
            with self._lock:
                self._busy = False
                if not self._stopped and self._borrower is None and self._watch is not None:
                    self._watch.modify(self._fd, _WATCH)

    def stop(self, *, lost: bool) -> None:
        """On the server loop: the transport reads again (if ``lost``, the connection is gone: the socket is closed
        now, or by the borrower when it gives the reading back). Idempotent."""
        with self._lock:
            if lost:
                if self._registered is None or self._registered.is_closed():  # nobody watches it any more
                    self._sock.close()
                else:
                    self._close_socket = True
            if self._stopped:
                return
            self._stopped = True
            self._busy = False
            watched = self._watch is not None
            if watched:
                self._close_watch()
        if watched and not lost:
            self._conn.transport.resume_reading()
