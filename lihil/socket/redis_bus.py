"""``RedisSocketBus``: rooms that span processes, over Redis pub/sub (redis-py's asyncio client).

    hub = SocketHub("/ws", bus=RedisSocketBus("redis://127.0.0.1:6379/0"))
    hub = SocketHub("/ws", bus=RedisSocketBus(url, history=100))   # + replay of the last 100 events per topic

Every process that serves the hub publishes a topic's envelopes to the Redis channel ``lihil:<topic>`` and
subscribes to the channels of the topics it has members in; each process then fans out to its own members. An
envelope published in one process reaches the members connected to every other (and to itself, through Redis, so
all members see one order).

* **Connections**: one subscriber connection per bus, process and event loop, shared by all topics (and by every
  hub given the same bus), plus a small command pool for PUBLISH (see :mod:`lihil.socket.redis_link`). The first use connects; ``await bus.aclose()``
  disconnects.
* **Faults**: Redis restarts are survived by themselves (see the link). Afterwards each member gets a ``bus_resumed``
  envelope (``{"gap_seconds", "replay", "detail"}``): messages published while its process was cut off from Redis may
  not have reached it, and it is told so rather than left to guess. While Redis is down, ``publish`` raises :class:`~lihil.socket.bus.BusUnavailableError` within
  ``command_timeout`` — the hub turns that into a ``bus_unavailable`` error reply to the sender. Nothing is lost
  silently, and no handler waits forever.
* **History** (``history=N``): each publish also appends the envelope to the Redis Stream ``lihil:history:<topic>``
  (trimmed to the last N) in the same atomic step, and fanned-out envelopes carry the stream id as ``event_id``.
  A client that rejoins with ``{"event": "join", "payload": {"last_event_id": "<id>"}}`` is sent what it missed; if
  some of it was already trimmed, a ``replay_truncated`` envelope comes first and says so.
* **Secrets**: the URL's password never appears in logs, errors or ``repr`` (``redis://user:***@host``).
"""

from __future__ import annotations

import asyncio
import re
import weakref
from typing import Any

import msgspec

from .bus import BusUnavailableError, SocketBus, Subscriber, deliver, drop_subscriber, logger
from .protocol import MessageEnvelope
from .redis_link import LinkSettings, RedisLink, redact_url

COMMAND_TIMEOUT = 5.0
"""Seconds one Redis command (publish, subscribe, history) may take before it fails with BusUnavailableError."""
CONNECT_TIMEOUT = 5.0
"""Seconds to open a TCP connection to Redis."""
RECONNECT_BACKOFF = 0.1
"""First wait before reconnecting after the subscriber connection broke; doubles after each failure..."""
RECONNECT_BACKOFF_MAX = 5.0
"""...up to this many seconds."""
HEALTH_CHECK_INTERVAL = 10.0
"""An idle subscriber connection pings Redis this often, to notice a server that vanished without a word."""
MAX_CONNECTIONS = 8
"""Connections in the command pool (PUBLISH and history commands) per event loop."""
PREFIX = "lihil:"

_STREAM_ID = re.compile(r"^\d+(-\d+)?$")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(MessageEnvelope).decode

# XADD and PUBLISH in one step: stream order is delivery order, and every fanned-out envelope knows its id.
# Before trimming, the id of the newest entry about to be trimmed is kept (KEYS[3]), so a replay can tell a client
# exactly whether it missed events that are gone.
_PUBLISH_WITH_HISTORY = """
local keep = tonumber(ARGV[2])
local excess = redis.call('XLEN', KEYS[1]) + 1 - keep
if excess > 0 then
  local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  redis.call('SET', KEYS[3], gone[#gone][1])
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', keep, '*', 'e', ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
return id
"""


