"""``ISocket``: one hub connection as the channels see it — envelopes with a per-connection ``seq``, and an outbox.

Fan-out must never wait for a slow client: one client that reads slowly would hold up every other member of the
room. So once the hub has accepted a connection, envelopes go into that connection's **outbox**, a bounded queue
drained by its own writer task, and ``send_envelope`` returns at once. When a client falls so far behind that its
outbox holds ``max_send_queue`` envelopes, the hub closes *that* connection with **1013 (Try Again Later)** and a
reason that says so; everyone else carries on. Nothing is dropped silently: the close tells the client, and the
server logs a warning naming the connection and the setting.

Sending costs no task switch while the client keeps up: an envelope for an idle outbox is handed to the server at
once, and only if the server has to wait for the client (its write buffer is full) does the rest of that send, and
everything queued behind it, move to the writer task.

An ``ISocket`` made by hand (``ISocket(websocket)``) has no outbox until ``start_outbox``: its sends are awaited
directly, like lihil's. One over a websocket-like object that has no ASGI ``send`` (only ``send_json`` and
``send_bytes``, as lihil's tests build them) never has one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import msgspec
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ..errors import SockRejectedError
from .protocol import ErrorPayload, MessageEnvelope, decode_envelope, error_payload, reply_payload

logger = logging.getLogger("lihil.socket")

MAX_SEND_QUEUE = 1024
"""Envelopes that may wait in one connection's outbox; one more closes that connection with 1013."""
CLOSE_TIMEOUT = 5.0
"""Seconds a close (and the flush of the outbox before it) may take before the hub stops waiting for the client."""
TRY_AGAIN_LATER = 1013

_encode = msgspec.json.Encoder().encode


