"""Frames between a notebook cell and a session's connection on the server loop: ``Inbox``, ``Outbox``, ``Bell``.

All three exist to keep thread switches off the path of a message. Every hop between a cell's thread and the
server loop costs about as much as a whole WebSocket round trip on loopback, so:

* ``Inbox``: a blocking ``receive()`` parks on its own primitive and the server loop wakes it when a message arrives
  (one switch, as with a plain ``websockets`` client) instead of sending a coroutine over and waiting for it (two);
  an awaited ``areceive()`` is woken by its loop's ``Bell``;
* ``Outbox``: ``send()`` writes the frame from the cell's thread when nothing is queued (no hop at all, as a plain
  ``websockets`` sync client does), else queues it for the server loop and returns; it waits only when ``limit``
  frames are still unwritten (back pressure, so memory stays bounded). Frames go out in call order;
* ``Bell``: one cheap way for the server loop to wake an awaiting cell's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_UNREAD = 10_000
"""Default number of received messages a session keeps for ``receive()``; beyond it the oldest unread one is dropped."""
MAX_UNREAD_BYTES = 16 * 1024 * 1024
"""Default bytes of unread messages a session keeps for ``receive()``; beyond it the oldest unread ones are dropped."""
MAX_PENDING_SENDS = 1_000
"""Default number of frames a session's ``send()`` may queue ahead of the writer before it waits."""


class InboxClosed(Exception):
    """Nothing more will arrive, and everything that did has been taken."""


