"""``Playground``: the kernel's one state object — the lihil app, the live route table, the server, the sessions.

>>> pg = playground()                       # the kernel's Playground (lihil_notebook.kernel)
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
from typing import Any, ClassVar, TypeVar

from starlette.types import Scope

import lihil.socket as lihil_socket
from lihil import Lihil

from .addresses import Addresses
from .client.connection import DialFailed
from .client.frames import MAX_UNREAD_BYTES
from .client.log import LOG_LIMIT, SESSION_LOG_BYTES
from .client.session import LogEntry, Session
from .client.sessions import MAX_SESSIONS, TOTAL_LOG_BYTES, SessionRegistry
from .errors import PlaygroundError, ServerNotRunningError, ServerStartError
from .reach import Reach, jupyter_origins
from .server import capture
from .server.access import Access
from .server.connections import ConnectionTracker, header_value
from .server.edge import Edge, Refusal
from .server.inprocess import InProcessServer
from .server.prefix import ProxyPrefix
from .server.routes import RouteInfo, RouteKind, RouteTable, check_path
from .server.thread import (
    DEFAULT_HOST,
    ExposedServerWarning,
    ServerSettings,
    ServerThread,
    bind_socket,
    check_host,
    check_port,
    is_loopback,
    warn_exposed,
)
from .server.urls import DirectUrls
from .server.watchdog import LoopWatchdog
from .transports import (
    NO_NETWORK,
    Transport,
    TransportChoice,
    check_transport,
    no_redis_here,
    session_transport,
    submitter,
)
from .wire import SESSION_HEADER

__all__ = ["ExposedServerWarning", "LogEntry", "Playground", "PortMovedWarning", "RouteInfo", "RouteKind", "Session", "check_path"]

T = TypeVar("T")

SERVER_LOG_LINES = 200
CONNECT_GRACE = 1.0
"""Seconds a blocking call waits beyond its own timeout before giving up on the server loop."""


class PortMovedWarning(UserWarning):
    """The playground's port changed on a restart (the old one was taken): URLs shown before no longer work."""


