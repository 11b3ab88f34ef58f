"""``Session``: a WebSocket client opened from the notebook, and its event log.

One owner: the session's connection (a :class:`~.connection.Connection`) is read and written by the loop the
playground serves on, and only there — the server thread's loop, or in-process the kernel's own. Everything that
happens is logged there too, in the order it happened, and handed to subscribers in the same step. A cell never
touches the connection: it reaches the owner loop through one of three flavours of every method:

* blocking, for plain cells: ``s.receive()``, ``s.ping()``, ``s.close()`` wait with a timeout; ``s.send("hi")``
  queues the frame for the owner loop (frames go out in call order) and waits only when too many are still
  unwritten. Called *on* the owner loop (a handler, a callback) they raise, naming the ``await`` twin;
* awaitable, for top-level ``await`` in a cell or for code already on the owner loop: ``await s.areceive()``;
* fire-and-forget, for widget callbacks that must return at once: ``s.send_nowait("hi")`` — the outcome, or the
  error, lands in :attr:`Session.log`.

A cell that blocks, computes, was interrupted or whose loop is gone cannot stall a session: what arrives is read
and logged by the owner loop whatever the cells do, and a waiting cell is only *woken* (see :mod:`.frames`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from typing import Any

from ..errors import SessionClosedError, SessionError
from ..wire import SESSION_HEADER
from .connection import Connection, ConnectionLost, Dialer, DialFailed
from .frames import MAX_PENDING_SENDS, MAX_UNREAD, MAX_UNREAD_BYTES, Inbox, InboxClosed, Outbox, OutboxFull
from .log import (
    LOG_LIMIT,
    SESSION_LOG_BYTES,
    Direction,
    Kind,
    LogBudget,
    LogEntry,
    Message,
    SessionLog,
    as_frame,
    backed_up_error,
    closed_error,
    decode_json,
    describe_message,
)
from .loop_calls import LoopCaller, LoopClosed
from .peer import ServerReports, State
from .subscribers import Subscribers
from .websockets_connection import dial_websockets

__all__ = ["CLOSE_TIMEOUT", "MAX_MESSAGE_SIZE", "LogEntry", "Session"]

CLOSE_TIMEOUT = 2.0
"""Seconds ``close()`` waits for the server's close frame before dropping the connection."""
MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""Largest message a session accepts, in bytes (the server's default limit too)."""


class Session(ServerReports):
    """A WebSocket connection from the notebook to a playground route. Made by ``pg.connect`` / ``pg.connect_nowait``.

    >>> s = pg.connect("/echo/lobby?upper=true")
    >>> s.send("hi"); s.receive()
    '[lobby] HI'
    >>> await s.asend({"op": "ping"})      # dict/list -> JSON text
    >>> s.close()
    >>> s.close_code, [e.kind for e in s.log]
    (1000, ['open', 'text', 'text', 'text', 'close'])
    """

    _numbers = itertools.count(1)

    def __init__(
        self,
        *,
        path: str,
        url: str,
        loop: asyncio.AbstractEventLoop,
        dial: Dialer = dial_websockets,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        log_limit: int = LOG_LIMIT,
        log_bytes: int = SESSION_LOG_BYTES,
        log_budget: LogBudget | None = None,
        max_unread: int = MAX_UNREAD,
        max_unread_bytes: int = MAX_UNREAD_BYTES,
        token: str | None = None,
        max_pending_sends: int = MAX_PENDING_SENDS,
        max_size: int = MAX_MESSAGE_SIZE,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        """``loop`` is the owner loop; ``dial`` opens the connection on it (the transport: see :mod:`.connection`)."""
        self.id = uuid.uuid4().hex[:12]
        self.name = name or f"s{next(self._numbers)}"
        self.path, self.url = path, url
        self.headers = dict(headers or {})
        self.subprotocols = list(subprotocols or [])
        self.state: State = "connecting"
        self.stale = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.accepted_subprotocol: str | None = None
        #: A refused handshake is no close: no close code, but the HTTP status and a one-line summary.
        self.refused_status: int | None = None
        self.refusal = ""
        self._loop, self._dial = loop, dial
        self._calls = LoopCaller(loop, "Session", self._gone)
        self._max_size, self._close_timeout = max_size, close_timeout
        self._log = SessionLog(log_bytes, log_limit, log_budget)
        self._token = token  # the playground's, carried on the handshake; never logged
        self._connecting: asyncio.Task[None] | None = None
        self._subscribers = Subscribers()
        self._inbox: Inbox[Message] = Inbox(max_unread, max_unread_bytes, len,
                                            log_budget.charge if log_budget else None)
        self.unread_dropped = 0
        self._outbox: Outbox[Message] = Outbox(loop, self._write, self._write_failed, max_pending_sends)
        self._conn: Connection | None = None
        self._closed_by_us = False
        # The server handler may print before this side has finished the handshake: such entries wait here, so
        # the log reads "open" first.
        self._early: list[tuple[Kind, str]] = []

    def __repr__(self) -> str:
        stale = " stale" if self.stale else ""
        return f"<Session {self.name} {self.path} {self.state}{stale}>"

    # --- state and log --------------------------------------------------------------------------------------------

    @property
    def _who(self) -> str:
        return f"session {self.name} ({self.path})"

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    @property
    def log(self) -> list[LogEntry]:
        """The entries, oldest first (a copy). Bounded by ``log_bytes`` and ``log_limit``: past them the oldest
        go, and the first entry (kind "dropped") says how many."""
        return self._log.entries()

    @property
    def log_bytes(self) -> int:
        """What the log holds, in bytes (as the caps count them)."""
        return self._log.nbytes

    def subscribe(self, callback: Callable[[LogEntry], None],
                  kinds: Collection[Kind] | None = None) -> Callable[[], None]:
        """Call ``callback(entry)`` for each new log entry (only those of ``kinds``, if given); returns a function
        that unsubscribes. The callback runs on the owner loop, in log order, and must be quick (buffer, don't
        render)."""
        return self._subscribers.add(callback, kinds)

    # --- blocking API -------------------------------------------------------------------------------------------

    def send(self, data: str | bytes | dict[str, Any] | list[Any], *, timeout: float = 5.0) -> None:
        """Send a text frame (str), a binary frame (bytes) or JSON text (dict/list).

        The frame is queued for the owner loop, which writes frames in call order; ``send`` returns at once and
        waits (up to ``timeout``) only while ``max_pending_sends`` frames are still unwritten. A closed session or
        a bad payload raises here; a write that fails is logged, and the next ``receive()`` says why.
        """
        frame = as_frame(data)
        self._calls.refuse_here("send")
        self._require_open("send")
        try:
            self._outbox.put(frame, timeout)
        except OutboxFull:
            raise backed_up_error(self._who, self._outbox.limit, timeout) from None
        except RuntimeError:  # the owner loop is closed
            raise self._gone("send") from None

    def receive(self, timeout: float = 5.0) -> Message:
        """The next message received (str or bytes), waiting up to ``timeout`` seconds.

        Raises ``TimeoutError`` when nothing arrives in time and :class:`SessionClosedError` (naming the close code
        and reason) when the connection is closed and every message has been read.
        """
        self._calls.refuse_here("receive")
        try:
            return self._inbox.get(timeout)
        except InboxClosed:
            raise self._closed_error("receive") from None
        except TimeoutError:
            raise TimeoutError(f"{self._who}: no message within {timeout} s") from None

    def receive_json(self, timeout: float = 5.0) -> Any:
        """The next message, decoded as JSON."""
        return decode_json(self.receive(timeout), self._who)

    def ping(self, timeout: float = 5.0) -> float:
        """Send a ping; return the round-trip time in seconds once the pong arrives."""
        return self._calls.block(self._ping(timeout), timeout, "ping")

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason`` and wait until it is closed. Idempotent.

        While still connecting, the attempt is cancelled and the session is closed at once."""
        if self.closed or self._cancel_connecting():
            return  # also after the server it ran on was stopped and another started
        self._calls.block(self.close_connection(code, reason), self._close_timeout + 1.0, "close")

    # --- awaitable twins ------------------------------------------------------------------------------------------

    async def asend(self, data: str | bytes | dict[str, Any] | list[Any], *, timeout: float = 5.0) -> None:
        frame = as_frame(data)
        self._require_open("send")
        try:
            await self._outbox.aput(frame, timeout)
        except OutboxFull:
            raise backed_up_error(self._who, self._outbox.limit, timeout) from None
        except RuntimeError:
            raise self._gone("send") from None

    async def areceive(self, timeout: float = 5.0) -> Message:
        try:
            return await self._inbox.aget(timeout)
        except InboxClosed:
            raise self._closed_error("receive") from None
        except TimeoutError:
            raise TimeoutError(f"{self._who}: no message within {timeout} s") from None

    async def areceive_json(self, timeout: float = 5.0) -> Any:
        return decode_json(await self.areceive(timeout), self._who)

    async def aping(self, timeout: float = 5.0) -> float:
        return await self._calls.await_(self._ping(timeout), "ping")

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        if self.closed or self._cancel_connecting():
            return
        await self._calls.await_(self.close_connection(code, reason), "close")

    # --- fire and forget (widget callbacks) ------------------------------------------------------------------------

    def send_nowait(self, data: str | bytes | dict[str, Any] | list[Any]) -> None:
        """Schedule a send and return at once; a failure becomes an "error" log entry."""
        try:
            frame = as_frame(data)
            self._require_open("send")
            self._outbox.put_nowait(frame)
        except (TypeError, SessionError) as exc:
            self._emit_soon("event", "error", str(exc))
        except OutboxFull:
            self._emit_soon("event", "error", f"send failed: {self._outbox.limit} frames are still waiting to be "
                                              "written; this one was dropped")
        except RuntimeError:
            self.abandon()
            self._emit("event", "error", "send failed: the playground server is stopped")

    def ping_nowait(self) -> None:
        self._schedule(self._ping(5.0), "ping")

    def close_nowait(self, code: int = 1000, reason: str = "") -> None:
        if self.closed or self._cancel_connecting():
            return
        self._schedule(self.close_connection(code, reason), "close")

    def _cancel_connecting(self) -> bool:
        """If the handshake is still under way: cancel it, and the session is closed now. True if it was."""
        if self.state != "connecting":
            return False
        self.state = "closed"
        self.close_code, self.close_reason = None, "closed while connecting"
        self._emit_soon("event", "close", "closed while connecting (the attempt was cancelled)")
        self._inbox.close()
        task = self._connecting
        if task is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nothing left to cancel
                self._loop.call_soon_threadsafe(task.cancel)
        return True

    # --- work done on the owner loop ------------------------------------------------------------------------------

    async def open_connection(self, timeout: float) -> None:
        """Connect, on the owner loop (the Playground calls this). Failure: state "closed", a "denied"/"error"
        entry, and :class:`~.connection.DialFailed`."""
        self._connecting = asyncio.current_task()
        if self.state == "closed":  # closed before the loop got here
            return
        try:
            conn = await self._dial(self.url, headers={**self.headers, SESSION_HEADER: self.id},
                                    subprotocols=self.subprotocols, token=self._token, timeout=timeout,
                                    max_size=self._max_size, close_timeout=self._close_timeout)
        except DialFailed as exc:
            if exc.kind == "denied":
                self.refused_status, self.refusal = exc.status, exc.text
                self._fail("denied", exc.log_text, refused=True)
            else:
                self._fail("error", exc.text)
            raise
        except asyncio.CancelledError:
            if self.state != "closed":  # not cancelled by close(), which has logged it
                self._fail("error", "connecting was cancelled")
            raise
        finally:
            self._connecting = None
        self._conn = conn
        if self.state == "closed":  # close() came while the handshake finished: honour it
            conn.start(lambda message, size: None, lambda code, reason, by_us: None)
            await conn.close(1000, "closed while connecting")
            return
        self.accepted_subprotocol = conn.subprotocol
        self.state = "open"
        note = f" (subprotocol {self.accepted_subprotocol})" if self.accepted_subprotocol else ""
        self._emit("event", "open", f"connected to {self.url}{note}")
        self._flush_early()
        conn.start(self._received, self._ended)

    def _received(self, message: Message, size: int) -> None:
        """A message arrived: log it and queue it for ``receive()``."""
        self._emit("received", "text" if isinstance(message, str) else "binary", message, size)
        if dropped := self._inbox.put(message):
            self.unread_dropped += dropped
            self._emit("event", "dropped", f"{self.unread_dropped} unread messages dropped so far: receive() did "
                       "not keep up (max_unread / max_unread_bytes keep the newest)")

    def _ended(self, code: int, reason: str, by_us: bool) -> None:
        if self.state == "closed":
            return
        self.close_code, self.close_reason, self.state = code, reason, "closed"
        self._emit("sent" if by_us or self._closed_by_us else "received", "close", f"{code} {reason}".strip())
        self._inbox.close()

    def _fail(self, kind: Kind, text: str, *, refused: bool = False) -> None:
        self.state = "closed"
        self.close_code, self.close_reason = (None, "") if refused else (1006, text)
        self._emit("event", kind, text)
        self._flush_early()
        self._inbox.close()

    def _flush_early(self) -> None:
        early, self._early = self._early, []
        for kind, text in early:
            self._emit("event", kind, text)

    def _write(self, frame: Message) -> Awaitable[None]:
        """The outbox's writer, on the owner loop: the frame is logged as it goes out (so its entry precedes the
        reply's), then written."""
        conn = self._require_open("send")
        self._emit("sent", *describe_message(frame))
        return conn.send(frame)

    def _write_failed(self, exc: Exception, unsent: int) -> None:
        reason = self._closed_error("send") if isinstance(exc, ConnectionLost) else exc
        more = f" ({unsent} more queued frame(s) dropped)" if unsent else ""
        self._emit("event", "error", f"send failed: {reason}{more}")

    async def _ping(self, timeout: float) -> float:
        conn = self._require_open("ping")
        self._emit("sent", "ping", "ping")
        try:
            rtt = await asyncio.wait_for(conn.ping(), timeout)
        except ConnectionLost:
            raise self._closed_error("ping") from None
        except TimeoutError:
            raise TimeoutError(f"{self._who}: no pong within {timeout} s") from None
        self._emit("received", "pong", f"{rtt * 1000:.1f} ms")
        return rtt

    async def close_connection(self, code: int, reason: str) -> None:
        """Close with ``code``/``reason`` on the owner loop, after the frames already queued (idempotent)."""
        if self.state in ("closed", "closing") or self._conn is None:
            return
        self._closed_by_us = True
        with contextlib.suppress(TimeoutError):  # frames queued before close() go out before the close frame
            await asyncio.wait_for(self._outbox.drained(), self._close_timeout)
        if self.state != "open":
            return
        self.state = "closing"
        await self._conn.close(code, reason)

    def _require_open(self, action: str) -> Connection:
        if self.state == "connecting" or self._conn is None:
            raise SessionError(f"{self._who} cannot {action}: it is not connected yet")
        if self.state != "open":
            raise self._closed_error(action)
        return self._conn

    def _closed_error(self, action: str) -> SessionClosedError:
        refusal = self.refusal if self.refused_status is not None else None
        return closed_error(self._who, action, refusal, self.close_code, self.close_reason, self._closed_by_us,
                            self.handler_error)

    # --- the playground's side --------------------------------------------------------------------------------
    # A small internal API, not for cells: the Playground opens, closes and abandons sessions on the owner loop,
    # and the server reports to the session on the other end of a connection (see .peer). Everything else with a
    # leading underscore is this class's own.

    def on_owner_loop(self) -> bool:
        """Whether this code runs on the session's owner loop (where blocking calls would wait for themselves)."""
        return self._calls.on_loop()

    def abandon(self) -> None:
        """The owner loop is gone: whatever was open is closed now."""
        if self.state != "closed":
            self.state = "closed"
            self.close_code = self.close_code or 1006
            self._emit("event", "close", f"{self.close_code} the playground server stopped")
            self._inbox.close()

    def release(self) -> int:
        """Free the log (one entry says how much went) and, once closed, the unread messages; the bytes freed."""
        freed = self._log.release()
        if self.closed:
            self.unread_dropped += self._inbox.clear()
        return freed

    def trim_log(self, target_bytes: int) -> int:
        return self._log.trim(target_bytes)

    # --- plumbing -----------------------------------------------------------------------------------------------

    def _emit(self, direction: Direction, kind: Kind, data: str | bytes | None, size: int = 0) -> None:
        """On the owner loop: append an entry to the log and hand it to the subscribers, in one step."""
        self._subscribers.publish(self._log.add(LogEntry(time.time(), direction, kind, data, size)))

    def _emit_soon(self, direction: Direction, kind: Kind, data: str | None) -> None:
        """From anywhere: :meth:`_emit` on the owner loop."""
        self._on_loop(lambda: self._emit(direction, kind, data))

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the owner loop (now, if this is it; now anyway if the loop is gone)."""
        self._calls.run_soon(fn)

    def _gone(self, action: str) -> Exception:
        """The owner loop is gone (the caller's exception for ``action``)."""
        self.abandon()
        return self._closed_error(action)

    def _schedule(self, coro: Coroutine[Any, Any, Any], action: str) -> None:
        try:
            self._calls.fire(coro, lambda exc: self._emit("event", "error", f"{action} failed: {exc}"))
        except LoopClosed:
            self.abandon()
            self._emit("event", "error", f"{action} failed: the playground server is stopped")
