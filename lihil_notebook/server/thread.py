"""``ServerThread``: uvicorn serving one ASGI app from its own daemon thread and event loop.

Why a thread of its own: the kernel's event loop runs cells; a server on it would freeze whenever a cell blocks, and
uvicorn would take over SIGINT so *Interrupt kernel* stopped the server instead of the cell. Off the main thread
uvicorn installs no signal handlers at all. The loop is also where the notebook's client sessions live, so the
thread exposes it (:meth:`ServerThread.submit`, :meth:`ServerThread.call_soon`).

The socket is bound *before* the thread starts (:func:`bind_socket`): a port in use is a clear error in the caller's
thread, port 0 gives a free port without a check-then-bind race, and the port is known at once.

Stopping is bounded: ``should_exit`` (uvicorn sends close 1012 to open WebSockets), then at most
``graceful_shutdown_timeout`` for handlers to finish before they are cancelled, ``join(stop_timeout)``, and
``force_exit`` as the last resort. A handler that ignores the close cannot keep the thread alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import re
import socket
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from ..errors import ServerNotRunningError, ServerStartError
from .client_protocol import ServedWebSocketProtocol
from .guard import guarded_http
from .serving_loop import ServingLoop
from .ws_protocol import bounded_ws_protocol

THREAD_NAME = "lihil-playground-server"
"""Name of the server thread (tests count threads by this name)."""
DEFAULT_HOST = "127.0.0.1"
RECENT_LOG_LINES = 50
"""How many of the server's own log lines (uvicorn warnings, loop errors) are kept."""


@dataclass(frozen=True)
class ServerSettings:
    """How the server starts, serves and stops. Every limit is here, with the default we use."""

    #: Seconds a stopping server gives open connections after sending them close 1012, before cancelling handlers.
    graceful_shutdown_timeout: int = 1
    #: Seconds to wait for uvicorn to report it is listening.
    startup_timeout: float = 5.0
    #: Seconds to wait for the thread to end after ``should_exit``; then ``force_exit`` is set.
    stop_timeout: float = 3.0
    #: Largest WebSocket message the server accepts, in bytes.
    ws_max_size: int = 16 * 1024 * 1024
    #: Server-side keepalive pings (seconds), None to disable.
    ws_ping_interval: float | None = 20.0
    ws_ping_timeout: float | None = 20.0
    ws_per_message_deflate: bool = True
    #: Largest HTTP request body, in bytes: a larger one is answered 413 without being buffered.
    max_body_size: int = 10 * 1024 * 1024
    #: Seconds a WebSocket handler has to accept (or deny) the handshake before it is cancelled (the client: 503).
    handshake_timeout: float = 10.0
    #: Seconds a handler may block the server loop (time.sleep, a CPU loop) before it is reported.
    blocked_loop_warning: float = 0.5
    #: Largest request line plus headers, in bytes: past it the client gets 431/400 at once, never a hang.
    max_header_size: int = 16 * 1024
    #: Open connections (HTTP and WebSocket) at most; beyond it new ones get 503 and are closed at once. Also at
    #: most half of the process's descriptor limit, so the kernel keeps descriptors of its own (see server.guard).
    max_connections: int = 256
    #: Seconds a client has to send a complete request head (slowloris): then 408 and the connection is closed.
    header_timeout: float = 10.0
    #: Seconds a kept-alive HTTP connection may sit idle between requests before it is closed.
    idle_timeout: float = 5.0
    #: Bytes a WebSocket connection's unsent writes may reach (pongs to a client that does not read) before the
    #: server stops reading from it until they drain.
    ws_write_buffer_limit: int = 256 * 1024


class ExposedServerWarning(UserWarning):
    """The server is bound to an address other machines can reach."""


def warn_exposed(host: str, stacklevel: int) -> None:
    warnings.warn(f"the playground server listens on {host}: every route is reachable from other machines that can "
                  "reach this one (a token is required unless you set token=False); use 127.0.0.1 unless you mean "
                  "it", ExposedServerWarning, stacklevel=stacklevel)


def check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServerStartError(f"port must be an int between 0 and 65535 (0 = any free port), got {port!r}")
    return port


