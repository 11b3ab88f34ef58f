"""The Redis side of :class:`~lihil.socket.RedisSocketBus`: one pub/sub connection per event loop, kept alive.

A ``RedisLink`` owns, for one event loop:

* one **subscriber connection** (redis-py's asyncio ``PubSub``) carrying every topic this process has members in,
  read by one reader task that hands each message to the bus;
* one small **command pool** (``max_connections``) for PUBLISH and the history commands, which a connection in
  subscribed mode cannot run.

When the subscriber connection breaks (Redis restarted, network gone), the reader reconnects by itself: it waits
``reconnect_backoff`` seconds, doubling after each failure up to ``reconnect_backoff_max`` (never a busy loop), then
opens a fresh ``PubSub`` and subscribes to every topic that still has members. Members stay joined throughout:
when Redis is back, rooms carry messages again without clients reconnecting, and the bus tells each member that
messages of the gap may be missing (see ``bus_resumed`` in :mod:`lihil.socket.redis_bus`). While the link is down, ``subscribe``
raises :class:`~lihil.socket.bus.BusUnavailableError` at once (a join fails with a clear error reply).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .bus import BusUnavailableError

logger = logging.getLogger("lihil.socket.redis")

T = TypeVar("T")
OnMessage = Callable[[str, bytes], Awaitable[None]]
OnResumed = Callable[[float], Awaitable[None]]
LINK_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, TimeoutError)


def redact_url(url: str) -> str:
    """``redis://user:secret@host:6379/0`` -> ``redis://user:***@host:6379/0`` (for logs and error messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


class LinkSettings:
    """The timeouts and limits of a link (see :class:`~lihil.socket.RedisSocketBus` for what each means)."""

    def __init__(self, *, command_timeout: float, connect_timeout: float, reconnect_backoff: float,
                 reconnect_backoff_max: float, health_check_interval: float, max_connections: int) -> None:
        self.command_timeout, self.connect_timeout = command_timeout, connect_timeout
        self.reconnect_backoff, self.reconnect_backoff_max = reconnect_backoff, reconnect_backoff_max
        self.health_check_interval, self.max_connections = health_check_interval, max_connections


