"""``SocketHub``: a WebSocket route that speaks the channel protocol — rooms, typed events, replies.

    hub = SocketHub("/ws")                 # one in-memory bus shared by every connection of this hub
    hub.channel(Room)                      # a ChannelBase subclass (see lihil.socket.channel)
    app = Lihil(hub)                       # or app.include(hub)

    SocketHub("/ws", bus=RedisSocketBus("redis://127.0.0.1:6379/0"))   # rooms shared across processes
    SocketHub("/ws", bus_factory=make_bus)                               # a DI factory, called once per hub

A hub is a :class:`~lihil.WebSocketRoute` to the app (include it, find it with ``get_route``, remove it), but it has
no handler of its own: ``endpoint()`` is not for hubs. Its channels can be replaced while it serves
(:meth:`SocketHub.replace_channels`): the next connection uses the new classes, open connections keep theirs, and
all of them stay on the same bus, so old and new members still share rooms.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ididi import Graph
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket as StarletteWebSocket
from starlette.websockets import WebSocketState

from ..errors import NotSupportedError
from ..routing import MiddlewareFactory, build_middleware_chain
from ..websocket import Connection, WebSocketRoute, fail
from .bus import InMemorySocketBus, SocketBus
from .channel import ChannelBase, Topic
from .dispatcher import ChannelDispatcher
from .isocket import CLOSE_TIMEOUT, MAX_SEND_QUEUE, ISocket
from .protocol import EVENT_NOT_FOUND, TOPIC_NOT_FOUND
from .session import ChannelFactory, ReplyFrames, SocketHook, SocketSession

__all__ = [
    "EVENT_NOT_FOUND", "TOPIC_NOT_FOUND", "ChannelFactory", "ISocket", "InMemorySocketBus", "SocketBus",
    "SocketHub", "SocketSession", "Topic",
]

_REPLY_FRAMES = ("text", "match")

WebSocket: Callable[[Scope, Receive, Send], Any] = Connection
"""What a hub wraps each connection in, looked up at every connection (lihil 0.2.41 has the same name here, and its
tests put a stand-in with only ``accept``/``receive_bytes``/``send_json``/``send_bytes``/``close`` in its place)."""


@dataclass(frozen=True, slots=True)
class HubChannels:
    """What a connection is served with: channel classes (most specific topic first) and the two hooks.

    Replaced as a whole, never changed in place, so a connection keeps the set it started with.
    """

    factories: tuple[ChannelFactory, ...] = ()
    on_connect: SocketHook | None = None
    on_disconnect: SocketHook | None = None


class SocketHub(WebSocketRoute):
    """A WebSocket endpoint serving :class:`ChannelBase` subclasses over one bus.

    Settings (each has a default):

    * ``bus`` — a bus instance shared by every connection; or ``bus_factory`` — a DI factory producing one (called
      once per hub, on the first connection). Neither: a new :class:`InMemorySocketBus` for this hub. ``SocketBus``
      resolved from the hub's graph is that bus (as lihil 0.2.41 code gets it: ``await scope.aresolve(SocketBus)``).
    * ``max_send_queue`` — envelopes that may wait for one slow client; one more closes it with 1013.
    * ``close_timeout`` — seconds a close (and the flush before it) may wait for the client.
    * ``reply_frames`` — ``"text"`` (the default): envelopes always go out as text frames of JSON, as lihil 0.2.41
      sends them and its clients read them (``receive_json()``), whatever frame type the client sent;
      ``"match"``: each client gets them in the frame type (text/binary) it last sent.
    """

    def __init__(
        self, path: str = "", *, graph: Graph | None = None, middlewares: list[MiddlewareFactory] | None = None,
        bus_factory: Callable[..., Any] | None = None, bus: SocketBus | None = None,
        max_send_queue: int = MAX_SEND_QUEUE, close_timeout: float = CLOSE_TIMEOUT,
        reply_frames: ReplyFrames = "text",
    ) -> None:
        super().__init__(path, graph=graph, middlewares=middlewares)
        where = f"SocketHub({self.path!r})"
        if bus is not None and bus_factory is not None:
            raise TypeError(f"{where}: pass bus= (an instance) or bus_factory= (a factory), not both")
        if bus is not None and not isinstance(bus, SocketBus):
            raise TypeError(f"{where}: bus= expects a SocketBus instance (e.g. InMemorySocketBus()), got {bus!r}")
        if not isinstance(max_send_queue, int) or max_send_queue < 1:
            raise ValueError(f"{where}: max_send_queue= expects an int >= 1, got {max_send_queue!r}")
        if not isinstance(close_timeout, int | float) or close_timeout <= 0:
            raise ValueError(f"{where}: close_timeout= expects seconds > 0, got {close_timeout!r}")
        if reply_frames not in _REPLY_FRAMES:
            raise ValueError(f"{where}: reply_frames= expects one of {_REPLY_FRAMES}, got {reply_frames!r}")
        self.max_send_queue, self.close_timeout, self.reply_frames = max_send_queue, close_timeout, reply_frames
        self._bus: SocketBus | None = bus if bus is not None else (None if bus_factory else InMemorySocketBus())
        self._bus_factory = bus_factory
        if bus_factory is not None:
            self.graph.node(bus_factory)
        if self._bus is not None:
            self._publish_bus(self._bus)
        self._bus_lock: asyncio.Lock | None = None
        self._dispatcher = ChannelDispatcher()
        self._channels = HubChannels()
        self.serves = True  # a hub serves from the start (with no channels, every join gets topic_not_found)

    def __repr__(self) -> str:
        names = ", ".join(f.channel_type.__qualname__ for f in self._channels.factories)
        return f"SocketHub({self.path!r}, channels=[{names}])"

    # --- channels and hooks ---------------------------------------------------------------------------------

    @property
    def bus(self) -> SocketBus | None:
        """The bus every connection of this hub shares (None until a ``bus_factory`` has been called)."""
        return self._bus

    @property
    def channels(self) -> tuple[type[ChannelBase], ...]:
        return tuple(f.channel_type for f in self._channels.factories)

    @property
    def _channel_factories(self) -> tuple[ChannelFactory, ...]:
        return self._channels.factories

    @property
    def _on_connect(self) -> SocketHook | None:
        return self._channels.on_connect

    @property
    def _on_disconnect(self) -> SocketHook | None:
        return self._channels.on_disconnect

    def channel(self, cls: type[ChannelBase]) -> type[ChannelBase]:
        """Serve ``cls`` (usable as a decorator). Raises ``TypeError`` for a handler signature it cannot call."""
        factory = self._register(cls)
        current = self._channels
        self._channels = HubChannels(_by_specificity((*current.factories, factory)),
                                     current.on_connect, current.on_disconnect)
        return cls

    def replace_channels(
        self, *classes: type[ChannelBase], on_connect: SocketHook | None = None,
        on_disconnect: SocketHook | None = None,
    ) -> None:
        """Serve exactly ``classes`` and these hooks from the next connection on (all checked before anything
        changes). Open connections finish with what they started with; the bus stays, so rooms are shared."""
        for hook, name in ((on_connect, "on_connect"), (on_disconnect, "on_disconnect")):
            if hook is not None and not asyncio.iscoroutinefunction(hook):
                raise TypeError(f"SocketHub({self.path!r}).replace_channels: {name} must be an async function "
                                f"taking the ISocket, got {hook!r}")
        factories = tuple(self._register(cls) for cls in classes)
        self._channels = HubChannels(_by_specificity(factories), on_connect, on_disconnect)

    def replace_bus(self, bus: SocketBus) -> SocketBus | None:
        """Put the next connections on ``bus``; open ones stay on theirs. Returns the previous bus (close it once
        its connections are gone, e.g. ``await old.aclose()`` for a RedisSocketBus)."""
        if not isinstance(bus, SocketBus):
            raise TypeError(f"SocketHub({self.path!r}).replace_bus expects a SocketBus instance, got {bus!r}")
        old, self._bus, self._bus_factory = self._bus, bus, None
        self._publish_bus(bus)
        return old

    def _publish_bus(self, bus: SocketBus) -> None:
        """``SocketBus`` resolved from the hub's graph (``await scope.aresolve(SocketBus)``) is this hub's bus."""
        self.graph.register_singleton(bus, SocketBus)

    def on_connect(self, fn: SocketHook) -> SocketHook:
        """``await fn(socket)`` before each handshake is accepted; ``await socket.allow_if(ok)`` rejects."""
        self._channels = HubChannels(self._channels.factories, fn, self._channels.on_disconnect)
        return fn

    def on_disconnect(self, fn: SocketHook) -> SocketHook:
        """``await fn(socket)`` after a connection's channels have exited (also after a rejection)."""
        self._channels = HubChannels(self._channels.factories, self._channels.on_connect, fn)
        return fn

    def _register(self, cls: type[ChannelBase]) -> ChannelFactory:
        if not (isinstance(cls, type) and issubclass(cls, ChannelBase)):
            raise TypeError(f"SocketHub({self.path!r}).channel expects a ChannelBase subclass, got {cls!r}")
        self._dispatcher.validate(cls)
        if cls.__init__ is not ChannelBase.__init__:
            self.graph.node(cls, ignore=("socket", "topic", "bus", "resolver"))
        return ChannelFactory(topic_pattern=cls.topic, channel_type=cls)

    # --- what a WebSocketRoute has that a hub does not -----------------------------------------------------------

    def endpoint(self, func: Any = None, **props: Any) -> Any:
        raise NotSupportedError(f"SocketHub({self.path!r}) serves channels, not a handler: register a "
                                "ChannelBase subclass with hub.channel(cls)")

    ws_handler = endpoint

    @property
    def handler(self) -> Any:
        return self._serve

    def copy_endpoints_from(self, other: Any) -> None:
        if isinstance(other, SocketHub):
            self._channels = other._channels

    # --- serving ------------------------------------------------------------------------------------------------

    def setup(self, graph: Graph | None = None, workers: Any = None) -> None:
        if graph is not None:
            self.graph = graph
        self._app = build_middleware_chain(self.middle_factories, self._serve, repr(self))
        self.is_setup = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app: ASGIApp | None = self._app
        if app is None:
            self.setup()  # lazily, as WebSocketRoute does
            app = self._app
            assert app is not None
        await app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            raise RuntimeError(f"Non-websocket request sent to websocket route {self.path}")

        async def checked_receive() -> Message:
            message = await receive()
            if not isinstance(message, Mapping) or "type" not in message:
                raise RuntimeError(f"{self!r}: the server's ASGI receive() returned {message!r}, which is not an "
                                   "ASGI message (no 'type' key; expected e.g. {'type': 'websocket.connect'})")
            return message

        async with self.create_socket_session(scope, checked_receive, send) as session:
            await session.run()

    @asynccontextmanager
    async def create_socket_session(self, scope: Scope, receive: Receive, send: Send) -> AsyncIterator[SocketSession]:
        """The session serving one connection: on_connect and accept on entry; exits, on_disconnect, close after."""
        ws = WebSocket(scope, receive, send)
        # The outbox writes ASGI messages straight to the server's send when the connection is a Starlette
        # WebSocket over it; a stand-in put in WebSocket's place is written through its own send_json/send_bytes.
        socket = ISocket(ws, send=send if isinstance(ws, StarletteWebSocket) else None)
        channels = self._channels  # this connection's channels, whatever replace_channels does meanwhile
        bus = self._bus or await self._resolve_bus()
        async with self.graph.ascope() as conn_scope:
            session = SocketSession(
                socket=socket, bus=bus, resolver=conn_scope, channel_factories=channels.factories,
                connect_cb=channels.on_connect, disconnect_cb=channels.on_disconnect, dispatcher=self._dispatcher,
                reply_frames=self.reply_frames, max_send_queue=self.max_send_queue, close_timeout=self.close_timeout,
            )
            try:
                async with session:
                    yield session
            except Exception:
                if ws.application_state == WebSocketState.CONNECTING:
                    await fail(ws)  # before accept: a 500 refusal
                raise

    async def _resolve_bus(self) -> SocketBus:
        if self._bus_lock is None:
            self._bus_lock = asyncio.Lock()
        async with self._bus_lock:
            if self._bus is None:
                assert self._bus_factory is not None
                bus = await self.graph.aresolve(self._bus_factory)
                if not isinstance(bus, SocketBus):
                    raise TypeError(f"SocketHub({self.path!r}): bus_factory {self._bus_factory!r} returned {bus!r}, "
                                    "expected a SocketBus")
                self._bus = bus
                self._publish_bus(bus)
            return self._bus


def _by_specificity(factories: Sequence[ChannelFactory]) -> tuple[ChannelFactory, ...]:
    """Most topic params first (stable: ties keep registration order), so the most specific pattern wins."""
    return tuple(sorted(factories, key=lambda f: -len(f.topic_pattern.groupindex)))