class Playground(Addresses, TransportChoice):
    """The lihil app served from a background thread, its live routes, and the notebook's client sessions.

    Where it is reached and who may reach it (URLs, the token, allowed origins and hosts): :class:`Addresses`."""

    #: What :meth:`show` displays; set by the package (the ui room), which the playground may not import.
    page_view: ClassVar[Callable[..., Any] | None] = None

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        settings: ServerSettings | None = None,
        token: str | bool | None = None,
        allowed_origins: Sequence[str] = (),
        allowed_hosts: Sequence[str] = (),
        max_sessions: int = MAX_SESSIONS,
        session_log_limit: int = LOG_LIMIT,
        session_log_bytes: int = SESSION_LOG_BYTES,
        total_log_bytes: int = TOTAL_LOG_BYTES,
        max_unread_bytes: int = MAX_UNREAD_BYTES,
        transport: Transport | None = None,
    ) -> None:
        """``token``: None or True = a generated one (the default, as Jupyter's), False = none (warns: every local
        account may then connect), a string = that token. ``allowed_origins`` / ``allowed_hosts``: who else may connect (see
        :mod:`lihil_notebook.server.edge`). Memory: ``max_sessions`` closed sessions are kept in :attr:`sessions`;
        each session's log holds at most ``session_log_limit`` entries and ``session_log_bytes`` bytes, all logs
        together ``total_log_bytes`` (closed sessions' logs are released first, oldest first), and unread messages
        at most ``max_unread_bytes`` per session. Whatever is dropped leaves an entry that says so. ``transport``:
        "tcp", "in-process" or None (the platform's choice): :mod:`lihil_notebook.transports`."""
        self._transport = check_transport(transport)
        self.app: Lihil[None] = Lihil()
        self.settings = settings or ServerSettings()
        self._host, self._port = check_host(host), check_port(port)
        self.urls = DirectUrls(lambda: self._host, lambda: self.port, lambda: self.access.token)
        self.access = Access(token=token, allowed_origins=allowed_origins, allowed_hosts=allowed_hosts,
                             settings=self.settings)
        self.access.bound(self._host, None)
        self.access.set_page_origins(jupyter_origins())  # the Jupyter page this kernel's outputs run in
        if not is_loopback(self._host):
            warn_exposed(self._host, stacklevel=2)
        self._last_port = 0  # the port last served on: reused by the next start when the setting is 0
        self._sessions = SessionRegistry(on_change=lambda: self._notify("sessions"), max_sessions=max_sessions,
                                         log_limit=session_log_limit, log_bytes=session_log_bytes,
                                         total_log_bytes=total_log_bytes, max_unread_bytes=max_unread_bytes)
        self._routes = RouteTable(self.app, lambda: self._notify("routes"))
        self._observers: list[Callable[[str], None]] = []
        self._server: ServerThread | InProcessServer | None = None
        self._lock = threading.RLock()
        self._at_exit_registered = False
        self.server_log: deque[str] = deque(maxlen=SERVER_LOG_LINES)
        self._watchdog: LoopWatchdog | None = None
        self._reach: Reach | None = None
        self._bus: Any = None
        tracker = ConnectionTracker(lambda: self.app, self._session_for, self._routes.find_for_scope,
                                    self.server_log.append)
        # The edge comes first: nothing reaches the tracker (or a handler) before it has let the request in.
        self.asgi_app = Edge(ProxyPrefix(tracker), lambda: self.access.rules, self.access.log,
                             on_handshake_timeout=self._on_handshake_timeout, on_refusal=self._on_refusal)

    def __repr__(self) -> str:
        where = (NO_NETWORK if self.in_process else self.url) if self.is_running else "stopped"
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

    def show(self, path: str, **options: Any) -> Any:
        """The ``%%route`` page at ``path`` in an output iframe, its WebSockets through the widget comm: works where
        no port is reachable (Colab). Options: :func:`lihil_notebook.ui.page_frame.show_page`."""
        if Playground.page_view is None:
            raise RuntimeError("pg.show() needs the notebook extension: import lihil_notebook")
        return Playground.page_view(self, path, **options)

    # --- server lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving (idempotent). The port: the one set, else the last one used if still free, else a free one."""
        with self._lock:
            if self.is_running:
                return
            self._launch_in_process() if self.in_process else self._launch(self._bind(self._host))
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
        # Outside the lock: stopping waits for the server thread, which may itself need the lock meanwhile
        # (a console callback reading pg.routes, say); holding it would stall that code until the join times out.
        submit = submitter(server, self.settings.stop_timeout)
        self._sessions.close_all(submit, 1001, "the playground server is stopping", self.settings.stop_timeout)
        if self._bus is not None:  # its Redis connections belong to this loop (a new loop makes new ones)
            with contextlib.suppress(Exception):
                submit(self._bus.aclose()).result(self.settings.stop_timeout)
        self._stop_watchdog()
        server.stop()
        self._sessions.abandon_all()
        self._notify("server")
        self._notify("sessions")

    def restart(self) -> None:
        self.stop()
        self.start()

    def set_port(self, port: int) -> None:
        """Serve on ``port`` from now on (0 = any free port). If it cannot be bound the running server keeps going."""
        self._refuse_in_process("set_port")
        port = check_port(port)
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
        self._refuse_in_process("set_host")
        host = check_host(host)
        if not is_loopback(host) and not self.is_running:  # a running server warns as it binds again
            warn_exposed(host, stacklevel=3)
        with self._lock:
            old_host, running = self._host, self.is_running
            if running:
                self.stop()
            self._host = host
            self.access.bound(host, None)
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
                sock = bind_socket(host, 0)
                moved = (f"port {port} was taken by another program while the playground was stopped, so it now "
                         f"serves on port {sock.getsockname()[1]}: URLs shown before (and pages using them) need "
                         "the new port; `%lihil port N` pins one")
                self.server_log.append(moved)
                warnings.warn(moved, PortMovedWarning, stacklevel=4)
                return sock
            raise

    def _launch(self, sock: Any) -> None:
        host = sock.getsockname()[0]
        if not is_loopback(host):
            warn_exposed(host, stacklevel=4)  # every time it binds: this is not a state to forget about
        server = ServerThread(self.asgi_app, sock, self.settings, on_log=self.server_log.append)
        self.access.settings_changed(self.settings)  # pg.settings may have been replaced since
        self.access.bound(host, server.port)  # before the first request: the rules know the port
        capture.install()  # handler prints go to their connection from now on
        server.start()
        self._server, self._last_port = server, server.port
        self._watchdog = LoopWatchdog(server.loop, server.thread, self.settings.blocked_loop_warning,
                                      self._on_blocked_loop, self._routes.describe_handler)
        self._watchdog.start()
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
            self._sessions.close_all(old.submit, 1001, "the playground server is moving to another port",
                                     self.settings.stop_timeout)
            self._stop_watchdog()
            old.stop()
            self._sessions.abandon_all()
        self._launch(sock)

    def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.stop()

    # --- what the server thread reports ---------------------------------------------------------------------------

    def _on_handshake_timeout(self, scope: Scope, text: str) -> None:
        self.server_log.append(f"{scope['path']}: {text}")
        self._routes.report(self._routes.find_for_scope(scope), text)

    def _on_refusal(self, refusal: Refusal) -> None:
        self._notify("edge")

    def _on_blocked_loop(self, text: str, handler_code: Any) -> None:
        self.server_log.append(text)
        entry = self._routes.entry_for_code(handler_code) if handler_code is not None else None
        self._routes.report(entry, f"warning: {text}", tell_sessions=text)

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

    def mount_hub(self, path: str, *channels: type[Any], on_connect: Any = None, on_disconnect: Any = None) -> RouteInfo:
        """Serve ``channels`` (lihil ``ChannelBase`` subclasses) as a SocketHub at ``path`` — what ``%%ws_hub``
        does. A redefinition replaces the channels for the next connection; the rooms (the bus) stay."""
        return self._routes.mount_hub(path, channels, on_connect=on_connect, on_disconnect=on_disconnect,
                                      bus=self._bus)

    @property
    def bus(self) -> Any:
        """The bus the playground's hubs share (a RedisSocketBus), or None: each hub its own in-memory rooms."""
        return self._bus

    def set_bus(self, url: str | None) -> Any:
        """Put every hub, now and later, on Redis at ``url`` (``redis://127.0.0.1:6379/0``): rooms shared with every
        process and kernel on that Redis. ``None`` or ``"memory"``: back to in-memory rooms. Open connections stay on
        the bus they started with."""
        no_redis_here(url)
        # RedisSocketBus comes from lihil.socket on first use: redis-py is an optional extra.
        old, self._bus = self._bus, None if url in (None, "memory") else lihil_socket.RedisSocketBus(url)
        self._routes.set_bus(self._bus)
        if old is not None and self.is_running:
            # Its Redis connections live on the server loop; connections still on it lose its rooms now.
            with contextlib.suppress(Exception):
                self.submit(old.aclose()).result(self.settings.stop_timeout)
        return self._bus

    def unmount(self, path: str) -> None:
        """Remove the route at ``path``: the next connection gets 404; open connections finish."""
        self._routes.unmount(path)

    # --- client sessions ----------------------------------------------------------------------------------------

    @property
    def sessions(self) -> list[Session]:
        return self._sessions.all()

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
        __tracebackhide__ = True  # IPython and pytest show the user's line, not ours
        if self.in_process:  # one loop: drive it, suspend on it (Pyodide), or say to await
            return self._connect_in_process(self.aconnect(path, headers=headers, subprotocols=subprotocols,
                                                          timeout=timeout, name=name), timeout + CONNECT_GRACE)
        session, future = self._open(path, name, headers, subprotocols, timeout)
        if session.on_owner_loop():
            future.cancel()
            raise RuntimeError("pg.connect() blocks, and it was called on the server thread (a handler; in-process: "
                               "the kernel's loop the playground serves on); use `await pg.aconnect(...)` or "
                               "pg.connect_nowait() there")
        try:
            future.result(timeout + CONNECT_GRACE)
        except DialFailed as exc:
            raise exc.public() from None  # the documented error, raised here: not five frames of our plumbing
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
        __tracebackhide__ = True
        session, future = self._open(path, name, headers, subprotocols, timeout)
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), timeout + CONNECT_GRACE)
        except DialFailed as exc:
            raise exc.public() from None
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

    def _session_for(self, scope: Scope) -> Session | None:
        """The notebook session on the other end of a WebSocket connection (its id is in a handshake header)."""
        if scope["type"] != "websocket":
            return None
        session_id = header_value(scope, SESSION_HEADER.encode())
        return self._sessions.find(session_id) if session_id else None

    def _open(
        self, path: str, name: str | None, headers: Mapping[str, str] | None, subprotocols: Sequence[str] | None,
        timeout: float,
    ) -> tuple[Session, concurrent.futures.Future[None]]:
        self.start()  # a client needs the server
        server = self._require_server()
        # A ws:// or wss:// URL dials that server (another local one, a public echo service) from the same loop,
        # without the playground's token: that is for this server only.
        external = path.startswith(("ws://", "wss://"))
        url, transport = session_transport(server, path, external, self.asgi_app,
                                           lambda: self.urls.bare("ws", path, "connect"))
        session = self._sessions.new(path=path, url=url, loop=server.loop, name=name, headers=headers,
                                     subprotocols=subprotocols, token=None if external else self.access.token,
                                     **transport)
        return session, server.submit(session.open_connection(timeout))

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

    def _require_server(self) -> ServerThread | InProcessServer:
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

