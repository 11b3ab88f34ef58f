"""Live routes: the playground's table of mounted paths on the lihil app, and what it knows about each.

Mounting goes through lihil's own API (``app.include``, ``route.endpoint`` replacing a handler, ``app.remove_route``);
the table adds what a notebook needs on top: a version per path, the handler's parameters as text, open connections,
recent errors and prints, and checks that turn a bad handler into one clear error before anything changes.
"""

from __future__ import annotations

import inspect
import re
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.routing import compile_path

from lihil import Lihil, Route, WebSocketRoute
from lihil.errors import LihilError
from lihil.http import HTTP_METHODS

from .connections import RouteKind, serving_as
from .errors import RouteDefinitionError

if TYPE_CHECKING:
    from .connections import ConnectionContext

T = TypeVar("T")

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
    #: e.g. ``["room: str (path)", "upper: bool = False (query)"]``
    params: list[str]
    #: 1 when first mounted, +1 per redefinition
    version: int
    open_connections: int
    #: recent server-side tracebacks, oldest first
    errors: list[str]
    #: recent lines printed by handlers on this route, oldest first
    output: list[str]


class RouteEntry:
    """The playground's live record of a mounted path: its lihil route, handler version, connections and errors."""

    def __init__(self, path: str, kind: RouteKind, route: Any) -> None:
        self.path, self.kind, self.route = path, kind, route
        self.version = 0
        self.handler_names: dict[str, str] = {}  # method ("WS" for a WebSocket) -> handler name
        self.params_by_method: dict[str, list[str]] = {}
        self.errors: deque[str] = deque(maxlen=MAX_ROUTE_ERRORS)
        self.output: deque[str] = deque(maxlen=MAX_ROUTE_OUTPUT)
        self._open: set[ConnectionContext] = set()
        self._lock = threading.Lock()

    def info(self) -> RouteInfo:
        with self._lock:
            return RouteInfo(
                path=self.path, kind=self.kind,
                methods=tuple(m for m in self.handler_names if m != "WS"),
                handler_name=", ".join(self.handler_names.values()) if self.kind == "ws" else ", ".join(
                    f"{name} ({method})" for method, name in self.handler_names.items()),
                params=list(dict.fromkeys(p for ps in self.params_by_method.values() for p in ps)),
                version=self.version, open_connections=len(self._open),
                errors=list(self.errors), output=list(self.output),
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

    def mount_ws(self, path: str, handler: Callable[..., Any]) -> RouteInfo:
        """Serve ``handler`` (an ``async def``) as the WebSocket route ``path``; replaces an earlier handler there.

        The next connection uses the new handler; open connections finish on the old one and their sessions are
        told they are stale. A bad handler raises :class:`RouteDefinitionError` and changes nothing.
        """
        path = check_path(path)
        name = _handler_name(handler)
        if not inspect.iscoroutinefunction(handler):
            what = "a sync function (def)" if inspect.isfunction(handler) else f"not an async function: {handler!r}"
            raise RouteDefinitionError(f"cannot mount {name} at {path}: it is {what}; a WebSocket handler must be "
                                       f"`async def {name}(ws: WebSocket, ...)`")
        probe = WebSocketRoute(path, graph=self._app.graph)
        params = self._probe(path, name, lambda: (probe.endpoint(handler), probe.sig)[1], probe.path_keys,
                             websocket=True)
        with self._lock:
            entry = self._entry_for(path, "ws")
            new_route = entry.route is None
            version = entry.version + 1
            route = WebSocketRoute(path) if new_route else entry.route
            self._apply(path, name, lambda: route.endpoint(serving_as(handler, entry, version)))
            if new_route:
                self._apply(path, name, lambda: self._app.include(route))
                entry.route, self._entries[path] = route, entry
            entry.version, entry.handler_names, entry.params_by_method = version, {"WS": name}, {"WS": params}
            self._mark_stale(entry, version)
            info = entry.info()
        self._changed()
        return info

    def mount_http(self, path: str, handler: Callable[..., Any], method: str = "GET") -> RouteInfo:
        """Serve ``handler`` (sync or async) for ``method`` requests to ``path``; other methods there are kept."""
        path = check_path(path)
        name = _handler_name(handler)
        method = method.upper() if isinstance(method, str) else method
        if method not in HTTP_METHODS:
            raise RouteDefinitionError(f"cannot mount {name} at {path}: method must be one of "
                                       f"{', '.join(HTTP_METHODS)}, got {method!r}")
        if not callable(handler):
            raise RouteDefinitionError(f"cannot mount {handler!r} at {path}: it is not a function")
        probe = Route(path, graph=self._app.graph)
        params = self._probe(path, name, lambda: (probe.add_endpoint(method, func=handler),
                                                  probe.get_endpoint(method).sig)[1], probe.path_keys)
        with self._lock:
            entry = self._entry_for(path, "http")
            new_route = entry.route is None
            version = entry.version + 1
            route = Route(path) if new_route else entry.route
            self._apply(path, name, lambda: route.add_endpoint(method, func=serving_as(handler, entry, version)))
            if new_route:
                self._apply(path, name, lambda: self._app.include(route))
                entry.route, self._entries[path] = route, entry
            entry.version = version
            entry.handler_names = {**entry.handler_names, method: name}
            entry.params_by_method = {**entry.params_by_method, method: params}
            info = entry.info()
        self._changed()
        return info

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
            other = "a WebSocket" if entry.kind == "ws" else "an HTTP"
            raise RouteDefinitionError(f"{path} is already {other} route; `%lihil unmount {path}` first")
        return entry

    def _probe(
        self, path: str, name: str, read_signature: Callable[[], Any], path_keys: Sequence[str],
        websocket: bool = False,
    ) -> list[str]:
        """Read the handler's signature on a throwaway route (nothing changes on failure); its params as text."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lihil warns about unused path params; we raise a clearer error below
            sig = self._apply(path, name, read_signature)
        declared = {p.alias for p in sig.params if p.location == "path"}
        missing = [key for key in path_keys if key not in declared]
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
        return describe_params(sig.params)

    @staticmethod
    def _apply(path: str, name: str, step: Callable[[], T]) -> T:
        try:
            return step()
        except LihilError as exc:
            raise RouteDefinitionError(f"cannot mount {name} at {path}: {exc}") from exc

    def _mark_stale(self, entry: RouteEntry, version: int) -> None:
        for ctx in entry.open_connections():
            if ctx.session is not None and ctx.version < version:
                ctx.session._mark_stale(f"{entry.path} was redefined (now version {version}); this connection "
                                        f"still runs version {ctx.version}")

    def find(self, concrete_path: str, kind: RouteKind) -> RouteEntry | None:
        """The entry whose path pattern matches ``concrete_path`` (e.g. ``/echo/lobby``), if any."""
        for entry in list(self._entries.values()):
            if entry.kind == kind and entry.route is not None and entry.route.path_regex.match(concrete_path):
                return entry
        return None


def describe_params(params: Iterable[Any]) -> list[str]:
    """``["room: str (path)", "upper: bool = False (query)"]`` from lihil's request params."""
    return [f"{p} ({p.location})" for p in params if not getattr(p, "transitive", False)]


_SEGMENT_PARAM = re.compile(r"\{([A-Za-z_]\w*)(?::(str|int|float|path|uuid))?\}")


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
    else:
        leftover = _SEGMENT_PARAM.sub("", path)
        if "{" in leftover or "}" in leftover:
            problem = ("path parameters must look like {name} or {name:int} (converters: str, int, float, path, "
                       "uuid), with matching braces")
    if problem is None:
        try:
            compile_path(path)
        except (ValueError, AssertionError) as exc:
            problem = str(exc)
    if problem:
        raise RouteDefinitionError(f"invalid path {path!r}: {problem}; {example}")
    return path


def _handler_name(handler: Any) -> str:
    return getattr(handler, "__name__", None) or repr(handler)