def check_host(host: Any) -> str:
    if not isinstance(host, str) or not host.strip():
        raise ServerStartError(f"host must be an address like 127.0.0.1, got {host!r}")
    return host.strip()




def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)``, ready for uvicorn (which calls ``listen``); port 0 = any free port.

    Raises :class:`ServerStartError` naming the host and port when the address cannot be bound.
    """
    if not 0 <= port <= 65535:
        raise ServerStartError(f"port must be between 0 and 65535 (0 = a free port), got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Lets a restart re-bind the port while closed connections linger in TIME_WAIT; on Linux it does *not*
        # allow two listeners on one port, so "port in use" is still detected.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerStartError(f"port {port} is already in use on {host}; choose another with "
                                   f"`%lihil port N`, or 0 for a free one") from exc
        raise ServerStartError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    """True when only this machine can reach ``host`` (127.0.0.0/8, ::1, "localhost")."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerThread(ServingLoop):
    """uvicorn serving ``app`` on the pre-bound ``sock``, in a daemon thread with its own asyncio loop.

    >>> server = ServerThread(app, bind_socket("127.0.0.1", 0))
    >>> server.start()          # returns once listening; ServerStartError otherwise
    >>> server.port
    >>> server.stop()           # bounded: see ServerSettings

    ``on_log`` receives uvicorn's warnings and errors and the loop's unhandled exceptions as text, so nothing the
    server thread logs lands in whichever notebook cell happens to run.
    """

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket,
        settings: ServerSettings | None = None,
        *,
        on_log: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or ServerSettings()
        self.host, self.port = sock.getsockname()[:2]
        self._sock = sock
        self._on_log = on_log or (lambda text: None)
        config = uvicorn.Config(
            app,
            loop="asyncio",  # predictable and debuggable; uvloop in a notebook buys nothing
            lifespan="auto",
            log_config=None,  # uvicorn's default config would reconfigure logging for the whole kernel
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=self.settings.graceful_shutdown_timeout,
            ws_max_size=self.settings.ws_max_size,
            ws_ping_interval=self.settings.ws_ping_interval,
            ws_ping_timeout=self.settings.ws_ping_timeout,
            ws_per_message_deflate=self.settings.ws_per_message_deflate,
            # websockets-sansio: answers bad handshakes, quiet about clients' errors (client_protocol), bounding
            # unsent writes (ws_protocol)
            ws=bounded_ws_protocol(self.settings.ws_write_buffer_limit, base=ServedWebSocketProtocol),
            h11_max_incomplete_event_size=self.settings.max_header_size,
            # The connection cap and the header-read timeout (see guard); idle keep-alive connections closed.
            http=guarded_http(self.settings.max_connections, self.settings.header_timeout),
            timeout_keep_alive=max(1, round(self.settings.idle_timeout)),
        )
        self._server = _Server(config, on_started=self._settle)
        self._settled = threading.Event()  # set once: listening, or the thread ended without listening
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self.failure: BaseException | None = None
        self.recent_logs: list[str] = []

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<ServerThread {self.host}:{self.port} {state}>"

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread and return once uvicorn listens; raise :class:`ServerStartError` if it does not."""
        self._thread.start()
        timeout = self.settings.startup_timeout
        # Both conditions matter: uvicorn raises SystemExit(3) from a failed startup, which ends the thread
        # without ever setting `started`; waiting on `started` alone would wait forever.
        if not self._settled.wait(timeout):
            self.stop()
            raise ServerStartError(f"the server did not start listening on {self.host}:{self.port} within {timeout} s")
        if not (self._server.started and self._thread.is_alive()):
            self._thread.join(self.settings.stop_timeout)
            reason = f": {self.failure!r}" if self.failure and not isinstance(self.failure, SystemExit) else ""
            details = "\n".join(self.recent_logs[-5:])
            raise ServerStartError(f"the server on {self.host}:{self.port} failed to start{reason}"
                                   + (f"\n{details}" if details else ""))

    def stop(self) -> bool:
        """Stop serving, close the socket and end the thread. Idempotent. Returns False if the thread is stuck."""
        if self._thread.ident is None or not self._thread.is_alive():
            return True
        if threading.current_thread() is self._thread:
            raise RuntimeError("the server cannot be stopped from its own thread (a handler or a callback): "
                               "it would wait for itself; stop it from a notebook cell")
        self._server.should_exit = True
        self._thread.join(self.settings.stop_timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(self.settings.stop_timeout)
        if self._thread.is_alive():
            self._on_log(f"the server thread did not end within {2 * self.settings.stop_timeout} s: a handler "
                         "probably blocks the event loop (time.sleep, a busy loop); it stays as a daemon thread")
            return False
        return True

    @property
    def is_running(self) -> bool:
        return self._server.started and self._thread.is_alive() and not self._server.should_exit

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    # --- running work on the server loop ---------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server thread's event loop (while it runs)."""
        if self._loop is None or self._loop.is_closed() or not self._thread.is_alive():
            raise ServerNotRunningError("the playground server is not running; start it with `%lihil start` "
                                        "or `playground().start()`")
        return self._loop


    # --- the thread ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        _divert_uvicorn_logs(self)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(self._on_loop_exception)
        self._loop = loop
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # SystemExit(3) from a failed startup, or a bug: report, never escape
            self.failure = exc
        finally:
            try:
                _cancel_leftovers(loop, self.settings.stop_timeout)
            finally:
                loop.close()
                self._sock.close()
                self._settled.set()

    def _settle(self) -> None:
        self._settled.set()

    def log(self, text: str) -> None:
        """Keep ``text`` among the recent log lines and hand it to ``on_log`` — with any token blanked out (with
        debug logging on, uvicorn and websockets log request lines and headers)."""
        text = redact(text)
        self.recent_logs.append(text)
        del self.recent_logs[:-RECENT_LOG_LINES]
        self._on_log(text)

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.log(f"{context.get('message', 'unhandled exception in the server loop')}"
                 + (f": {exc!r}" if exc is not None else ""))


