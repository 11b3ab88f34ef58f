"""Live routes: the playground's table of mounted paths on the lihil app, and what it knows about each.

Mounting goes through lihil's own API (``app.include``, ``route.endpoint`` replacing a handler, ``app.remove_route``);
the table adds what a notebook needs on top: a version per path, the handler's parameters (lihil's own
:class:`~lihil.signature.RequestParam` records, read once by lihil), open connections, recent errors and prints, and
checks that turn a bad handler into one clear error before anything changes.
"""

from __future__ import annotations

import enum
import inspect
import threading
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any, TypeVar

from starlette.types import Scope

from lihil import Lihil, Route, WebSocketRoute
from lihil.errors import LihilError
from lihil.http import HTTP_METHODS
from lihil.routing import PathPattern
from lihil.signature import EndpointSignature, RequestParam
from lihil.socket import InMemorySocketBus, SocketHub

from ..errors import RouteDefinitionError
from .connections import ConnectionContext, serving_as, serving_route

T = TypeVar("T")


class RouteKind(enum.StrEnum):
    """What a mounted path serves (a ``str``: ``RouteKind.WS == "ws"``)."""

    WS = "ws"
    HTTP = "http"
    HUB = "hub"  # a lihil SocketHub: channels and the join/exit/reply protocol

MAX_ROUTE_ERRORS = 20
"""Tracebacks kept per route (the newest)."""
MAX_ROUTE_OUTPUT = 200
"""Printed lines kept per route (the newest), from every connection."""


@dataclass(frozen=True)
class RouteInfo:
    """A snapshot of one mounted route (``pg.routes`` returns these)."""

    path: str
    kind: RouteKind
    methods: tuple[str, ...]
    handler_name: str
    #: the handler's request parameters as lihil reads them (``p.name``, ``p.location``, ``p.annotation``,
    #: ``p.default``, ``p.required``); ``str(p)`` is ``"upper: bool = False"``. See :attr:`param_lines`.
    params: tuple[RequestParam, ...]
    #: 1 when first mounted, +1 per redefinition
    version: int
    open_connections: int
    #: recent server-side tracebacks, oldest first
    errors: list[str]
    #: recent lines printed by handlers on this route, oldest first
    output: list[str]
    #: the compiled path (lihil's): ``pattern.match("/echo/lobby")`` -> ``{"room": "lobby"}``
    pattern: PathPattern

    @property
    def param_lines(self) -> list[str]:
        """``["room: str (path)", "upper: bool = False (query)"]``: the parameters as the cards and ``%lihil`` show them."""
        return [f"{p} ({p.location})" for p in self.params]


class RouteEntry:
    """The playground's live record of a mounted path: its lihil route, handler version, connections and errors."""

    def __init__(self, path: str, kind: RouteKind, route: Any) -> None:
        self.path, self.kind, self.route = path, kind, route
        self.pattern = PathPattern.compile(path)
        self.version = 0
        self.handler_names: dict[str, str] = {}  # method ("WS" for a WebSocket) -> handler name
        self.params_by_method: dict[str, tuple[RequestParam, ...]] = {}
        self.handler_codes: dict[CodeType, str] = {}  # the code of each current handler -> its name
        self.errors: deque[str] = deque(maxlen=MAX_ROUTE_ERRORS)
        self.output: deque[str] = deque(maxlen=MAX_ROUTE_OUTPUT)
        self._open: set[ConnectionContext] = set()
        self._lock = threading.Lock()

    def info(self) -> RouteInfo:
        with self._lock:
            return RouteInfo(
                path=self.path, kind=self.kind,
                methods=tuple(m for m in self.handler_names if m not in ("WS", "HUB")),
                handler_name=", ".join(self.handler_names.values()) if self.kind != RouteKind.HTTP else ", ".join(
                    f"{name} ({method})" for method, name in self.handler_names.items()),
                params=tuple(dict.fromkeys(p for ps in self.params_by_method.values() for p in ps)),
                version=self.version, open_connections=len(self._open),
                errors=list(self.errors), output=list(self.output), pattern=self.pattern,
            )

    def open_connections(self) -> list[ConnectionContext]:
        with self._lock:
            return list(self._open)

    def attach(self, ctx: ConnectionContext) -> None:
        with self._lock:
            self._open.add(ctx)

    def detach(self, ctx: ConnectionContext) -> None:
        with self._lock:
            self._open.discard(ctx)

    def add_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)

    def add_output(self, line: str) -> None:
        with self._lock:
            self.output.append(line)