class ISocket:
    """A hub connection: Starlette's ``WebSocket`` plus envelopes, ``seq`` numbering and (when served) an outbox.

    ``binary`` says which frame type envelopes go out in; the hub sets it from the frames the client sends.
    """

    def __init__(self, websocket: Any, *, send: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        self._ws = websocket
        self._asgi_send = send  # the server's own ASGI send, if given: the outbox writes through it directly
        self._seq = 0
        self.binary = False
        self._outbox: _Outbox | None = None

    # --- the underlying connection ------------------------------------------------------------------------------

    @property
    def websocket(self) -> Any:
        return self._ws

    @property
    def application_state(self) -> WebSocketState:
        return self._ws.application_state

    @property
    def client_state(self) -> WebSocketState:
        return self._ws.client_state

    @property
    def dual_connected(self) -> bool:
        return bool(self.application_state == WebSocketState.CONNECTED
                    and self.client_state == WebSocketState.CONNECTED)

    @property
    def scope(self) -> Any:
        return self._ws.scope

    @property
    def state(self) -> Any:
        return self._ws.state

    @property
    def headers(self) -> Any:
        return self._ws.headers

    @property
    def query_params(self) -> Any:
        return self._ws.query_params

    @property
    def path_params(self) -> Any:
        return self._ws.path_params

    @property
    def url(self) -> Any:
        return self._ws.url

    @property
    def seq(self) -> int:
        """How many envelopes this connection has sent so far (the last ``seq`` used)."""
        return self._seq

    async def accept(self, subprotocol: str | None = None) -> None:
        await self._ws.accept(subprotocol)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close after the envelopes already queued have gone out (waiting at most ``CLOSE_TIMEOUT``)."""
        outbox, self._outbox = self._outbox, None
        if outbox is not None:
            await outbox.flush_and_stop()
        await self._ws.close(code, reason or "")

    async def send_json(self, data: Any) -> None:
        await self._ws.send_json(data)

    async def send_text(self, data: str) -> None:
        await self._ws.send_text(data)

    async def send_bytes(self, data: bytes) -> None:
        await self._ws.send_bytes(data)

    async def receive_json(self) -> Any:
        return await self._ws.receive_json()

    async def receive_text(self) -> str:
        return await self._ws.receive_text()

    async def receive_bytes(self) -> bytes:
        return await self._ws.receive_bytes()

    async def receive_message(self) -> MessageEnvelope:
        """The next envelope, from a text or a binary frame (raises ``InvalidMessage`` for one that is not)."""
        receive = getattr(self._ws, "receive", None)
        if receive is None:  # a websocket-like object with only lihil's receive_bytes (binary frames only)
            return decode_envelope(await self._ws.receive_bytes())
        message = await receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        data = message.get("bytes")
        return decode_envelope(data if data is not None else message.get("text", ""))

    # --- envelopes ----------------------------------------------------------------------------------------------

    async def send_envelope(
        self, topic: str, event: str, payload: Any = None, *, ref: str | None = None,
        join_ref: str | None = None, event_id: str | None = None,
    ) -> None:
        """Send one envelope with the next ``seq``. Served by a hub, this only queues it (see the module doc)."""
        self._seq += 1
        envelope = MessageEnvelope(topic, event, payload, ref, join_ref, event_id, self._seq)
        outbox = self._outbox
        if outbox is not None:
            data = _encode(envelope)
            outbox.put({"type": "websocket.send", "bytes": data} if self.binary
                       else {"type": "websocket.send", "text": data.decode()})
        elif self.binary:
            await self._ws.send_bytes(_encode(envelope))
        else:  # made by hand: through the websocket's own send_json (JSON text), as lihil does
            await self._ws.send_json(msgspec.json.decode(_encode(envelope)))

    async def reply(
        self, topic: str, payload: Any, event: str = "reply", *, ref: str | None = None, join_ref: str | None = None
    ) -> None:
        await self.send_envelope(topic, event, payload, ref=ref, join_ref=join_ref)

    async def send_reply(
        self, topic: str, response: Any = None, *, ref: str | None = None, join_ref: str | None = None
    ) -> None:
        await self.reply(topic, reply_payload(response), ref=ref, join_ref=join_ref)

    async def send_error(
        self, topic: str, code: str, *, message: str | None = None, detail: Any = None, ref: str | None = None,
        join_ref: str | None = None,
    ) -> None:
        payload: ErrorPayload = error_payload(code, message, detail)
        await self.reply(topic, payload, ref=ref, join_ref=join_ref)

    async def emit(self, topic: str, payload: Any, event: str = "emit") -> None:
        """An envelope to this connection only."""
        await self.send_envelope(topic, event, payload)

    async def allow_if(self, condition: bool, code: int = 4403, reason: str = "Forbidden") -> None:
        """Reject the connection (close ``code``) unless ``condition``; meant for ``on_connect``."""
        if not condition:
            await self._ws.close(code, reason)
            raise SockRejectedError("connection rejected")

    # --- the outbox (used by the hub) -----------------------------------------------------------------------------

    def start_outbox(self, max_send_queue: int = MAX_SEND_QUEUE, close_timeout: float = CLOSE_TIMEOUT) -> bool:
        """From now on, envelopes are queued and written by a task of their own (the hub calls this on accept).

        The outbox writes ASGI messages, so it needs the server's ``send`` (given to the constructor) or a Starlette
        ``WebSocket``'s. Over a websocket-like object with only ``send_json``/``send_bytes`` there is none: sends
        stay awaited one by one, and this returns False.
        """
        send = self._asgi_send or getattr(self._ws, "send", None)
        if send is None:
            return False
        self._outbox = _Outbox(self, send, max_send_queue, close_timeout)
        return True

    async def stop_outbox(self) -> None:
        """Stop writing; what is still queued is not sent (the connection is going away)."""
        outbox, self._outbox = self._outbox, None
        if outbox is not None:
            await outbox.stop()


Message = dict[str, Any]
_GONE = (WebSocketDisconnect, OSError, RuntimeError)  # the client left, or the socket is already closed


class _Outbox:
    """A bounded queue of ASGI send messages, written in order: at once while the client keeps up, else by a task."""

    def __init__(self, socket: ISocket, send: Callable[[Message], Awaitable[None]], limit: int,
                 close_timeout: float) -> None:
        self._ws, self._send = socket.websocket, send
        self._limit, self._close_timeout = limit, close_timeout
        self._queue: deque[Message | asyncio.Future[None]] = deque()
        self._loop = asyncio.get_running_loop()
        self._writer: asyncio.Task[None] | None = None  # set while a send waits for the client
        self._open = True
        self._overflowed = False

    def put(self, message: Message) -> None:
        if not self._open:
            return  # stopped: the connection is closing or gone, there is nobody to send to
        if self._writer is not None:
            if len(self._queue) >= self._limit:
                self._overflow()
            else:
                self._queue.append(message)
            return
        coro: Any = self._send(message)
        if not asyncio.iscoroutine(coro):  # a middleware's send may return another kind of awaitable
            coro = _awaited(coro)
        try:
            waiting_on = coro.send(None)  # run the send up to its first wait; usually it finishes right here
        except StopIteration:
            return
        except _GONE:
            self._open = False
            return
        self._writer = self._loop.create_task(self._finish(coro, waiting_on))

    async def _finish(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        """Complete the send that had to wait, then send what queued up meanwhile, then go idle."""
        queue = self._queue
        try:
            await _resume(coro, waiting_on)
            while queue:
                item = queue.popleft()
                if isinstance(item, asyncio.Future):  # a flush marker: everything before it has gone out
                    if not item.done():
                        item.set_result(None)
                else:
                    await self._send(item)
        except _GONE:
            self._open = False
            for item in queue:
                if isinstance(item, asyncio.Future) and not item.done():
                    item.set_result(None)
            queue.clear()
        finally:
            self._writer = None

    def _overflow(self) -> None:
        if self._overflowed:
            return
        self._overflowed = True
        waiting = len(self._queue)
        reason = f"send queue full: {waiting} envelopes waiting (max_send_queue={self._limit})"
        client = self._ws.scope.get("client") if hasattr(self._ws, "scope") else None
        logger.warning("closing hub connection %s with 1013: %s; the client reads too slowly", client, reason)
        _background.add(task := self._loop.create_task(self._close_overflowed(reason)))
        task.add_done_callback(_background.discard)

    async def _close_overflowed(self, reason: str) -> None:
        await self.stop()
        try:
            await asyncio.wait_for(self._ws.close(TRY_AGAIN_LATER, reason), self._close_timeout)
        except (TimeoutError, *_GONE):
            pass  # the client does not even read the close frame; the server's keepalive will drop it

    async def flush_and_stop(self) -> None:
        """Let the queued envelopes go out (bounded by the close timeout), then stop."""
        if self._writer is not None:
            flushed: asyncio.Future[None] = self._loop.create_future()
            self._queue.append(flushed)
            try:
                await asyncio.wait_for(asyncio.shield(flushed), self._close_timeout)
            except TimeoutError:
                logger.warning("closing hub connection: %d envelopes still queued after %.1f s (close_timeout); "
                               "not sent", sum(1 for i in self._queue if isinstance(i, dict)), self._close_timeout)
        await self.stop()

    async def stop(self) -> None:
        self._open = False
        self._queue.clear()
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done():
            writer.cancel()
            try:
                await writer
            except asyncio.CancelledError:
                pass


_background: set[asyncio.Task[None]] = set()


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class _Yield:
    """Awaiting it yields ``value`` to the event loop once, as the coroutine that produced it did."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self.value)


async def _resume(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """Drive ``coro`` to its end from inside this task, the way a task would have; it last yielded ``waiting_on``.

    (A send is started outside any task so that, in the common case, it completes with no task switch at all.)
    """
    while True:
        try:
            value = await _Yield(waiting_on)
        except BaseException as exc:  # cancellation goes into the send
            try:
                waiting_on = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                waiting_on = coro.send(value)
            except StopIteration as done:
                return done.value
