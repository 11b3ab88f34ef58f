"""Message buses: how an envelope published to a topic reaches every channel subscribed to it.

A bus knows topics and callbacks, nothing about sockets. ``SocketBus`` is the interface; ``InMemorySocketBus``
serves one process; :class:`~lihil.socket.RedisSocketBus` spans processes.

A hub uses **one** bus for all its connections (lihil 0.2.41 resolved a new one per connection, so a broadcast only
ever reached its sender).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from .protocol import MessageEnvelope

logger = logging.getLogger("lihil.socket.bus")

Subscriber = Callable[[MessageEnvelope], Awaitable[Any]]


class BusUnavailableError(ConnectionError):
    """The bus could not carry a message (its server is down or did not answer in time); nothing was sent."""


class SocketBus(ABC):
    """Publish/subscribe by topic. ``publish`` waits until the message is handed on; ``emit`` does not wait."""

    @abstractmethod
    async def subscribe(self, topic: str, callback: Subscriber) -> None: ...

    @abstractmethod
    async def unsubscribe(self, topic: str, callback: Subscriber) -> None: ...

    @abstractmethod
    async def publish(self, topic: str, event: str, payload: Any) -> None: ...

    @abstractmethod
    async def emit(self, topic: str, event: str, payload: Any) -> None: ...

    @property
    def keeps_history(self) -> bool:
        """True if :meth:`history_after` can replay missed events (the hub then offers replay on join)."""
        return False

    async def history_after(self, topic: str, event_id: str | None) -> list[MessageEnvelope]:
        """The events of ``topic`` published after ``event_id``, oldest first (``[]`` where none are kept)."""
        return []


class InMemorySocketBus(SocketBus):
    """Topics and their callbacks in one process. A callback that raises is logged and unsubscribed."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscriber]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"InMemorySocketBus({len(self._subs)} topics)"

    async def subscribe(self, topic: str, callback: Subscriber) -> None:
        self._subs.setdefault(topic, set()).add(callback)

    async def unsubscribe(self, topic: str, callback: Subscriber) -> None:
        drop_subscriber(self._subs, topic, callback)

    async def publish(self, topic: str, event: str, payload: Any) -> None:
        callbacks = self._subs.get(topic)
        if callbacks:
            await deliver(self, MessageEnvelope(topic, event, payload), tuple(callbacks))

    async def emit(self, topic: str, event: str, payload: Any) -> None:
        task = asyncio.create_task(self.publish(topic, event, payload))
        self._pending.add(task)  # keep a reference until it is done (asyncio holds tasks weakly)
        task.add_done_callback(self._pending.discard)


def drop_subscriber(subs: dict[str, set[Subscriber]], topic: str, callback: Subscriber) -> bool:
    """Remove ``callback`` from ``topic`` in ``subs``; True when that left the topic without callbacks (then gone)."""
    callbacks = subs.get(topic)
    if callbacks is None:
        return False
    callbacks.discard(callback)
    if callbacks:
        return False
    del subs[topic]
    return True


async def deliver(bus: SocketBus, env: MessageEnvelope, callbacks: tuple[Subscriber, ...]) -> None:
    """Hand ``env`` to each callback in turn; one that raises is logged and unsubscribed, the rest still get it."""
    for callback in callbacks:
        try:
            await callback(env)
        except Exception:
            logger.warning("subscriber %r of %s raised; unsubscribed", callback, env.topic, exc_info=True)
            await bus.unsubscribe(env.topic, callback)
