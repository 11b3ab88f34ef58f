"""Messages between the cells and a session's owner loop: :class:`Inbox` (what arrived) and :class:`Outbox` (what to
send).

The owner loop puts into the inbox and takes from the outbox; cells on any thread or loop do the rest. A cell that
waits registers a *waker*, which the owner loop calls when a message comes: a blocking ``receive()`` is woken
through a ``threading.Event``, an awaiting one through a future on its own loop, resolved with
``call_soon_threadsafe``. A waker only says "look again": the message stays in the inbox until a reader takes it, so
a waiter whose loop stopped, was interrupted or closed loses nothing, and its waker is dropped once called (a
closed loop refuses it; nobody waits for a loop).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

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
    """A FIFO bounded by count (``limit``) and by size (``max_bytes`` as ``size_of`` measures), closable, readable
    from any thread or loop. Beyond a bound the oldest unread items are dropped, and :meth:`put` says how many."""

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
        """Queue ``item`` and wake the waiters; the number of old unread items dropped to make room (0 almost always)."""
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
        deadline = time.monotonic() + timeout
        while True:
            arrived = threading.Event()
            found = self._take_or_wait(arrived.set)
            if found:
                return found[0]
            try:
                if not arrived.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError
            finally:
                self._forget(arrived.set)

    async def aget(self, timeout: float) -> T:
        """Like :meth:`get`, awaited on whichever event loop is running."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                arrived: asyncio.Future[None] = loop.create_future()
                wake = _waker(loop, arrived)
                found = self._take_or_wait(wake)
                if found:
                    return found[0]
                try:
                    await arrived
                finally:
                    self._forget(wake)

    def _take_or_wait(self, wake: Callable[[], None]) -> tuple[T] | None:
        """The next item, or None after registering ``wake`` to be called when one comes."""
        with self._lock:
            if not self._items:
                if self._closed:
                    raise InboxClosed
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


def _waker(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> Callable[[], None]:
    """Resolve ``future`` on ``loop`` from any thread: at once on that loop's own thread, else through
    ``call_soon_threadsafe``; a closed loop is skipped (nobody is waiting there any more)."""

    def wake() -> None:
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:
            here = False
        if here:
            _resolve(future)
            return
        try:
            loop.call_soon_threadsafe(_resolve, future)
        except RuntimeError:
            pass  # that loop is closed

    return wake


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class OutboxFull(Exception):
    """``limit`` frames are still waiting to be written."""


class Outbox(Generic[T]):
    """Items queued from any thread or loop, written in order by ``write`` on the owner ``loop``, one at a time.

    ``write(item)`` returns an awaitable: a finished future when it wrote at once (then no task is involved), else
    what to await before the next item may go.

    At most ``limit`` items wait unwritten (back pressure: :meth:`put` waits for a slot, up to its timeout). A write
    failing calls ``on_error(exc, unsent)`` on the loop, with the number of items dropped after it (the queue is
    cleared: after a failed write the connection is usually gone).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, write: Callable[[T], Awaitable[None]],
                 on_error: Callable[[Exception, int], None], limit: int) -> None:
        self._loop, self._write, self._on_error, self.limit = loop, write, on_error, limit
        self._items: deque[T] = deque()
        self._slots = threading.BoundedSemaphore(limit)
        self._writer: asyncio.Task[None] | None = None

    def put(self, item: T, timeout: float) -> None:
        """From a thread that is not the loop's: queue ``item``, waiting up to ``timeout`` s for a slot."""
        if not self._slots.acquire(timeout=timeout):
            raise OutboxFull
        self._hand_over(item)

    def put_nowait(self, item: T) -> None:
        if not self._slots.acquire(blocking=False):
            raise OutboxFull
        self._hand_over(item)

    async def aput(self, item: T, timeout: float) -> None:
        """Queue ``item`` from any event loop, awaiting a free slot if needed."""
        if not self._slots.acquire(blocking=False):
            if asyncio.get_running_loop() is self._loop:
                raise OutboxFull  # the writer needs this very loop to free a slot: waiting here would never end
            if not await asyncio.to_thread(self._slots.acquire, True, timeout):
                raise OutboxFull
        self._hand_over(item)

    async def drained(self) -> None:
        """On the loop: wait until everything queued so far has been written (or failed)."""
        while self._writer is not None:
            await asyncio.wait({self._writer})

    def _hand_over(self, item: T) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._push(item)
            return
        try:
            self._loop.call_soon_threadsafe(self._push, item)
        except RuntimeError:  # the loop is closed: nothing will be written
            self._slots.release()
            raise

    def _push(self, item: T) -> None:
        """On the loop: write ``item`` now if nothing is being written (a write that finishes at once needs no
        task), else queue it behind what is."""
        if self._writer is not None:
            self._items.append(item)
            return
        try:
            pending = self._write(item)
        except Exception as exc:
            self._slots.release()
            self._on_error(exc, 0)
            return
        if isinstance(pending, asyncio.Future) and pending.done():
            self._slots.release()
            if (failure := pending.exception()) is not None:
                self._on_error(failure if isinstance(failure, Exception) else RuntimeError(failure), 0)
            return
        self._writer = self._loop.create_task(self._drain(pending))

    async def _drain(self, pending: Awaitable[None]) -> None:
        """Finish the write under way, then write what was queued behind it, in order."""
        try:
            try:
                await pending
            except Exception as exc:
                self._on_error(exc, self._drop_all())
            finally:
                self._slots.release()
            while self._items:
                item = self._items.popleft()
                try:
                    await self._write(item)
                except Exception as exc:
                    self._on_error(exc, self._drop_all())
                finally:
                    self._slots.release()
        finally:
            self._writer = None
            if self._items:  # cancelled (the loop is shutting down): nothing more will be written
                self._drop_all()

    def _drop_all(self) -> int:
        dropped = len(self._items)
        self._items.clear()
        for _ in range(dropped):
            self._slots.release()
        return dropped