class RedisLink:
    """One event loop's connections to Redis. Create it on the loop that will use it."""

    def __init__(self, url: str, settings: LinkSettings, on_message: OnMessage, channels: Callable[[], Iterable[str]],
                 on_resumed: OnResumed | None = None):
        self.url, self.shown_url, self.settings = url, redact_url(url), settings
        self._on_message, self._channels, self._on_resumed = on_message, channels, on_resumed
        self._down_since: float | None = None
        no_retry = Retry(NoBackoff(), 0)  # the link retries (with back-off); a command fails fast and says so
        common: dict[str, Any] = {"socket_connect_timeout": settings.connect_timeout, "retry": no_retry}
        self.commands = Redis.from_url(url, max_connections=settings.max_connections, **common)
        self._sub_client = Redis.from_url(url, max_connections=1, **common)
        self._pubsub: Any = None
        self._control = f"lihil:__link__:{uuid.uuid4().hex}"  # keeps the subscriber connection in pub/sub mode
        self._up = asyncio.Event()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._closed = asyncio.Event()
        self.reconnects = 0
        self._reader = asyncio.get_running_loop().create_task(self._read_forever(), name=f"redis link {self.shown_url}")

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    async def wait_up(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for the subscriber connection; True if it is up."""
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def command(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run one command with ``command_timeout``; a connection problem becomes ``BusUnavailableError``."""
        timeout = self.settings.command_timeout
        try:
            return await asyncio.wait_for(call(), timeout)
        except BusUnavailableError:
            raise
        except TimeoutError as exc:
            raise BusUnavailableError(f"Redis at {self.shown_url} did not answer ({what}) within {timeout} s "
                                      "(command_timeout); it may or may not have been carried out") from exc
        except LINK_ERRORS as exc:
            raise BusUnavailableError(f"Redis at {self.shown_url} is unreachable, could not {what}: "
                                      f"{type(exc).__name__}: {exc}") from exc

    async def subscribe(self, channel: str) -> None:
        """Subscribe the shared connection to ``channel`` and wait until Redis confirms it."""
        timeout = self.settings.command_timeout
        if not self._up.is_set() and not (self.reconnects == 0 and await self.wait_up(timeout)):
            raise BusUnavailableError(f"Redis at {self.shown_url} is unreachable (reconnecting in the background); "
                                      f"cannot subscribe to {channel}")
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, []).append(confirmed)
        try:
            await self.command(f"subscribe to {channel}", lambda: self._pubsub.subscribe(channel))
            await self.command(f"confirm the subscription to {channel}", lambda: asyncio.shield(confirmed))
        finally:
            waiting = self._confirmations.get(channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)

    async def unsubscribe(self, channel: str) -> None:
        if not self._up.is_set():
            return  # the next connection will not subscribe to it
        try:
            await asyncio.wait_for(self._pubsub.unsubscribe(channel), self.settings.command_timeout)
        except LINK_ERRORS:
            pass  # the link is breaking; its replacement subscribes only to topics that still have members

    async def aclose(self) -> None:
        self._closed.set()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass
        await self._drop_pubsub()
        for client in (self.commands, self._sub_client):
            try:
                await asyncio.wait_for(client.aclose(), self.settings.command_timeout)
            except (*LINK_ERRORS, RedisError):
                pass

    # --- the reader ---------------------------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        backoff = self.settings.reconnect_backoff
        while not self._closed.is_set():
            try:
                await self._connect()
                backoff = self.settings.reconnect_backoff
                await self._read()
            except LINK_ERRORS as exc:
                self._went_down(exc, backoff)
            except RedisError as exc:  # e.g. AUTH failed: keep trying, but say so
                self._went_down(exc, backoff)
            await self._drop_pubsub()
            try:  # back off; aclose() ends the wait at once
                await asyncio.wait_for(self._closed.wait(), backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, self.settings.reconnect_backoff_max)

    async def _connect(self) -> None:
        self._pubsub = self._sub_client.pubsub()
        channels = [self._control, *self._channels()]
        await asyncio.wait_for(self._pubsub.subscribe(*channels), self.settings.connect_timeout)
        if self.reconnects:
            logger.warning("Redis at %s is back; resubscribed to %d topic(s)", self.shown_url, len(channels) - 1)
        self._up.set()
        down_since, self._down_since = self._down_since, None
        if down_since is not None and self._on_resumed is not None:
            await self._on_resumed(time.monotonic() - down_since)

    async def _read(self) -> None:
        interval = self.settings.health_check_interval
        pubsub = self._pubsub
        while True:
            message = await pubsub.get_message(timeout=interval)
            if message is None:  # idle: make sure Redis is still there (a dead peer may send no FIN)
                await asyncio.wait_for(pubsub.ping(), self.settings.command_timeout)
                continue
            kind, channel = message["type"], message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            if kind == "message":
                await self._on_message(channel, message["data"])
            elif kind == "subscribe":
                for future in self._confirmations.pop(channel, []):
                    if not future.done():
                        future.set_result(None)

    def _went_down(self, exc: BaseException, backoff: float) -> None:
        was_up = self._up.is_set()
        self._up.clear()
        if self._down_since is None:
            self._down_since = time.monotonic()
        self.reconnects += 1
        for waiting in self._confirmations.values():
            for future in waiting:
                if not future.done():
                    future.set_exception(BusUnavailableError(f"Redis at {self.shown_url} went away: {exc}"))
        self._confirmations.clear()
        log = logger.warning if was_up or self.reconnects == 1 else logger.debug
        log("Redis at %s unreachable (%s: %s); reconnecting in %.2f s (back-off capped at %.1f s)",
            self.shown_url, type(exc).__name__, exc, backoff, self.settings.reconnect_backoff_max)

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await asyncio.wait_for(pubsub.aclose(), self.settings.command_timeout)
            except (*LINK_ERRORS, RedisError):
                pass