class RouteTable:
    """The mounted routes of one lihil app. Thread-safe; ``on_change`` is called after each change."""

    def __init__(self, app: Lihil, on_change: Callable[[], None]) -> None:
        self._app, self._changed = app, on_change
        self._entries: dict[str, RouteEntry] = {}
        self._lock = threading.RLock()

    def infos(self) -> list[RouteInfo]:
        with self._lock:
            return [entry.info() for entry in self._entries.values()]

    def mount(self, kind: RouteKind, path: str, handler: Callable[..., Any], method: str = "GET") -> RouteInfo:
        """Serve ``handler`` at ``path``: an ``async def`` WebSocket handler (``kind`` "ws"), or a sync or async
        function for ``method`` requests (``kind`` "http"; other methods there are kept).

        A redefinition takes effect for the next connection; open connections finish on the old handler and their
        sessions are told they are stale. A bad handler raises :class:`RouteDefinitionError` and changes nothing.
        """
        kind = RouteKind(kind)
        path = check_path(path)
        name = _handler_name(handler)
        key, probe = self._check_handler(kind, path, name, handler, method)
        params = self._probe(path, name, probe, websocket=kind == RouteKind.WS)
        with self._lock:
            entry = self._entry_for(path, kind)
            new_route = entry.route is None
            version = entry.version + 1
            route: Any = (WebSocketRoute(path) if kind == RouteKind.WS else Route(path)) if new_route else entry.route
            served = serving_as(handler, entry, version)
            if kind == RouteKind.WS:
                self._apply(path, name, lambda: route.endpoint(served))
            else:
                self._apply(path, name, lambda: route.add_endpoint(key, func=served))
            if new_route:
                self._apply(path, name, lambda: self._app.include(route))
                entry.route, self._entries[path] = route, entry
            entry.version = version
            # A WebSocket route has one handler; an HTTP route one per method.
            keep = kind == RouteKind.HTTP
            entry.handler_names = {**(entry.handler_names if keep else {}), key: name}
            entry.params_by_method = {**(entry.params_by_method if keep else {}), key: params}
            code = getattr(handler, "__code__", None)
            entry.handler_codes = {**(entry.handler_codes if keep else {}), **({code: name} if code else {})}
            if kind == RouteKind.WS:
                self._mark_stale(entry, version)
            info = entry.info()
        self._changed()
        return info

    def mount_hub(
        self, path: str, channels: Sequence[type[Any]], *, on_connect: Any = None, on_disconnect: Any = None,
        bus: Any = None,
    ) -> RouteInfo:
        """Serve ``channels`` (ChannelBase subclasses) as the SocketHub at ``path``; replaces an earlier set there.

        Like a handler's redefinition: the next connection gets the new channels, open connections finish with the
        ones they started with and are told they are stale. The hub's bus (its rooms) stays. ``bus``: the bus of a
        new hub (None: the hub's own in-memory one).
        """
        path = check_path(path)
        names = ", ".join(getattr(c, "__name__", repr(c)) for c in channels) or "no channels"
        with self._lock:
            entry = self._entry_for(path, RouteKind.HUB)
            hub = entry.route
            if hub is None:
                hub = SocketHub(path, bus=bus, middlewares=[serving_route(entry)])
            try:
                hub.replace_channels(*channels, on_connect=on_connect, on_disconnect=on_disconnect)
            except (TypeError, ValueError, LihilError) as exc:  # the channels are checked before anything changes
                raise RouteDefinitionError(f"cannot mount the hub {path} ({names}): {exc}") from exc
            if entry.route is None:
                self._apply(path, names, lambda: self._app.include(hub))
                entry.route, self._entries[path] = hub, entry
            entry.version += 1
            entry.handler_names = {"HUB": names}
            entry.params_by_method = {}
            entry.handler_codes = {}
            self._mark_stale(entry, entry.version)
            info = entry.info()
        self._changed()
        return info

    def set_bus(self, bus: Any) -> None:
        """Every hub's next connections on ``bus`` (None: a fresh in-memory bus each); open ones keep theirs."""
        with self._lock:
            hubs = [e.route for e in self._entries.values() if e.kind == RouteKind.HUB and e.route is not None]
        for hub in hubs:
            hub.replace_bus(bus if bus is not None else InMemorySocketBus())
        self._changed()

    def _check_handler(
        self, kind: RouteKind, path: str, name: str, handler: Any, method: str
    ) -> tuple[str, Callable[[], EndpointSignature]]:
        """The key the handler is filed under ("WS" or the method) and how to read its signature on a throwaway
        route; or the error that says why it cannot be served."""
        if kind == RouteKind.WS:
            if not inspect.iscoroutinefunction(handler):
                what = "a sync function (def)" if inspect.isfunction(handler) else f"not an async function: {handler!r}"
                raise RouteDefinitionError(f"cannot mount {name} at {path}: it is {what}; a WebSocket handler must be "
                                           f"`async def {name}(ws: WebSocket, ...)`")
            ws_probe = WebSocketRoute(path, graph=self._app.graph)
            return "WS", lambda: (ws_probe.endpoint(handler), ws_probe.sig)[1]
        method = method.upper() if isinstance(method, str) else method
        if method not in HTTP_METHODS:
            raise RouteDefinitionError(f"cannot mount {name} at {path}: method must be one of "
                                       f"{', '.join(HTTP_METHODS)}, got {method!r}")
        if not callable(handler):
            raise RouteDefinitionError(f"cannot mount {handler!r} at {path}: it is not a function")
        http_probe = Route(path, graph=self._app.graph)
        return method, lambda: (http_probe.add_endpoint(method, func=handler), http_probe.get_endpoint(method).sig)[1]

    def unmount(self, path: str) -> None:
        """Remove the route at ``path``: the next connection gets 404; open connections finish."""
        with self._lock:
            entry = self._entries.get(path)
            if entry is None:
                mounted = ", ".join(self._entries) or "none"
                raise RouteDefinitionError(f"no route is mounted at {path!r} (mounted: {mounted})")
            self._app.remove_route(path)
            del self._entries[path]
        self._changed()

    def _entry_for(self, path: str, kind: RouteKind) -> RouteEntry:
        entry = self._entries.get(path)
        if entry is None:
            return RouteEntry(path, kind, None)
        if entry.kind != kind:
            other = {RouteKind.WS: "a WebSocket route", RouteKind.HTTP: "an HTTP route", RouteKind.HUB: "a hub"}
            raise RouteDefinitionError(f"{path} is already {other[entry.kind]}; `%lihil unmount {path}` first")
        return entry

    def _probe(
        self, path: str, name: str, read_signature: Callable[[], EndpointSignature], websocket: bool = False,
    ) -> tuple[RequestParam, ...]:
        """Read the handler's signature on a throwaway route (nothing changes on failure); its request params."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lihil warns about unused path params; we raise a clearer error below
            sig = self._apply(path, name, read_signature)
        declared = {p.alias for p in sig.params if p.location == "path"}
        missing = [key for key in PathPattern.compile(path).params if key not in declared]
        if missing:
            listed = ", ".join(f"{{{key}}}" for key in missing)
            example = ", ".join(f"{key}: str" for key in missing)
            raise RouteDefinitionError(f"cannot mount {name} at {path}: the path has {listed} but {name}() has no "
                                       f"such parameter; add `{example}` to its signature")
        if websocket and not any(kind == "websocket" for _, kind in sig.injected):
            # An unannotated `ws` is a query parameter in lihil: the handler would never see the connection.
            raise RouteDefinitionError(f"cannot mount {name} at {path}: {name}() never receives the connection; "
                                       f"annotate it: `async def {name}(ws: WebSocket, ...)` (`from lihil import "
                                       "WebSocket`; a parameter without annotation is read from the query string)")
        return tuple(p for p in sig.params if not p.transitive)

    @staticmethod
    def _apply(path: str, name: str, step: Callable[[], T]) -> T:
        try:
            return step()
        except LihilError as exc:
            raise RouteDefinitionError(f"cannot mount {name} at {path}: {exc}") from exc

    def _mark_stale(self, entry: RouteEntry, version: int) -> None:
        for ctx in entry.open_connections():
            if ctx.session is not None and ctx.version < version:
                ctx.session.mark_stale(f"{entry.path} was redefined (now version {version}); this connection "
                                        f"still runs version {ctx.version}")

    def find(self, concrete_path: str, *kinds: RouteKind) -> RouteEntry | None:
        """The entry of one of ``kinds`` whose path pattern matches ``concrete_path`` (``/echo/lobby``), if any."""
        for entry in list(self._entries.values()):
            if entry.kind in kinds and entry.route is not None and entry.pattern.match(concrete_path) is not None:
                return entry
        return None

    def find_for_scope(self, scope: Scope) -> RouteEntry | None:
        """:meth:`find` for an ASGI connection scope (``websocket`` -> "ws" and "hub" routes, ``http`` -> "http")."""
        kinds = (RouteKind.WS, RouteKind.HUB) if scope["type"] == "websocket" else (RouteKind.HTTP,)
        return self.find(scope["path"], *kinds)

    def report(self, entry: RouteEntry | None, text: str, *, tell_sessions: str | None = None) -> None:
        """File ``text`` among ``entry``'s errors (if any), and tell its open notebook sessions ``tell_sessions``."""
        if entry is not None:
            entry.add_error(text)
            for ctx in entry.open_connections():
                if ctx.session is not None and tell_sessions is not None:
                    ctx.session.server_event("server-warning", tell_sessions)
        self._changed()

    def entry_for_code(self, code: CodeType) -> RouteEntry | None:
        """The route whose current handler's code is ``code`` (what the watchdog found on the stack)."""
        for entry in list(self._entries.values()):
            if code in entry.handler_codes:
                return entry
        return None

    def describe_handler(self, code: CodeType) -> str | None:
        """``"echo() (route /echo/{room})"`` for the code of a mounted handler, else None."""
        entry = self.entry_for_code(code)
        return None if entry is None else f"{entry.handler_codes[code]}() (route {entry.path})"


def check_path(path: Any) -> str:
    """``path`` if it is a valid route path like ``/echo/{room}``, else :class:`RouteDefinitionError` saying why."""
    example = "expected a path like /echo or /chat/{room}"
    if not isinstance(path, str):
        raise RouteDefinitionError(f"invalid path {path!r}: {example}, got a {type(path).__name__}")
    problem = None
    if not path.startswith("/"):
        problem = "it must start with '/'"
    elif path == "/":
        problem = "the root path is not available for playground routes; use a path below it, like /index"
    elif path.endswith("/"):
        problem = "a trailing '/' is not allowed"
    elif any(c.isspace() for c in path) or "?" in path or "#" in path:
        problem = "it must not contain spaces, '?' or '#'"
    elif "//" in path:
        problem = "it must not contain an empty segment ('//')"
    if problem is None:
        try:
            PathPattern.compile(path)
        except ValueError as exc:
            problem = str(exc).removeprefix(f"route path {path!r}: ")
    if problem:
        raise RouteDefinitionError(f"invalid path {path!r}: {problem}; {example}")
    return path


def _handler_name(handler: Any) -> str:
    return getattr(handler, "__name__", None) or repr(handler)
