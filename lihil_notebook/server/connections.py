"""What happens around each connection: which route and handler version serves it, where its prints and errors go.

Two small wrappers do the work, neither of them inside lihil:

* :class:`ConnectionTracker` wraps the whole ASGI app. For each connection it creates a :class:`ConnectionContext`
  (with the :class:`ConnectionPeer` on the other end, when the client is one of the notebook's own sessions), makes
  it the target of ``print`` (see :mod:`lihil_notebook.server.capture`), and takes the exception lihil re-raises after
  closing with 1011, so it lands in the route's errors and the peer's log rather than on the kernel's stderr.
* :func:`serving_as` wraps each handler (``functools.wraps``, so lihil reads the user's signature) to tie the
  connection to the route *and the handler version* that serves it: that is how a redefinition knows which open
  sessions run old code (stale), and how ``open_connections`` is counted.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from . import capture
from .limits import BodyTooLarge

MAX_LINE_BUFFER = 64 * 1024
"""A handler printing this much without a newline gets it flushed as one entry anyway."""

# Frames of these packages are plumbing between the server and the user's code; tracebacks start after them.
_PLUMBING = ("lihil_notebook", "lihil", "starlette", "uvicorn", "websockets", "asyncio", "anyio", "ididi",
             "contextlib", "concurrent", "threading", "functools")


ServerEventKind = Literal["server-print", "server-error", "server-warning"]


class ConnectionPeer(Protocol):
    """The client end of a connection, when it is one of the notebook's own sessions: told what the server did."""

    def server_event(self, kind: ServerEventKind, text: str) -> None:
        """Record ``text`` ("server-print": a line the handler printed; "server-error": its traceback;
        "server-warning": what the server noticed, such as the handler blocking the loop)."""

    def server_error(self, exc: BaseException, text: str, where: str) -> None:
        """The handler raised ``exc``: ``text`` is its traceback from the user's code on, ``where`` the line it came
        from (``"Cell In[5], line 6, in echo"``)."""

    def mark_stale(self, reason: str) -> None:
        """The route was redefined; this connection still runs the old handler."""


class ServedRoute(Protocol):
    """What a connection reports to the route serving it (a :class:`~lihil_notebook.server.routes.RouteEntry`)."""

    def attach(self, ctx: ConnectionContext) -> None: ...

    def detach(self, ctx: ConnectionContext) -> None: ...

    def add_error(self, text: str) -> None: ...

    def add_output(self, line: str) -> None: ...


