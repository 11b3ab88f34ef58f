"""``Playground``: the kernel's one state object — the lihil app, the live route table, the server, the sessions.

>>> pg = playground()                       # the kernel's Playground (the same one after %reload_ext)
>>> pg.mount_ws("/echo/{room}", echo)       # what %%ws_route does after running the cell
>>> s = pg.connect("/echo/lobby")           # a client Session, connected through the real server
>>> pg.stop(); pg.start()                   # routes survive; the port is kept when it is still free

Threads: ``mount_*``/``unmount``/``start``/``stop`` may be called from any thread except the server's own (a handler
stopping the server would wait for itself); everything async runs on the server thread's loop.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from starlette.types import Scope

from lihil import Lihil

from .client.session import LOG_LIMIT, SESSION_HEADER, LogEntry, Session
from .errors import (
    PlaygroundError,
    ServerNotRunningError,
    ServerStartError,
)
from .server import capture
from .server.connections import ConnectionTracker, header_value
from .server.routes import RouteInfo, RouteKind, RouteTable, check_path
from .server.thread import DEFAULT_HOST, ServerSettings, ServerThread, bind_socket, is_loopback

__all__ = ["ExposedServerWarning", "LogEntry", "Playground", "RouteInfo", "RouteKind", "Session", "check_path", "playground"]

T = TypeVar("T")

SHELL_ATTRIBUTE = "_lihil_playground"
"""Where the kernel's Playground lives: on the IPython shell, which %reload_ext does not re-create."""
MAX_SESSIONS = 100
"""Closed sessions kept in ``pg.sessions`` (open ones are always kept)."""
SERVER_LOG_LINES = 200
CONNECT_GRACE = 1.0
"""Seconds a blocking call waits beyond its own timeout before giving up on the server loop."""


class ExposedServerWarning(UserWarning):
    """The server is bound to an address other machines can reach."""