class RedisSocketBus(SocketBus):
    """A :class:`SocketBus` on Redis. Every limit and timeout is a keyword argument with a default (see above)."""

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", *, history: int = 0, prefix: str = PREFIX,
        command_timeout: float = COMMAND_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT,
        reconnect_backoff: float = RECONNECT_BACKOFF, reconnect_backoff_max: float = RECONNECT_BACKOFF_MAX,
        health_check_interval: float = HEALTH_CHECK_INTERVAL, max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"RedisSocketBus(url): expected a redis://host:port/db URL, got {redact_url(str(url))!r}")
        if not isinstance(history, int) or history < 0:
            raise ValueError(f"RedisSocketBus(history=): expected an int >= 0 (events kept per topic), got {history!r}")
        for name, value in (("command_timeout", command_timeout), ("connect_timeout", connect_timeout),
                            ("reconnect_backoff", reconnect_backoff), ("reconnect_backoff_max", reconnect_backoff_max),
                            ("health_check_interval", health_check_interval)):
            if not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"RedisSocketBus({name}=): expected seconds > 0, got {value!r}")
        if reconnect_backoff_max < reconnect_backoff:
            raise ValueError(f"RedisSocketBus: reconnect_backoff_max ({reconnect_backoff_max}) must be >= "
                             f"reconnect_backoff ({reconnect_backoff})")
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"RedisSocketBus(max_connections=): expected an int >= 1, got {max_connections!r}")
        self.url, self.history, self.prefix = url, history, prefix
        self._settings = LinkSettings(
            command_timeout=command_timeout, connect_timeout=connect_timeout, reconnect_backoff=reconnect_backoff,
            reconnect_backoff_max=reconnect_backoff_max, health_check_interval=health_check_interval,
            max_connections=max_connections)
        self._links: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisLink] = weakref.WeakKeyDictionary()
        self._subs: dict[str, set[Subscriber]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._scripts: weakref.WeakKeyDictionary[RedisLink, Any] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        extra = f", history={self.history}" if self.history else ""
        return f"RedisSocketBus({redact_url(self.url)!r}{extra})"

    @property
    def keeps_history(self) -> bool:
        return self.history > 0

    @property
    def link(self) -> RedisLink:
        """This event loop's connections to Redis (made on first use)."""
        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is None:
            link = self._links[loop] = RedisLink(self.url, self._settings, self._on_message, self._channels,
                                                 self._on_resumed)
        return link

    # --- SocketBus --------------------------------------------------------------------------------------------

    async def subscribe(self, topic: str, callback: Subscriber) -> None:
        callbacks = self._subs.setdefault(topic, set())
        first = not callbacks
        callbacks.add(callback)
        if not first:
            return
        try:
            await self.link.subscribe(self.prefix + topic)
        except BaseException:
            await self.unsubscribe(topic, callback)
            raise

    async def unsubscribe(self, topic: str, callback: Subscriber) -> None:
        if drop_subscriber(self._subs, topic, callback):
            link = self._links.get(asyncio.get_running_loop())
            if link is not None:
                await link.unsubscribe(self.prefix + topic)

    async def publish(self, topic: str, event: str, payload: Any) -> None:
        """Hand the envelope to Redis; raises ``BusUnavailableError`` (within ``command_timeout``) if it cannot."""
        try:
            data = _encode(MessageEnvelope(topic, event, payload))
        except TypeError as exc:
            raise TypeError(f"publish to {topic!r}: the payload cannot be encoded as JSON: {exc}") from exc
        link = self.link
        channel = self.prefix + topic
        if self.history:
            keys = [self._stream(topic), channel, self._stream(topic) + ":trimmed"]
            script = self._scripts.get(link)
            if script is None:  # EVALSHA from now on; redis-py loads the script again after a Redis restart
                script = self._scripts[link] = link.commands.register_script(_PUBLISH_WITH_HISTORY)
            await link.command(f"publish to {channel}", lambda: script(keys=keys, args=[data, self.history]))
        else:
            await link.command(f"publish to {channel}", lambda: link.commands.publish(channel, data))

    async def emit(self, topic: str, event: str, payload: Any) -> None:
        """Publish without waiting; a failure is logged (``lihil.socket.bus``), never silent."""
        async def publish_logged() -> None:
            try:
                await self.publish(topic, event, payload)
            except BusUnavailableError as exc:
                logger.warning("emit to %s lost: %s", topic, exc)

        task = asyncio.get_running_loop().create_task(publish_logged())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def history_after(self, topic: str, event_id: str | None) -> list[MessageEnvelope]:
        """The events of ``topic`` after ``event_id`` still in the stream, oldest first; a ``replay_truncated``
        envelope first if some were already trimmed away."""
        if not self.history or event_id is None:
            return []
        if not isinstance(event_id, str) or not _STREAM_ID.match(event_id):
            raise ValueError(f"payload.last_event_id: expected an event id as sent in an envelope's event_id "
                             f"(a Redis stream id such as '1700000000000-0'), got {event_id!r}")
        link, key = self.link, self._stream(topic)
        entries: Any = await link.command(f"read {key}", lambda: link.commands.xrange(key, min="(" + event_id))
        replay = [self._from_stream(topic, entry_id, fields) for entry_id, fields in entries or ()]
        trimmed_after = await self._trimmed_after(link, key, event_id)
        if trimmed_after:
            replay.insert(0, MessageEnvelope(topic, "replay_truncated", {
                "after": event_id, "history": self.history,
                "detail": f"events after {event_id} up to {trimmed_after} were dropped: only the last "
                          f"{self.history} events of a topic are kept (history={self.history})"}))
        return replay

    async def aclose(self) -> None:
        """Close this event loop's connections to Redis."""
        link = self._links.pop(asyncio.get_running_loop(), None)
        if link is not None:
            await link.aclose()

    # --- inside -------------------------------------------------------------------------------------------------

    def _channels(self) -> list[str]:
        return [self.prefix + topic for topic in self._subs]

    def _stream(self, topic: str) -> str:
        return f"{self.prefix}history:{topic}"

    async def _on_message(self, channel: str, data: bytes) -> None:
        topic = channel[len(self.prefix):]
        callbacks = self._subs.get(topic)
        if not callbacks:
            return
        event_id = None
        if data[:1] != b"{":  # "<stream id> <envelope>" from a publish with history
            raw_id, _, data = data.partition(b" ")
            event_id = raw_id.decode()
        try:
            env = _decode(data)
        except msgspec.DecodeError:
            logger.warning("dropped a message on %s that is not an envelope: %r", channel, data[:200])
            return
        if event_id is not None:
            env = msgspec.structs.replace(env, event_id=event_id)
        await deliver(self, env, tuple(callbacks))

    async def _on_resumed(self, gap: float) -> None:
        """Tell every member here that the bus was away: what was published meanwhile may not have reached them."""
        detail = (f"the connection to Redis was lost for {gap:.1f} s; events published meanwhile may be missing"
                  + ("; rejoin with payload.last_event_id to get them" if self.history else ""))
        for topic, callbacks in list(self._subs.items()):
            env = MessageEnvelope(topic, "bus_resumed", {"gap_seconds": round(gap, 3), "replay": self.history > 0,
                                                         "detail": detail})
            await deliver(self, env, tuple(callbacks))

    def _from_stream(self, topic: str, entry_id: Any, fields: dict[Any, Any]) -> MessageEnvelope:
        event_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        env = _decode(fields[b"e"] if b"e" in fields else fields["e"])
        return msgspec.structs.replace(env, topic=topic, event_id=event_id)

    async def _trimmed_after(self, link: RedisLink, key: str, event_id: str) -> str | None:
        """The newest trimmed entry id if it is later than ``event_id`` (the client missed it), else None."""
        trimmed: Any = await link.command(f"read {key}:trimmed", lambda: link.commands.get(key + ":trimmed"))
        if trimmed is None:
            return None
        trimmed = trimmed.decode() if isinstance(trimmed, bytes) else str(trimmed)
        return trimmed if _id_tuple(trimmed) > _id_tuple(event_id) else None


def _id_tuple(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)
