"""The transport seam of the :class:`~lihil_notebook.playground.Playground`: which server it runs, and what differs.

* ``"tcp"`` — uvicorn on a pre-bound 127.0.0.1 socket in its own thread (:mod:`lihil_notebook.server.thread`);
  sessions dial it with ``websockets``;
* ``"in-process"`` — the app called on the kernel's own loop (:mod:`lihil_notebook.server.inprocess`): no port, no
  thread, no watchdog; sessions connect through an in-memory ASGI connection
  (:mod:`lihil_notebook.client.asgi_connection`). The only choice in JupyterLite's Pyodide kernel.

``None`` picks: in-process where the platform cannot serve otherwise (``sys.platform == "emscripten"``), else TCP.
Everything else — the app, the edge chain (its outermost layer), the route table, the sessions' API and log — is
one and the same in both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Literal, TypeVar

from .client.asgi_connection import asgi_get, dial_asgi
from .client.connection import Dialer
from .client.in_process_session import InProcessSession, run_until
from .errors import PlaygroundError
from .server import capture
from .server.access import Access
from .server.inprocess import NO_NETWORK, InProcessServer, in_process_by_default
from .server.thread import ServerSettings, ServerThread
from .server.urls import DirectUrls

__all__ = ["IN_PROCESS", "NO_NETWORK", "TCP", "Transport", "TransportChoice", "check_transport", "no_redis_here",
           "submitter"]

T = TypeVar("T")
Transport = Literal["tcp", "in-process"]
TCP: Transport = "tcp"
IN_PROCESS: Transport = "in-process"


def check_transport(value: Any) -> Transport:
    """``"tcp"``, ``"in-process"`` (also ``"inprocess"``/``"in_process"``), or None for the platform's choice."""
    if value is None:
        return IN_PROCESS if in_process_by_default() else TCP
    if isinstance(value, str):
        normal = value.strip().lower().replace("_", "-")
        if normal in ("tcp", "in-process", "inprocess"):
            return TCP if normal == "tcp" else IN_PROCESS
    raise PlaygroundError(f"transport must be 'tcp', 'in-process' or None (in-process on emscripten, else tcp), "
                          f"got {value!r}")


def no_redis_here(url: str | None) -> None:
    """Raise where Redis cannot be reached at all: a browser kernel has no sockets."""
    if url not in (None, "memory") and sys.platform == "emscripten":
        raise PlaygroundError(f"set_bus({url!r}): this kernel runs in the browser (Pyodide), which opens no network "
                              "connections, so there is no Redis to reach; hubs keep their in-memory rooms, which "
                              "every connection in this kernel shares")


def submitter(server: ServerThread | InProcessServer, timeout: float) -> Callable[[Coroutine[Any, Any, Any]],
                                                                            concurrent.futures.Future[Any]]:
    """A ``submit`` for code that then waits on ``.result()``: the server thread's; in-process one that runs the
    coroutine to its end first when the loop can be driven here, or lets it finish after the current cell (a cell
    cannot wait for its own loop)."""
    if not isinstance(server, InProcessServer):
        return server.submit

    def submit(coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[None]:
        server.settle(coro, timeout)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        done.set_result(None)
        return done

    return submit


def no_port(action: str) -> PlaygroundError:
    return PlaygroundError(f"{action}: the playground runs in-process ({NO_NETWORK}): it has no port or address; "
                           "`%lihil transport tcp` serves over TCP where the platform allows it")


class TransportChoice:
    """Mixed into Playground, which provides the attributes below: which transport it serves over."""

    _transport: Transport
    _lock: threading.RLock
    _server: ServerThread | InProcessServer | None
    asgi_app: Any
    access: Access
    settings: ServerSettings
    server_log: Any
    urls: DirectUrls

    @property
    def is_running(self) -> Any: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def _notify(self, event: str) -> None: ...

    @property
    def in_process(self) -> bool:
        """True when the app is served on the kernel's own loop (no port, no thread): see :attr:`transport`."""
        return self._transport == IN_PROCESS

    @property
    def transport(self) -> Transport:
        """ "tcp" or "in-process" (:mod:`lihil_notebook.transports`); change it with :meth:`set_transport`."""
        return self._transport

    def set_transport(self, transport: Transport | None) -> Transport:
        """Serve over ``transport`` from now on (None: the platform's choice); a running server moves at once
        (sessions are closed with 1001, routes stay)."""
        chosen = check_transport(transport)
        with self._lock:
            running = self.is_running
            if chosen != self._transport and running:
                self.stop()
            self._transport = chosen
            if running:
                self.start()
        self._notify("server")
        return chosen

    def _refuse_in_process(self, action: str) -> None:
        if self.in_process:
            raise no_port(action)

    def _connect_in_process(self, connecting: Coroutine[Any, Any, T], timeout: float) -> T:
        self.start()
        assert isinstance(self._server, InProcessServer)
        return run_until(self._server.loop, connecting, timeout, "pg.connect()", "await pg.aconnect(...)")

    def run_pending(self, seconds: float = 0.0) -> None:
        """In-process, where no loop runs (a script, a test): let the playground's loop run what waits on it —
        handlers, sessions, timers — for ``seconds``. Nothing to do over TCP or where a loop runs (a kernel)."""
        server = self._server
        if isinstance(server, InProcessServer) and server.is_running and not server.loop.is_running() \
                and sys.platform != "emscripten":
            server.loop.run_until_complete(asyncio.sleep(seconds))

    def dial_target(self, path: str) -> tuple[str, Dialer | None]:
        """For code that dials the playground on a page's behalf (``pg.show``'s tunnel): the URL of ``path`` and the
        transport's dialer — in-process the app itself; over TCP None (websockets, ``ws://127.0.0.1:PORT``)."""
        if self.in_process:
            return in_process_url(path), dial_asgi(self.asgi_app)
        return self.urls.bare("ws", path, "dial_target"), None  # the token goes in a header

    def get_in_process(self, path: str, headers: Mapping[str, str], timeout: float) -> tuple[int, str, bytes]:
        """GET ``path`` from the app in this process (``pg.show`` fetching its page): (status, type, body)."""
        self.start()
        assert isinstance(self._server, InProcessServer)
        return run_until(self._server.loop, asgi_get(self.asgi_app, path, headers), timeout, "pg.show()",
                         "pg.show() from a browser that can suspend a cell (JS Promise Integration)")

    def _launch_in_process(self) -> None:
        """The app on the kernel's own loop: no socket, no thread, so no watchdog (nothing could watch the loop)."""
        server = InProcessServer(self.asgi_app, on_log=self.server_log.append)
        self.access.settings_changed(self.settings)
        self.access.bound("127.0.0.1", None)
        capture.install()
        server.start()
        self._server = server


def in_process_url(path: str) -> str:
    """What an in-process session's log names as its URL: no host anyone could dial."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"connect(path): expected a path starting with '/', got {path!r}")
    return f"ws://in-process{path}"


def session_transport(server: ServerThread | InProcessServer, path: str, external: bool, app: Any,
                      tcp_url: Callable[[], str]) -> tuple[str, dict[str, Any]]:
    """The URL a new session shows, and how it connects and waits (``SessionRegistry.new``'s ``dial`` and
    ``session_type``): over TCP websockets' client; in-process the app itself, and blocking calls that drive or
    suspend on the one loop. A ``ws://`` URL of another server is dialled with websockets either way."""
    if not isinstance(server, InProcessServer):
        return (path if external else tcp_url()), {}
    if external:
        return path, {"session_type": InProcessSession}
    return in_process_url(path), {"session_type": InProcessSession, "dial": dial_asgi(app)}