_SECRETS = re.compile(r"(lihil_token(?:_\d+)?=)[^&\s;]+|((?:authorization|cookie):\s*).*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` without tokens: ``lihil_token=…`` values, and Authorization and Cookie header values."""
    return _SECRETS.sub(lambda m: (m[1] or m[2]) + "…", text)


class _Server(uvicorn.Server):
    """uvicorn's server, telling us the moment it listens (uvicorn only sets a flag)."""

    def __init__(self, config: uvicorn.Config, *, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop, timeout: float) -> None:
    """Cancel tasks still pending after uvicorn returned (client sessions' readers) and let them finish."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        gathered = asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            loop.run_until_complete(asyncio.wait_for(gathered, timeout))
    loop.run_until_complete(loop.shutdown_asyncgens())


# --- uvicorn's logs ------------------------------------------------------------------------------------------------

_servers_by_thread: dict[int, ServerThread] = {}
_servers_lock = threading.Lock()


class _DivertServerLogs(logging.Filter):
    """Takes uvicorn records logged on a playground server thread out of the logging system, into that server's log.

    A filter on the emitting logger (not a handler) is what stops propagation to the root logger, whose
    last-resort handler would print to stderr, that is, into whichever notebook cell is running.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        with _servers_lock:
            server = _servers_by_thread.get(record.thread or 0)
        if server is None or not server.thread.is_alive():
            # Someone else's uvicorn — possibly on a new thread that reuses a finished server thread's ident.
            return True
        server.log(record.getMessage())
        return False


_DIVERT = _DivertServerLogs()


def _divert_uvicorn_logs(server: ServerThread) -> None:
    """From now on, uvicorn records logged on the calling thread (``server``'s) go to ``server.log``."""
    for name in ("uvicorn.error", "uvicorn.asgi", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DivertServerLogs) for f in logger.filters):
            logger.addFilter(_DIVERT)
    with _servers_lock:
        for ident in [i for i, s in _servers_by_thread.items() if not s.thread.is_alive()]:
            del _servers_by_thread[ident]
        _servers_by_thread[threading.get_ident()] = server
