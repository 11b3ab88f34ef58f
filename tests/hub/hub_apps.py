"""Apps the hub tests serve: imported by uvicorn processes (``--factory hub_apps:redis_app``) and by the tests."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from lihil import ChannelBase, Lihil, SocketHub, Topic
from lihil.socket import RedisSocketBus


class Room(ChannelBase):
    topic = Topic("room:{room_id}")

    async def on_chat(self, payload: Any) -> None:
        await self.publish(payload, event="chat")

    async def on_whoami(self) -> int:
        return os.getpid()


def hub_with(*channels: type[ChannelBase], **kwargs: Any) -> SocketHub:
    """A hub at ``/ws`` (``kwargs`` to SocketHub) serving ``channels``."""
    hub = SocketHub("/ws", **kwargs)
    for cls in channels:
        hub.channel(cls)
    return hub


class ChatRoom(ChannelBase):
    """``room:{room_id}``: a chat goes to everyone in the room; ``version`` answers 1."""

    topic = Topic("room:{room_id}")

    async def on_chat(self, payload: Any) -> None:
        await self.publish(payload, event="chat")

    async def on_version(self) -> int:
        return 1


def redis_hub_app(url: str, **bus_settings: Any) -> Lihil:
    """A hub on a RedisSocketBus; the app's lifespan closes the bus's connections at shutdown."""
    bus = RedisSocketBus(url, **bus_settings)
    hub = SocketHub("/ws", bus=bus)
    hub.channel(Room)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await bus.aclose()

    return Lihil(hub, lifespan=lifespan)


def redis_app() -> Lihil:
    """For ``uvicorn --factory``: the Redis URL and bus settings come from the environment."""
    return redis_hub_app(os.environ["LIHIL_TEST_REDIS_URL"],
                         reconnect_backoff_max=float(os.environ.get("LIHIL_TEST_BACKOFF_MAX", "1.0")))