class Playground:
    """The lihil app served from a background thread, its live routes, and the notebook's client sessions."""

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        settings: ServerSettings | None = None,
        max_sessions: int = MAX_SESSIONS,
        session_log_limit: int = LOG_LIMIT,
    ) -> None:
        self.app: Lihil[None] = Lihil()
        self.settings = settings or ServerSettings()
        self._host, self._port = _check_host(host), _check_port(port)
        self._last_port = 0  # the port last served on: reused by the next start when the setting is 0
        self._max_sessions, self._session_log_limit = max_sessions, session_log_limit
        self._routes = RouteTable(self.app, lambda: self._notify("routes"))
        self._sessions: list[Session] = []
        self._sessions_by_id: dict[str, Session] = {}
        self._observers: list[Callable[[str], None]] = []
        self._server: ServerThread | None = None
        self._lock = threading.RLock()
        self._at_exit_registered = False
        self.server_log: deque[str] = deque(maxlen=SERVER_LOG_LINES)
        self.asgi_app = ConnectionTracker(lambda: self.app, self._session_for, self._routes.find_for_scope,
                                          self.server_log.append)

    def __repr__(self) -> str:
        where = self.url if self.is_running else "stopped"
        return f"<Playground {where}, {len(self.routes)} route(s)>"

    # --- where it serves ----------------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._server is not None and self._server.is_running

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int | None:
        """The port being served on; None while stopped."""
        return self._server.port if self.is_running and self._server else None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (raises ServerNotRunningError while stopped)."""
        return f"http://{self._netloc()}"

    def ws_url(self, path: str) -> str:
        """``ws://127.0.0.1:PORT/path`` for ``path`` (which may carry a query string)."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"ws_url(path): expected a path starting with '/', got {path!r}")
        return f"ws://{self._netloc()}{path}"

    def _netloc(self) -> str:
        port = self.port
        if port is None:
            raise ServerNotRunningError("the playground server is stopped; start it with `%lihil start` or "
                                        "`pg.start()`")
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else "[::1]" if self._host == "::" else self._host
        return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"

    # --- server lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving (idempotent). The port: the one set, else the last one used if still free, else a free one."""
        with self._lock:
            if self.is_running:
                return
            self._launch(self._bind(self._host))
        self._notify("server")

    def stop(self) -> None:
        """Close client sessions (1001), stop the server (open connections get 1012), free the port. Idempotent."""
        server = self._server
        if server is not None and threading.current_thread() is server.thread:
            raise RuntimeError("the playground server cannot be stopped or moved from its own thread (a handler or "
                               "a callback): it would wait for itself; do it from a cell")
        with self._lock:
            server, self._server = self._server, None
            if server is None:
                return
            sessions = list(self._sessions)
        # Outside the lock: stopping waits for the server thread, which may itself need the lock meanwhile
        # (a console callback reading pg.routes, say); holding it would stall that code until the join times out.
        self._close_sessions(sessions, server, 1001, "the playground server is stopping")
        server.stop()
        for session in sessions:
            session.abandon()
        self._notify("server")
        self._notify("sessions")

    def restart(self) -> None:
        self.stop()
        self.start()

    def set_port(self, port: int) -> None:
        """Serve on ``port`` from now on (0 = any free port). If it cannot be bound the running server keeps going."""
        port = _check_port(port)
        with self._lock:
            if self.is_running and port != 0 and port == self.port:
                self._port = port
                return
            if self.is_running:
                sock = bind_socket(self._host, port)  # ServerStartError here leaves everything as it was
                self._replace(sock)
            self._port = port
        self._notify("server")

    def set_host(self, host: str) -> None:
        """Bind ``host`` from now on; anything but a loopback address warns (routes become reachable remotely)."""
        host = _check_host(host)
        if not is_loopback(host):
            warnings.warn(f"the playground server now listens on {host}: every route is reachable from other "
                          "machines that can reach this one; use 127.0.0.1 unless you mean it",
                          ExposedServerWarning, stacklevel=2)
        with self._lock:
            old_host, running = self._host, self.is_running
            if running:
                self.stop()
            self._host = host
            if running:
                try:
                    self.start()
                except ServerStartError:
                    self._host = old_host
                    self.start()
                    raise

    def _bind(self, host: str) -> Any:
        port = self._port or self._last_port
        try:
            return bind_socket(host, port)
        except ServerStartError:
            if self._port == 0 and port != 0:  # the remembered port was taken meanwhile: any free one will do
                return bind_socket(host, 0)
            raise

    def _launch(self, sock: Any) -> None:
        server = ServerThread(self.asgi_app, sock, self.settings, on_log=self.server_log.append)
        capture.install()  # handler prints go to their connection from now on
        server.start()
        self._server, self._last_port = server, server.port
        if not self._at_exit_registered:
            # Kernel shutdown: close connections properly (1012) instead of dropping them with the process.
            atexit.register(self._stop_at_exit)
            self._at_exit_registered = True

    def _replace(self, sock: Any) -> None:
        if self._server is not None and threading.current_thread() is self._server.thread:
            sock.close()
            self.stop()  # raises the clear error
        old, self._server = self._server, None
        if old is not None:
            self._close_sessions(list(self._sessions), old, 1001, "the playground server is moving to another port")
            old.stop()
            for session in list(self._sessions):
                session.abandon()
        self._launch(sock)

    def _stop_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()

    # --- routes -------------------------------------------------------------------------------------------------

    @property
    def routes(self) -> list[RouteInfo]:
        return self._routes.infos()

    def mount(self, kind: RouteKind | str, path: str, handler: Callable[..., Any], method: str = "GET") -> RouteInfo:
        """Serve ``handler`` at ``path`` as a WebSocket route (``kind="ws"``) or an HTTP endpoint for ``method``
        (``kind="http"``); what ``%%ws_route`` and ``%%route`` do. See :meth:`mount_ws` and :meth:`mount_http`."""
        return self._routes.mount(RouteKind(kind), path, handler, method)

    def mount_ws(self, path: str, handler: Callable[..., Any]) -> RouteInfo:
        """Serve ``handler`` (an ``async def``) as the WebSocket route ``path``; replaces an earlier handler there.

        The next connection uses the new handler; open connections finish on the old one and their sessions are
        told they are stale. A bad handler raises :class:`RouteDefinitionError` and changes nothing.
        """
        return self.mount(RouteKind.WS, path, handler)

    def mount_http(self, path: str, handler: Callable[..., Any], method: str = "GET") -> RouteInfo:
        """Serve ``handler`` (sync or async) for ``method`` requests to ``path``; other methods there are kept."""
        return self.mount(RouteKind.HTTP, path, handler, method)

    def unmount(self, path: str) -> None:
        """Remove the route at ``path``: the next connection gets 404; open connections finish."""
        self._routes.unmount(path)

    # --- client sessions ----------------------------------------------------------------------------------------

    @property
    def sessions(self) -> list[Session]:
        with self._lock:
            return list(self._sessions)

    def connect(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        timeout: float = 5.0,
        name: str | None = None,
    ) -> Session:
        """Open a :class:`Session` to ``path`` (``"/echo/lobby?upper=true"``) and return it once connected.

        Raises :class:`~lihil_notebook.errors.SessionConnectError` when the handshake is denied (with the HTTP
        status and the problem JSON naming each bad parameter), refused, or does not finish within ``timeout``.
        """
        session, future = self._open(path, name, headers, subprotocols, timeout)
        if threading.current_thread() is session.loop_thread:
            raise RuntimeError("pg.connect() blocks, and it was called on the server thread (a handler); use "
                               "`await pg.aconnect(...)` or pg.connect_nowait() there")
        try:
            future.result(timeout + CONNECT_GRACE)
        except TimeoutError:
            if future.done():
                raise
            future.cancel()
            raise TimeoutError(f"connecting to {session.url} did not finish in {timeout} s") from None
        except KeyboardInterrupt:
            future.cancel()
            raise
        return session

    async def aconnect(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        timeout: float = 5.0,
        name: str | None = None,
    ) -> Session:
        """:meth:`connect` for ``await``: from a cell (any loop) or from a handler on the server loop."""
        session, future = self._open(path, name, headers, subprotocols, timeout)
        await asyncio.wait_for(asyncio.wrap_future(future), timeout + CONNECT_GRACE)
        return session

    def connect_nowait(
        self,
        path: str,
        *,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        timeout: float = 5.0,
    ) -> Session:
        """Like :meth:`connect` but returns at once, in state "connecting"; the outcome lands in the session's log."""
        session, _ = self._open(path, name, headers, subprotocols, timeout)
        return session

    def open_session(self, path: str, **kwargs: Any) -> Session:
        """The earlier name of :meth:`connect_nowait` (deprecated)."""
        warnings.warn("pg.open_session() is now pg.connect_nowait()", DeprecationWarning, stacklevel=2)
        return self.connect_nowait(path, **kwargs)

    def _session_for(self, scope: Scope) -> Session | None:
        """The notebook session on the other end of a WebSocket connection (its id is in a handshake header)."""
        if scope["type"] != "websocket":
            return None
        session_id = header_value(scope, SESSION_HEADER.encode())
        return self._sessions_by_id.get(session_id) if session_id else None

    def _open(
        self, path: str, name: str | None, headers: Mapping[str, str] | None, subprotocols: Sequence[str] | None,
        timeout: float,
    ) -> tuple[Session, concurrent.futures.Future[None]]:
        self.start()  # a client needs the server
        server = self._require_server()
        # A ws:// or wss:// URL dials that server (another local one, a public echo service) from the same loop.
        url = path if path.startswith(("ws://", "wss://")) else self.ws_url(path)
        session = Session(path=path, url=url, loop=server.loop, loop_thread=server.thread, name=name,
                          headers=headers, subprotocols=subprotocols, log_limit=self._session_log_limit)
        session.subscribe(self._on_session_entry)
        with self._lock:
            self._sessions.append(session)
            self._sessions_by_id[session.id] = session
            self._prune_sessions()
        self._notify("sessions")
        return session, server.submit(session.open_connection(timeout))

    def _on_session_entry(self, entry: LogEntry) -> None:
        if entry.kind in ("open", "close", "denied", "stale") or (entry.kind == "error" and entry.direction == "event"):
            self._notify("sessions")

    def _prune_sessions(self) -> None:
        closed = [s for s in self._sessions if s.closed]
        for old in closed[: max(0, len(closed) - self._max_sessions)]:
            self._sessions.remove(old)
            self._sessions_by_id.pop(old.id, None)

    def _close_sessions(self, sessions: list[Session], server: ServerThread, code: int, reason: str) -> None:
        open_ones = [s for s in sessions if not s.closed]
        if not open_ones:
            return

        async def close_all() -> None:
            await asyncio.gather(*(s.close_connection(code, reason) for s in open_ones), return_exceptions=True)

        with contextlib.suppress(Exception):
            server.submit(close_all()).result(self.settings.stop_timeout)

    # --- for the console: events and the server loop -------------------------------------------------------------

    def observe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(event)`` ("routes", "sessions", "server") on changes; returns an unsubscribe function.

        The callback runs on whichever thread made the change and must be cheap.
        """
        self._observers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._observers.remove(callback)

        return unsubscribe

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run the plain function ``fn(*args)`` on the server loop thread."""
        self._require_server().call_soon(fn, *args)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the server loop; returns a ``concurrent.futures.Future``."""
        try:
            server = self._require_server()
        except PlaygroundError:
            coro.close()
            raise
        return server.submit(coro)

    def _require_server(self) -> ServerThread:
        server = self._server
        if server is None or not server.is_running:
            raise ServerNotRunningError("the playground server is stopped; start it with `%lihil start` or "
                                        "`pg.start()`")
        return server

    def _notify(self, event: str) -> None:
        for callback in list(self._observers):
            try:
                callback(event)
            except Exception as exc:  # an observer's bug must not break a route definition
                self.server_log.append(f"observer {callback!r} failed on {event!r}: {exc!r}")


# --- the kernel's one Playground ------------------------------------------------------------------------------------

_standalone: Playground | None = None
_singleton_lock = threading.Lock()


def playground() -> Playground:
    """The kernel's Playground (created on first use). Outside IPython: one per process."""
    global _standalone
    shell = _ipython_shell()
    with _singleton_lock:
        if shell is not None:
            found = getattr(shell, SHELL_ATTRIBUTE, None)
            if found is None:
                found = _standalone or Playground()
                setattr(shell, SHELL_ATTRIBUTE, found)
            return found
        if _standalone is None:
            _standalone = Playground()
        return _standalone


def _ipython_shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServerStartError(f"port must be an int between 0 and 65535 (0 = any free port), got {port!r}")
    return port


def _check_host(host: Any) -> str:
    if not isinstance(host, str) or not host.strip():
        raise ServerStartError(f"host must be an address like 127.0.0.1, got {host!r}")
    return host.strip()