class ConnectionContext:
    """One server-side connection: the route and handler version serving it, the Session on the other end (if any).

    It is also the connection's print sink: text is cut into lines, each line a "server-print" log entry.
    """

    def __init__(self, path: str, session: ConnectionPeer | None, on_unrouted_error: Callable[[str], None]) -> None:
        self.path, self.session = path, session
        self.entry: ServedRoute | None = None
        self.version = 0
        self.error_recorded = False
        self._on_unrouted_error = on_unrouted_error
        self._partial = ""

    def serve(self, entry: ServedRoute, version: int) -> None:
        self.entry, self.version = entry, version
        entry.attach(self)

    def done(self) -> None:
        self._flush_partial()
        if self.entry is not None:
            self.entry.detach(self)

    def write_output(self, text: str) -> None:
        text = self._partial + text
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._emit_line(line)
        if len(self._partial) > MAX_LINE_BUFFER:
            self._flush_partial()

    def record_error(self, exc: BaseException, entry: ServedRoute | None = None) -> None:
        """File the traceback of ``exc`` under the route and in the session's log (once per connection)."""
        if self.error_recorded:
            return
        self.error_recorded = True
        self._flush_partial()
        text = format_error(exc)
        target = entry or self.entry
        if target is not None:
            target.add_error(text)
        else:
            self._on_unrouted_error(f"{self.path}: {text}")
        if self.session is not None:
            self.session.server_error(exc, text, error_origin(exc))

    def _flush_partial(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._emit_line(line)

    def _emit_line(self, line: str) -> None:
        if self.entry is not None:
            self.entry.add_output(line)
        if self.session is not None:
            self.session.server_event("server-print", line)


current_connection: ContextVar[ConnectionContext | None] = ContextVar("lihil_notebook_connection", default=None)


def serving_as(handler: Callable[..., Any], entry: ServedRoute, version: int) -> Callable[..., Any]:
    """``handler``, wrapped to tie each call to ``entry``/``version``; lihil sees the same signature."""
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def serve_async(*args: Any, **kwargs: Any) -> Any:
            with _Serving(entry, version):
                return await handler(*args, **kwargs)

        return serve_async

    @functools.wraps(handler)
    def serve_sync(*args: Any, **kwargs: Any) -> Any:  # sync HTTP handlers run in a worker thread
        with _Serving(entry, version):
            return handler(*args, **kwargs)

    return serve_sync


def serving_route(entry: Any) -> Callable[[ASGIApp], ASGIApp]:
    """A route middleware doing for a whole route what :func:`serving_as` does for a handler — for a SocketHub,
    whose channels are not one handler: each connection is tied to the entry's version *when it connects*."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            with _Serving(entry, entry.version):
                await app(scope, receive, send)

        return serve

    return wrap


class _Serving:
    """The connection in this context is served by ``entry`` at ``version``; a handler error is filed there."""

    __slots__ = ("ctx", "entry", "version")

    def __init__(self, entry: ServedRoute, version: int) -> None:
        self.entry, self.version = entry, version
        self.ctx = current_connection.get()

    def __enter__(self) -> None:
        if self.ctx is not None:
            self.ctx.serve(self.entry, self.version)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        # WebSocketDisconnect is how most conversations end (the client left), not an error; BodyTooLarge is the
        # edge's to answer (413).
        if isinstance(exc, Exception) and not isinstance(exc, WebSocketDisconnect | BodyTooLarge):
            if self.ctx is not None:
                self.ctx.record_error(exc, self.entry)
            else:
                self.entry.add_error(format_error(exc))
        if self.ctx is not None:
            self.ctx.done()


class ConnectionTracker:
    """ASGI middleware around the playground's app (see the module docstring)."""

    def __init__(
        self,
        app_getter: Callable[[], ASGIApp],
        find_peer: Callable[[Scope], ConnectionPeer | None],
        find_route: Callable[[Scope], ServedRoute | None],
        on_unrouted_error: Callable[[str], None],
    ) -> None:
        """``find_peer(scope)``: the notebook session on the other end, if any; ``find_route(scope)``: the route
        whose pattern matches the scope's path and kind, to file errors raised before a handler ran."""
        self._app_getter, self._find_peer, self._find_route = app_getter, find_peer, find_route
        self._on_unrouted_error = on_unrouted_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app_getter()
        kind = scope["type"]
        if kind not in ("websocket", "http"):
            await app(scope, receive, send)
            return
        ctx = ConnectionContext(scope["path"], self._find_peer(scope), self._on_unrouted_error)
        capture.install()
        connection_token = current_connection.set(ctx)
        sink_token = capture.output_sink.set(ctx)
        try:
            await app(scope, receive, send)
        except BodyTooLarge:
            raise  # not the handler's error: the edge answers 413
        except Exception as exc:
            # lihil has already answered (close 1011 / HTTP 500) and re-raised so a middleware can see the error:
            # we are that middleware. Recorded here, it stays out of uvicorn's log and the kernel's stderr.
            ctx.record_error(exc, ctx.entry or self._find_route(scope))
        finally:
            ctx.done()
            capture.output_sink.reset(sink_token)
            current_connection.reset(connection_token)


def header_value(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case bytes) in an ASGI scope."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def format_error(exc: BaseException) -> str:
    """The traceback of ``exc``, starting at the user's code, with cell frames labelled like IPython's ("Cell In[5]")."""
    tb = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    frames = list(tb.stack)
    first_user = next((i for i, f in enumerate(frames) if not is_plumbing(f.filename)), 0)
    tb.stack = traceback.StackSummary.from_list(
        [traceback.FrameSummary(label(f.filename), f.lineno, f.name, line=f.line) for f in frames[first_user:]]
    )
    return "".join(tb.format()).rstrip("\n")


def error_origin(exc: BaseException) -> str:
    """Where ``exc`` was raised in the user's code: ``"Cell In[5], line 6, in echo"`` (the deepest frame that is not
    plumbing; the deepest frame of all if every one is)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "no traceback"
    frame = next((f for f in reversed(frames) if not is_plumbing(f.filename)), frames[-1])
    return f"{label(frame.filename)}, line {frame.lineno}, in {frame.name}"


def is_plumbing(filename: str) -> bool:
    """True for a frame of the server's own machinery (a module of one of ``_PLUMBING``), not the user's code."""
    return filename.startswith(_plumbing_places())


@functools.cache
def _plumbing_places() -> tuple[str, ...]:
    places = []
    for name in _PLUMBING:
        module = sys.modules.get(name) or importlib.import_module(name)
        where = getattr(module, "__file__", None)
        if where:  # a package: its folder; a module: its file
            places.append(os.path.dirname(where) + os.sep if where.endswith("__init__.py") else where)
    return tuple(places)


def label(filename: str) -> str:
    try:
        from IPython import get_ipython
    except ImportError:
        return filename
    shell = get_ipython()
    named = shell.compile.format_code_name(filename) if shell is not None else None
    return " ".join(named) if named else filename
