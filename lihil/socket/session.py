"""One hub connection from handshake to close: hooks, the message loop, joins, exits and replies.

The order of things, per connection:

1. ``on_connect(socket)`` runs before the handshake is accepted, so it can reject (``await socket.allow_if(...)``).
2. Accept; from now on envelopes go through the connection's outbox (see :mod:`lihil.socket.isocket`).
3. Each frame, text or binary, is one envelope; ``join``/``exit`` are the hub's, every other event is the channel's.
   A frame that is not an envelope gets an ``invalid_message`` error reply; the connection stays open.
4. On the way out (the client left, or the server failed): each joined channel's tasks are cancelled and
   ``on_exit`` runs, then ``on_disconnect(socket)``, then the close (1000, or 1011 if the server failed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import msgspec
from ididi import Resolver
from starlette.websockets import WebSocketDisconnect

from ..errors import SockRejectedError
from .bus import BusUnavailableError, SocketBus
from .channel import ChannelBase, topic_template
from .dispatcher import ChannelDispatcher
from .isocket import CLOSE_TIMEOUT, MAX_SEND_QUEUE, ISocket
from .protocol import (
    EVENT_NOT_FOUND,
    InvalidMessage,
    MessageEnvelope,
    decode_envelope,
    error_payload,
    is_reply_payload,
    reply_payload,
)

logger = logging.getLogger("lihil.socket")

SocketHook = Callable[[ISocket], Awaitable[Any]]
ReplyFrames = Literal["match", "text"]


@dataclass(frozen=True, slots=True)
class ChannelFactory:
    """A registered channel class and its topic pattern."""

    topic_pattern: Any
    channel_type: type[ChannelBase]

    def extra_topic_params(self, topic: str) -> dict[str, str] | None:
        found = self.topic_pattern.match(topic)
        return found.groupdict() if found else None


class SocketSession:
    """Serves one connection for a hub. ``async with session: await session.run()``."""

    def __init__(
        self, socket: ISocket, bus: SocketBus, resolver: Resolver,
        channel_factories: Sequence[ChannelFactory] | None = None, connect_cb: SocketHook | None = None,
        disconnect_cb: SocketHook | None = None, *, channel_fractories: Sequence[ChannelFactory] | None = None,
        dispatcher: ChannelDispatcher | None = None, reply_frames: ReplyFrames = "text",
        max_send_queue: int = MAX_SEND_QUEUE, close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self.socket, self.bus, self._resolver = socket, bus, resolver
        self._factories = _factories(channel_factories, channel_fractories)
        self._on_connect, self._on_disconnect = connect_cb, disconnect_cb
        self._dispatcher = dispatcher or ChannelDispatcher()
        self._match_frames = reply_frames == "match"
        self._max_send_queue, self._close_timeout = max_send_queue, close_timeout
        self._subscriptions: dict[str, ChannelBase] = {}
        self.rejected = False
        self._outbox = False  # whether __aenter__ started the socket's outbox (so __aexit__ stops it)

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def __aenter__(self) -> SocketSession:
        try:
            if self._on_connect is not None:
                await self._on_connect(self.socket)
        except SockRejectedError:
            self.rejected = True  # allow_if has closed the handshake; __aexit__ still runs on_disconnect
            return self
        except BaseException:
            if self._on_disconnect is not None:
                await self._on_disconnect(self.socket)
            raise
        await self.socket.accept()
        self._outbox = self.socket.start_outbox(self._max_send_queue, self._close_timeout)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        unexpected = exc is not None and not isinstance(exc, WebSocketDisconnect | SockRejectedError)
        if unexpected and self.socket.dual_connected:
            await self._stop_outbox()  # what is still queued is not sent: the close says the server failed
            await self.socket.close(1011, "Internal Server Error")
        try:
            for channel in list(self._subscriptions.values()):
                await self._close_channel(channel)
            self._subscriptions.clear()
        finally:
            if self._on_disconnect is not None:
                await self._on_disconnect(self.socket)
        if not unexpected and self.socket.dual_connected:
            await self.socket.close()
        else:
            await self._stop_outbox()
        return isinstance(exc, WebSocketDisconnect | SockRejectedError)

    async def _stop_outbox(self) -> None:
        if self._outbox:
            self._outbox = False
            await self.socket.stop_outbox()

    async def run(self) -> None:
        """Handle frames until the client leaves."""
        if self.rejected:
            return
        ws, socket = self.socket.websocket, self.socket
        receive = getattr(ws, "receive", None)
        while True:
            if receive is None:
                # A websocket-like object with only receive_bytes (lihil's own interface): binary frames, and its
                # WebSocketDisconnect ends the session as a client's leaving does.
                data: bytes | None = await ws.receive_bytes()
                text = ""
            else:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                data, text = message.get("bytes"), message.get("text") or ""
            if self._match_frames:
                socket.binary = data is not None
            try:
                env = decode_envelope(data if data is not None else text)
            except InvalidMessage as bad:
                await socket.send_error(bad.topic or "", "invalid_message", detail={"error": bad.reason},
                                        ref=bad.ref)
                continue
            await self.handle_message(env, self._resolver)
            # Yield once per message: ws.receive() does not suspend while frames are buffered, and a burst of
            # publishes must not fill the members' outboxes before their writers have had a turn.
            await asyncio.sleep(0)

    # --- one envelope -----------------------------------------------------------------------------------------

    async def handle_message(self, msg: MessageEnvelope, resolver: Resolver | None = None) -> None:
        topic, event = msg.topic, msg.event
        channel = self._subscriptions.get(topic)
        if event == "join":
            if channel is None:
                await self._join(msg, resolver or self._resolver)
            else:
                await self.socket.send_reply(
                    topic, {"topic": topic, "already_joined": True, "replay_supported": self._replays(channel)},
                    ref=msg.ref, join_ref=channel.join_ref or msg.join_ref or msg.ref)
            return
        if channel is None:
            if self._find(topic):
                await self.socket.send_error(topic, "not_joined", message=f"topic {topic!r} not joined: send a join "
                                             "for it first", ref=msg.ref, join_ref=msg.join_ref)
            else:
                await self._topic_not_found(msg)
            return
        join_ref = msg.join_ref or channel.join_ref
        if event == "exit":
            del self._subscriptions[topic]
            await self._close_channel(channel)
            await self.socket.send_reply(topic, {"topic": topic}, ref=msg.ref, join_ref=join_ref)
            return
        try:
            result = await self._dispatcher.dispatch(channel, msg)
        except msgspec.ValidationError as exc:
            await self.socket.send_error(topic, "invalid_payload", message=f"invalid payload for event {event!r} "
                                         f"on {topic}: {exc}", detail={"error": str(exc)}, ref=msg.ref,
                                         join_ref=join_ref)
            return
        except BusUnavailableError as exc:
            logger.warning("event %r on %s: %s", event, topic, exc)
            await self.socket.send_error(topic, "bus_unavailable", detail={"error": str(exc)},
                                         ref=msg.ref, join_ref=join_ref)
            return
        except Exception as exc:
            logger.exception("handler for event %r on %s raised", event, topic)
            await self.socket.send_error(topic, "internal_error", detail={"error": str(exc)},
                                         ref=msg.ref, join_ref=join_ref)
            return
        if result is None:
            return
        if result is EVENT_NOT_FOUND:
            result = self._event_not_found(channel, event)
        payload = result if is_reply_payload(result) else reply_payload(result)
        await self.socket.reply(topic, payload, ref=msg.ref, join_ref=join_ref)

    async def _topic_not_found(self, msg: MessageEnvelope) -> None:
        served = ", ".join(topic_template(f.topic_pattern) for f in self._factories)
        where = f"this hub serves {served}" if served else "this hub has no channels"
        await self.socket.send_error(msg.topic, "topic_not_found", message=f"topic {msg.topic!r} not found ({where})",
                                     ref=msg.ref, join_ref=msg.join_ref)

    def _event_not_found(self, channel: ChannelBase, event: str) -> Any:
        name = type(channel).__qualname__
        events = ", ".join(sorted(self._dispatcher.validate(type(channel)).handlers))
        handles = f"{name} handles: {events}" if events else f"{name} handles no events"
        return error_payload("event_not_found", f"event {event!r} not found on {channel.resolved_topic} ({handles})")

    def _find(self, topic: str) -> tuple[ChannelFactory, dict[str, str]] | None:
        for factory in self._factories:
            params = factory.extra_topic_params(topic)
            if params is not None:
                return factory, params
        return None

    def _replays(self, channel: ChannelBase) -> bool:
        return self._dispatcher.validate(type(channel)).replays or channel.bus.keeps_history

    async def _join(self, msg: MessageEnvelope, resolver: Resolver) -> None:
        topic = msg.topic
        found = self._find(topic)
        if found is None:
            await self._topic_not_found(msg)
            return
        factory, params = found
        join_ref = msg.join_ref or msg.ref
        try:
            channel = await self._build(factory.channel_type, topic, resolver)
        except Exception as exc:
            logger.exception("could not build channel %s for %s", factory.channel_type.__qualname__, topic)
            await self.socket.send_error(topic, "internal_error", detail={"error": str(exc)},
                                         ref=msg.ref, join_ref=msg.join_ref)
            return
        channel.set_join_ref(join_ref)
        replays = self._replays(channel)
        last_event_id = msg.payload.get("last_event_id") if isinstance(msg.payload, dict) else None
        if replays and last_event_id is not None:
            channel._held = []  # live updates wait until the replay has gone out, so the client sees them in order
        self._subscriptions[topic] = channel
        try:
            await channel.on_join(**self._dispatcher.join_kwargs(channel, params))
        except Exception as exc:
            self._subscriptions.pop(topic, None)
            await self._close_channel(channel)
            rejected = isinstance(exc, SockRejectedError)
            if not rejected:
                logger.exception("%s.on_join raised for %s", type(channel).__qualname__, topic)
            code = "join_rejected" if rejected else "bus_unavailable" if isinstance(
                exc, BusUnavailableError) else "internal_error"
            if self.socket.dual_connected:
                # No join happened, so no join_ref of its own: the client's, if it sent one.
                said = f"join of {topic!r} rejected: {exc}" if rejected and str(exc) else None
                await self.socket.send_error(topic, code, message=said, detail={"error": str(exc)}, ref=msg.ref,
                                             join_ref=msg.join_ref)
            return
        await self.socket.send_reply(
            topic, {"topic": topic, "already_joined": False, "replay_supported": replays},
            ref=msg.ref, join_ref=join_ref)
        if replays:
            await self._replay(channel, msg, last_event_id)

    async def _replay(self, channel: ChannelBase, msg: MessageEnvelope, last_event_id: Any) -> None:
        sent: set[str] = set()
        try:
            if last_event_id is not None and not isinstance(last_event_id, str):
                raise ValueError(f"payload.last_event_id must be a str event id, got {last_event_id!r}")
            for env in await channel.replay_after(last_event_id):
                await self.socket.send_envelope(channel.resolved_topic, env.event, env.payload, ref=env.ref,
                                                join_ref=env.join_ref or channel.join_ref, event_id=env.event_id)
                if env.event_id is not None:
                    sent.add(env.event_id)
        except Exception as exc:
            logger.warning("replay on %s after %r failed: %s", channel.resolved_topic, last_event_id, exc)
            await self.socket.send_error(channel.resolved_topic, "replay_failed", detail={"error": str(exc)},
                                         ref=msg.ref, join_ref=channel.join_ref)
        finally:
            held, channel._held = channel._held, None
            for env in held or ():
                if env.event_id is None or env.event_id not in sent:
                    await channel.on_update(env)

    async def _build(self, cls: type[ChannelBase], topic: str, resolver: Resolver) -> ChannelBase:
        if cls.__init__ is ChannelBase.__init__:
            return cls(self.socket, topic=topic, bus=self.bus, resolver=resolver)
        return await resolver.aresolve(cls, socket=self.socket, topic=topic, bus=self.bus, resolver=resolver)

    async def _close_channel(self, channel: ChannelBase) -> None:
        try:
            await channel.aclose()
        except Exception:
            logger.exception("closing channel %s on %s raised", type(channel).__qualname__, channel.resolved_topic)


def _factories(given: Any, alias: Any) -> tuple[ChannelFactory, ...]:
    """``channel_factories=``, or lihil 0.2.41's spelling ``channel_fractories=``: exactly one, a sequence of
    :class:`ChannelFactory`."""
    if given is not None and alias is not None:
        raise TypeError("SocketSession: pass channel_factories= or its alias channel_fractories= (lihil 0.2.41's "
                        "spelling), not both")
    name = "channel_factories" if alias is None else "channel_fractories"
    factories = given if alias is None else alias
    if not isinstance(factories, Sequence) or isinstance(factories, str | bytes) or not all(
            isinstance(f, ChannelFactory) for f in factories):
        raise TypeError(f"SocketSession: {name}= expects a sequence of ChannelFactory (e.g. a hub's "
                        f"_channel_factories), got {factories!r}")
    return tuple(factories)
