"""``Lihil``: the ASGI application — lifespan, the route table, ``include``, middlewares.

The route table may change while the app serves (a notebook adds routes from another thread): it is an immutable
tuple replaced under a lock, so every request sees either the old table or the new one, never a half-built one.
Routes are set up when they are included (or, at the latest, on first use), so ``TestClient(app)`` works with and
without ``with``.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from inspect import isasyncgenfunction
from pathlib import Path
from types import FrameType
from typing import Any, Generic, TypeVar

import msgspec
from ididi import Graph, Resolver
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from .config import lhl_get_config, lhl_read_config, lhl_set_config
from .errors import (
    AppConfiguringError,
    DuplicatedRouteError,
    InvalidLifeSpanError,
    LihilError,
    NotSupportedError,
    RouteSetupError,
    UnserializableResponseError,
)
from .http import Route
from .routing import MiddlewareFactory, RouteBase, build_middleware_chain, normalize_path, strip_prefix
from .websocket import WebSocketRoute, send_denial

LifeSpan = Callable[["Lihil[Any]"], AbstractAsyncContextManager[Any]]


TState = TypeVar("TState")


class Lihil(Generic[TState]):
    """An ASGI app made of routes.

    >>> lhl = Lihil()              # Lihil[None]() and Lihil(route1, route2) work too
    >>> lhl.include(ws_route)      # include_routes(...) is the older name

    The type parameter is what early lihil versions used for app state; lihil's docs still write `Lihil[None]()`,
    so it is accepted (by Python and by type checkers) and means nothing more than `Lihil()`.
    """

    def __init__(
        self,
        *routes: RouteBase,
        middlewares: Sequence[MiddlewareFactory] | None = None,
        app_config: Any = None,
        max_thread_workers: int | None = None,
        graph: Graph | None = None,
        lifespan: Callable[[Lihil[Any]], Any] | None = None,
    ) -> None:
        self.graph = graph or Graph(self_inject=True, ignore=(Request, WebSocket, Resolver))
        # lihil's order: the config given, else one read from LIHIL_* variables and flags, else the one in use.
        lhl_set_config(app_config or lhl_read_config() or lhl_get_config())
        self._static: dict[str, tuple[Message, Message]] = {}
        self.middle_factories: list[MiddlewareFactory] = list(middlewares or [])
        self._lifespan = _as_lifespan(lifespan)
        self._lock = threading.RLock()
        self._call_stack: ASGIApp | None = None
        given_root = next((r for r in routes if r.path == "/"), None)
        root = given_root or Route("/", graph=self.graph)
        root.graph = self.graph
        self._routes: tuple[RouteBase, ...] = (root,)
        self.include(*(r for r in routes if r is not given_root))

    def __repr__(self) -> str:
        inner = "".join(f"\n  {r!r}" for r in self._routes)
        return f"Lihil({inner}\n)"

    @property
    def config(self) -> Any:
        """The config in use (process-wide, as in lihil): ``lhl_get_config()``. Assigning sets it."""
        return lhl_get_config()

    @config.setter
    def config(self, config: Any) -> None:
        if config is None:
            raise AppConfiguringError("Lihil.config: expected a config such as AppConfig(...), got None")
        lhl_set_config(config)

    # --- the route table --------------------------------------------------------------------------------------------

    @property
    def routes(self) -> list[RouteBase]:
        return list(self._routes)

    @property
    def root(self) -> RouteBase:
        return self._routes[0]

    def include(self, *routes: RouteBase) -> None:
        """Add ``routes`` (and their sub-routes). Safe while serving: the next request sees them."""
        with self._lock:
            for route in routes:
                self._include_one(route)
                self.include(*route.subroutes)

    def include_routes(self, *routes: RouteBase) -> None:
        """The older name of :meth:`include`, kept silent: lihil's own docs still teach it."""
        self.include(*routes)

    def _include_one(self, route: RouteBase) -> None:
        if any(r is route for r in self._routes):
            return
        if route.graph is not self.graph:
            self.graph.merge(route.graph)
            route.graph = self.graph
        if route.serves:
            self._setup_route(route)
        if route.path == "/":
            root = self._routes[0]
            if isinstance(root, Route) and root.has_endpoints:
                raise DuplicatedRouteError(f"cannot include {route!r}: the root route {root!r} already has endpoints")
            self._routes = (route, *self._routes[1:])
        else:
            self._routes = (*self._routes, route)

    def remove_route(self, path: str) -> RouteBase | None:
        """Remove the route at ``path``; the next request to it gets 404. Returns the removed route, if any."""
        with self._lock:
            found = self.get_route(path)
            if found is None or found is self._routes[0]:
                return None
            self._routes = tuple(r for r in self._routes if r is not found)
            return found

    def get_route(self, path: str) -> RouteBase | None:
        return next((r for r in self._routes if r.path == path), None)

    def sub(self, path: str) -> RouteBase:
        child = self.root.sub(path)
        self.include(child)
        return child

    def _setup_route(self, route: RouteBase) -> None:
        try:
            route.setup(graph=self.graph)
        except LihilError as exc:
            raise RouteSetupError(f"Failed to setup route {route!r}: {exc}") from exc

    # --- HTTP endpoints on the root route ----------------------------------------------------------------------------

    def _root_route(self) -> Route:
        root = self.root
        if not isinstance(root, Route):
            raise TypeError(f"the root route is {root!r}; HTTP endpoints need Route('/') as the root")
        return root

    def get(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().get(func, **props)

    def post(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().post(func, **props)

    def put(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().put(func, **props)

    def delete(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().delete(func, **props)

    def patch(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().patch(func, **props)

    def head(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().head(func, **props)

    def options(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().options(func, **props)

    def trace(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().trace(func, **props)

    def connect(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._root_route().connect(func, **props)

    # --- static content ----------------------------------------------------------------------------------------------

    def static(
        self,
        path: str,
        static_content: str | bytes | Any | Callable[[], Any],
        content_type: str = "text/plain",
        charset: str = "utf-8",
    ) -> None:
        """Serve fixed content at the exact ``path`` (GET and HEAD), encoded once, now.

        ``static_content`` is text, bytes, or anything JSON can encode (a dict, a list...), or a function
        returning one of those, called once here. JSON content left with the default ``content_type`` is served
        as ``application/json``.
        """
        path = normalize_path(path)
        if "{" in path:
            raise NotSupportedError(f"Lihil.static({path!r}): a static path cannot have parameters like {{name}}")
        content = static_content() if callable(static_content) else static_content
        if isinstance(content, str):
            body = content.encode(charset)
        elif isinstance(content, bytes | bytearray | memoryview):
            body = bytes(content)
        else:
            try:
                body = msgspec.json.encode(content)
            except (TypeError, msgspec.EncodeError) as exc:
                raise UnserializableResponseError(
                    f"Lihil.static({path!r}): expected str, bytes or JSON-encodable content, got {type(content).__name__}"
                ) from exc
            if content_type == "text/plain":
                content_type = "application/json"
        headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", f"{content_type}; charset={charset}".encode("latin-1")),
        ]
        with self._lock:
            self._static = {**self._static, path: (
                {"type": "http.response.start", "status": 200, "headers": headers},
                {"type": "http.response.body", "body": body},
            )}

    # --- running -----------------------------------------------------------------------------------------------------

    def run(self, file_path: str, runner: Callable[..., Any] | None = None) -> None:
        """Serve the app with uvicorn (or ``runner``), as the config's ``server`` section says.

        >>> app = Lihil()
        >>> if __name__ == "__main__":
        ...     app.run(__file__)        # python app.py --server.PORT 9000 --server.WORKERS 4

        ``HOST`` (default 127.0.0.1: only this machine), ``PORT``, ``WORKERS``, ``RELOAD`` and ``ROOT_PATH`` become
        uvicorn's ``host``, ``port``, ``workers``, ``reload`` and ``root_path``. Several workers, or reload, need
        an import string: uvicorn then gets ``"<file stem>:<name>"``, where ``name`` is the module-level
        variable holding this app, and ``app_dir`` set to the file's folder so the import works from any
        directory.
        """
        options = _server_options(lhl_get_config())
        if runner is None:
            import uvicorn

            runner = uvicorn.run
        if options.get("workers", 1) > 1 or options.get("reload"):
            caller = inspect.currentframe()
            name = _variable_name(self, caller.f_back if caller else None, file_path)
            file = Path(file_path).resolve()
            runner(f"{file.stem}:{name}", app_dir=str(file.parent), **options)
        else:
            runner(self, **options)

    # --- middlewares -------------------------------------------------------------------------------------------------

    def add_middleware(self, factory: MiddlewareFactory | Sequence[MiddlewareFactory]) -> None:
        """Append a middleware factory; a list or tuple is put in front, as a block."""
        with self._lock:
            if isinstance(factory, list | tuple):
                self.middle_factories[:0] = factory
            else:
                self.middle_factories.append(factory)  # type: ignore[arg-type]
            if self._call_stack is not None:
                self._call_stack = build_middleware_chain(self.middle_factories, self._dispatch, "Lihil")

    def asyncapi(self, **options: Any) -> dict[str, Any]:
        """The AsyncAPI 3.0 document of this app's WebSocket routes and hubs (see :func:`lihil.asyncapi_document`
        for the options: ``paths``, ``title``, ``version``, ``description``, ``server``)."""
        from .asyncapi import asyncapi_document

        return asyncapi_document(self, **options)

    # --- ASGI ----------------------------------------------------------------------------------------------------

    def setup(self) -> ASGIApp:
        """Set up every route not set up yet and build the middleware chain (once; thread-safe)."""
        with self._lock:
            if self._call_stack is None:
                for route in self._routes:
                    # A route with no handler is only a prefix for the routes below it: nothing to set up.
                    if not route.is_setup and route.serves:
                        self._setup_route(route)
                self._call_stack = build_middleware_chain(self.middle_factories, self._dispatch, "Lihil")
            return self._call_stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._run_lifespan(scope, receive, send)
            return
        app = self._call_stack or self.setup()
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, tracking_send)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Runs once per request or handshake, so it stays lean: one regex per route until one matches.
        is_ws = scope["type"] == "websocket"
        path = scope["path"]
        if root_path := scope.get("root_path"):
            path = strip_prefix(path, root_path)
        if self._static and not is_ws and path in self._static:
            await _send_static(self._static[path], scope, receive, send)
            return
        other_kind = False
        for route in self._routes:  # a snapshot: include/remove replace the tuple
            found = route.path_regex.match(path)
            if found is None or not route.serves:  # a route with no handler is only a prefix
                continue
            if is_ws != isinstance(route, WebSocketRoute):
                other_kind = True
                continue
            if params := found.groupdict():
                scope["path_params"] = {**scope.get("path_params", {}), **params}
            await route(scope, receive, send)
            return
        await _not_found(scope, receive, send, other_kind)

    async def _run_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        user_cm = None
        try:
            if self._lifespan is not None:
                user_cm = self._lifespan(self)
                state = await user_cm.__aenter__()
                if isinstance(state, dict) and "state" in scope:
                    scope["state"].update(state)
            self.setup()
        except BaseException:
            await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            if user_cm is not None:
                await user_cm.__aexit__(None, None, None)
        except BaseException:
            await send({"type": "lifespan.shutdown.failed", "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})


def _server_options(config: Any) -> dict[str, Any]:
    """uvicorn's keyword arguments from ``config.server`` (``PORT`` -> ``port``; unset values left out)."""
    server = getattr(config, "server", None)
    if server is None:
        raise AppConfiguringError(f"Lihil.run: the config in use ({type(config).__name__}) has no `server` section")
    values = server.asdict() if hasattr(server, "asdict") else {
        name: getattr(server, name) for name in ("HOST", "PORT", "WORKERS", "RELOAD", "ROOT_PATH") if hasattr(server, name)
    }
    return {name.lower(): value for name, value in values.items() if value is not None}


def _variable_name(app: Lihil[Any], frame: FrameType | None, file_path: str) -> str:
    """The name the caller's module (else the calling function) gives ``app``, for uvicorn's import string."""
    for namespace in (frame.f_globals, frame.f_locals) if frame is not None else ():
        for name, value in namespace.items():
            if value is app:
                return name
    raise AppConfiguringError(
        f"Lihil.run({file_path!r}): with several workers or reload, uvicorn imports the app by name, so it must be "
        "a module-level variable of that file (app = Lihil(...)); none holds this app"
    )


async def _send_static(messages: tuple[Message, Message], scope: Scope, receive: Receive, send: Send) -> None:
    start, body = messages
    if scope["method"] not in ("GET", "HEAD"):
        await PlainTextResponse("Method Not Allowed", 405, headers={"allow": "GET, HEAD"})(scope, receive, send)
        return
    # Fresh messages each time: a middleware may change a message (its headers, its body) in place.
    await send({**start, "headers": list(start["headers"])})
    await send({**body} if scope["method"] == "GET" else {"type": "http.response.body", "body": b""})


async def _not_found(scope: Scope, receive: Receive, send: Send, other_kind: bool) -> None:
    if scope["type"] == "http":
        if other_kind:
            text = f"{scope['path']} is a WebSocket route: connect with a WebSocket client (ws://...)"
            await PlainTextResponse(text, 426, headers={"upgrade": "websocket"})(scope, receive, send)
        else:
            await PlainTextResponse("Not Found", 404)(scope, receive, send)
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        await send_denial(send, 404, b"Not Found", b"text/plain; charset=utf-8")
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": "Not Found"})


def _as_lifespan(lifespan: Callable[..., Any] | None) -> LifeSpan | None:
    if lifespan is None:
        return None
    if isasyncgenfunction(lifespan):
        return asynccontextmanager(lifespan)
    if callable(lifespan) and hasattr(lifespan, "__wrapped__") and isasyncgenfunction(lifespan.__wrapped__):
        return lifespan  # already @asynccontextmanager
    raise InvalidLifeSpanError(
        f"lifespan must be an async generator function `async def lifespan(app): ...; yield` or an "
        f"@asynccontextmanager function, got {lifespan!r}"
    )


