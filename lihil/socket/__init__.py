"""Rooms and channels: lihil's managed WebSocket hub (``SocketHub``), its protocol and its message buses.

Same import paths as lihil 0.2.41 (``from lihil.socket import SocketHub, ChannelBase, Topic, ...``), plus
:class:`RedisSocketBus` for rooms that span processes (needs the ``redis`` extra: ``pip install lihil-playground[redis]``).
"""

from typing import TYPE_CHECKING, Any

from ..websocket import WebSocketRoute as WebSocketRoute
from .bus import BusUnavailableError as BusUnavailableError
from .bus import InMemorySocketBus as InMemorySocketBus
from .bus import SocketBus as SocketBus
from .channel import ChannelBase as ChannelBase
from .channel import Topic as Topic
from .hub import SocketHub as SocketHub
from .isocket import ISocket as ISocket
from .protocol import EVENT_NOT_FOUND as EVENT_NOT_FOUND
from .protocol import TOPIC_NOT_FOUND as TOPIC_NOT_FOUND
from .protocol import ErrorPayload as ErrorPayload
from .protocol import MessageEnvelope as MessageEnvelope
from .protocol import ReplyPayload as ReplyPayload
from .protocol import SocketError as SocketError
from .protocol import error_payload as error_payload
from .protocol import reply_payload as reply_payload

if TYPE_CHECKING:
    from .redis_bus import RedisSocketBus as RedisSocketBus


def __getattr__(name: str) -> Any:
    # redis-py is an optional dependency: import it only when RedisSocketBus is asked for.
    if name == "RedisSocketBus":
        from .redis_bus import RedisSocketBus

        return RedisSocketBus
    raise AttributeError(f"module 'lihil.socket' has no attribute {name!r}")