class Inbox(Generic[T]):
    """A FIFO bounded by count (``limit``) and by size (``max_bytes`` as ``size_of`` measures), closable, awaitable
    from any loop. Beyond a bound the oldest unread items are dropped, and :meth:`put` says how many."""

    def __init__(
        self, limit: int, max_bytes: int | None = None, size_of: Callable[[T], int] | None = None,
        charge: Callable[[int], None] | None = None,
    ) -> None:
        """``charge(delta)`` is told every change of the bytes held (a shared memory budget)."""
        self._items: deque[T] = deque()
        self._limit, self._max_bytes = limit, max_bytes
        self._size_of = size_of or (lambda item: 0)
        self._charge = charge or (lambda delta: None)
        self._bytes = 0
        self._lock = threading.Lock()
        self._wakers: list[Callable[[], None]] = []
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> int:
        """Queue ``item``; the number of old unread items dropped to make room (0 almost always)."""
        dropped = 0
        with self._lock:
            before = self._bytes
            self._items.append(item)
            self._bytes += self._size_of(item)
            while len(self._items) > self._limit or (
                    self._max_bytes is not None and self._bytes > self._max_bytes and len(self._items) > 1):
                self._bytes -= self._size_of(self._items.popleft())
                dropped += 1
            delta = self._bytes - before
            wakers, self._wakers = self._wakers, []
        self._charge(delta)
        for wake in wakers:
            wake()
        return dropped

    def clear(self) -> int:
        """Drop every unread item; how many."""
        with self._lock:
            count, freed = len(self._items), self._bytes
            self._items.clear()
            self._bytes = 0
        self._charge(-freed)
        return count

    def close(self) -> None:
        with self._lock:
            self._closed = True
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            wake()

    def get(self, timeout: float) -> T:
        """The next item, waiting up to ``timeout`` seconds (``TimeoutError``); ``InboxClosed`` when there is none."""
        found = self._take_or_wait(None)
        if found:
            return found[0]
        deadline = time.monotonic() + timeout
        arrived = threading.Event()
        while True:
            found = self._take_or_wait(arrived.set)
            if found:
                return found[0]
            try:
                if not arrived.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError
            finally:
                self._forget(arrived.set)
            arrived.clear()

    async def aget(self, timeout: float) -> T:
        """Like :meth:`get`, awaited on whichever event loop is running."""
        found = self._take_or_wait(None)
        if found:
            return found[0]
        loop = asyncio.get_running_loop()
        bell = bell_of(loop)
        deadline = loop.time() + timeout
        expired: list[bool] = []
        while True:
            arrived = loop.create_future()

            def wake(future: asyncio.Future[None] = arrived) -> None:
                bell.ring(future)

            def expire(future: asyncio.Future[None] = arrived) -> None:
                expired.append(True)
                _resolve(future)

            found = self._take_or_wait(wake)
            if found:
                return found[0]
            timer = loop.call_at(deadline, expire)  # cheaper than asyncio.timeout, which counts on this path
            try:
                await arrived
            finally:
                timer.cancel()
                self._forget(wake)
            found = self._take_or_wait(None)  # woken: it is there (or it came just as time ran out)
            if found:
                return found[0]
            if expired:
                raise TimeoutError

    def _take_or_wait(self, wake: Callable[[], None] | None) -> tuple[T] | None:
        """The next item, or None after registering ``wake`` (if given) to be called when one comes."""
        with self._lock:
            if not self._items:
                if self._closed:
                    raise InboxClosed
                if wake is not None:
                    self._wakers.append(wake)
                return None
            item = self._items.popleft()
            size = self._size_of(item)
            self._bytes -= size
        self._charge(-size)
        return (item,)

    def _forget(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if wake in self._wakers:
                self._wakers.remove(wake)


class OutboxFull(Exception):
    """``limit`` frames are still waiting to be written."""


class Outbox(Generic[T]):
    """Items queued from any thread, handed in order to ``write`` on ``loop``.

    ``write_direct(item)``, if given, is tried first, by the thread that queues, while nothing is queued or being
    written: True means written (no loop involved). Else the item is queued and ``write_now(item)``, if given, is
    tried in the loop callback that the queueing scheduled: it writes and returns True, or returns False when the
    item has to wait — then one task awaits ``write`` for it and everything queued behind it. A write failing calls
    ``on_error(exc, unsent)`` with the number of items dropped after it (the queue is cleared: after a failed write
    the connection is usually gone); for a direct write it is called on the queueing thread.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        write: Callable[[T], Awaitable[None]],
        on_error: Callable[[Exception, int], None],
        limit: int,
        write_now: Callable[[T], bool] | None = None,
        write_direct: Callable[[T], bool] | None = None,
    ) -> None:
        self._loop, self._write, self._on_error, self.limit = loop, write, on_error, limit
        self._write_now, self._write_direct = write_now, write_direct
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limit)
        self._writer: asyncio.Task[None] | None = None
        self._scheduled = False

    def put(self, item: T, timeout: float) -> None:
        """Queue ``item``, waiting up to ``timeout`` s for a free slot (``OutboxFull``). Not on the loop's thread."""
        if self._wrote_directly(item):
            return
        if not self._slots.acquire(timeout=timeout):
            raise OutboxFull
        self._enqueue(item)

    def put_nowait(self, item: T) -> None:
        if self._wrote_directly(item):
            return
        if not self._slots.acquire(blocking=False):
            raise OutboxFull
        self._enqueue(item)

    async def aput(self, item: T, timeout: float) -> None:
        """Queue ``item`` from any event loop, awaiting a free slot if needed."""
        if self._wrote_directly(item):
            return
        if not self._slots.acquire(blocking=False):
            if asyncio.get_running_loop() is self._loop:
                raise OutboxFull  # the writer needs this very loop to free a slot: waiting here would never end
            if not await asyncio.to_thread(self._slots.acquire, True, timeout):
                raise OutboxFull
        self._enqueue(item)

    def _wrote_directly(self, item: T) -> bool:
        """Write ``item`` from this thread if nothing is queued or being written (then order cannot suffer)."""
        if self._write_direct is None:
            return False
        with self._lock:  # held while writing: whoever queues next waits, and comes after this item
            if self._items or self._scheduled:
                return False
            try:
                return self._write_direct(item)
            except Exception as exc:
                failure = exc
        self._on_error(failure, 0)  # outside the lock: the handler may queue more
        return True  # done with: it failed, and that is reported

    async def drained(self) -> None:
        """On the loop: wait until everything queued so far has been written (or failed)."""
        while self._scheduled:
            if self._writer is not None and not self._writer.done():
                await asyncio.wait({self._writer})
            else:
                await asyncio.sleep(0)  # the writer's start is queued on this loop: let it run first

    def _enqueue(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            start, self._scheduled = not self._scheduled, True
        if start:
            try:
                self._loop.call_soon_threadsafe(self._start_writer)
            except RuntimeError:  # the loop is closed: nothing will be written
                self._drop_all()
                raise

    def _start_writer(self) -> None:
        """On the loop: write what can go out now; hand the rest to a task as soon as one item has to wait."""
        while self._write_now is not None:
            if not (next_one := self._next()):
                return
            item = next_one[0]
            try:
                written = self._write_now(item)
            except Exception as exc:
                self._slots.release()
                self._on_error(exc, self._drop_all())
                continue
            if not written:
                with self._lock:
                    self._items.appendleft(item)  # first in line for the task
                break
            self._slots.release()
        self._writer = start_eagerly(self._loop, self._drain())

    async def _drain(self) -> None:
        try:
            while next_one := self._next():
                try:
                    await self._write(next_one[0])
                except Exception as exc:
                    self._on_error(exc, self._drop_all())
                finally:
                    self._slots.release()
        except asyncio.CancelledError:  # the loop is shutting down: nothing more will be written
            self._drop_all()
            with self._lock:
                self._scheduled = False
            raise

    def _next(self) -> tuple[T] | None:
        """The next item to write, or None (and nothing is scheduled any more) when there is none."""
        with self._lock:
            if not self._items:
                self._scheduled = False
                return None
            return (self._items.popleft(),)

    def _drop_all(self) -> int:
        with self._lock:
            dropped = len(self._items)
            self._items.clear()
        for _ in range(dropped):
            self._slots.release()
        return dropped


class Bell:
    """Wakes one event loop from other threads to resolve futures: a byte on a socket pair that loop watches.

    ``call_soon_threadsafe`` does the same through the loop's own self-pipe, which it reads until it is empty (one
    more system call and an exception per wake-up); on the path of every message received by an awaiting cell, the
    difference shows. Where a loop cannot watch a socket (Windows' proactor), ``call_soon_threadsafe`` it is.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # a bell must not keep its loop alive (it is the value of a weak mapping)
        self._lock = threading.Lock()
        self._futures: list[asyncio.Future[None]] = []
        self._rung = False
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        receiver, sender = socket.socketpair()
        receiver.setblocking(False)
        sender.setblocking(False)
        try:
            loop.add_reader(receiver.fileno(), self._answer)
        except NotImplementedError:
            receiver.close()
            sender.close()
            return
        self._sockets = receiver, sender
        weakref.finalize(loop, _close_all, receiver, sender)  # the loop's selector is the last to need them

    def ring(self, future: asyncio.Future[None]) -> None:
        """Any thread: resolve ``future`` on its loop, soon (now, on the loop's own thread)."""
        loop = self._loop()
        if loop is not None and asyncio._get_running_loop() is loop:  # this very thread runs that loop
            _resolve(future)
            return
        if self._sockets is None:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                if loop is not None:
                    loop.call_soon_threadsafe(_resolve, future)
            return
        with self._lock:
            self._futures.append(future)
            ring, self._rung = not self._rung, True
        if ring:
            with contextlib.suppress(OSError):  # full: a byte is unread, so the loop wakes anyway; closed: no loop
                self._sockets[1].send(b"\0")

    def _answer(self) -> None:
        assert self._sockets is not None
        with contextlib.suppress(OSError):
            self._sockets[0].recv(4096)
        with self._lock:
            futures, self._futures, self._rung = self._futures, [], False
        for future in futures:
            _resolve(future)


_bells: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Bell] = weakref.WeakKeyDictionary()


def bell_of(loop: asyncio.AbstractEventLoop) -> Bell:
    """The :class:`Bell` of ``loop`` (made on first use, on that loop's thread)."""
    bell = _bells.get(loop)
    if bell is None:
        bell = _bells[loop] = Bell(loop)
    return bell


def start_eagerly(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """A task for ``coro`` that takes its first step now, not on the next loop iteration (Python 3.12+).

    Writing a small frame never suspends, so on 3.12+ most sends finish right here, one loop iteration sooner.
    Python 3.11 has no eager start: there it is an ordinary task.
    """
    if sys.version_info >= (3, 12):
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    return loop.create_task(coro)


def _close_all(*sockets: socket.socket) -> None:
    for sock in sockets:
        sock.close()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
