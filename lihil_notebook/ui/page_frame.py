"""``pg.show(path)``: a ``%%route`` page shown in an output iframe, its WebSockets tunnelled through the widget comm.

For where the browser cannot reach the playground's port at all (Colab; a hub without jupyter-server-proxy). The
kernel fetches the page from its own server; the front end (``page_frame.js``) writes it into an iframe with a
small ``WebSocket`` shim in front of the page's scripts. Each WebSocket the page opens to the playground becomes a
:class:`~lihil_notebook.client.tunnel.TunnelSocket` here: a real connection to ``ws://127.0.0.1:PORT`` with the
page's own path and query, carrying the playground's token when it has one. Text and binary frames and close codes
travel both ways. The page's JavaScript is unchanged.

Frames from the kernel reach the page from the server thread ("push"), or, in "poll" mode (automatic in Colab),
in answer to the page's polls, from the kernel's main thread.

Trust: the iframe is same-origin with the notebook page (that is what gives the page a real ``location``), so the
page's scripts run with the notebook's rights, as any trusted HTML output's scripts do. Show your own pages.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..client.tunnel import TunnelEvent, TunnelSocket, open_direct
from .poll import update_mode

if TYPE_CHECKING:
    from ..playground import Playground

FETCH_TIMEOUT = 10.0
"""Seconds the kernel waits for its own server to answer the page request."""
DEFAULT_HEIGHT = 360


def show_page(pg: Playground, path: str, *, height: int = DEFAULT_HEIGHT, updates: str = "auto") -> PageFrame:
    """The page at ``path`` (``/chat?room=lobby``) in an iframe whose WebSockets go through the comm.

    Raises ``ValueError`` for a path that does not start with '/' or a page the server does not answer with 200.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"show(path): expected a path starting with '/', got {path!r}")
    if not isinstance(height, int) or isinstance(height, bool) or height <= 0:
        raise ValueError(f"show(height): expected a positive number of pixels, got {height!r}")
    mode = update_mode(updates)
    pg.start()
    return PageFrame(pg, path, html=fetch_page(pg, path), height=height, updates=mode)


def fetch_page(pg: Playground, path: str) -> str:
    """GET ``path`` from the playground's own server, as any client would (with the token when there is one)."""
    if threading.current_thread().name == "lihil-playground-server":
        raise RuntimeError("pg.show() fetches the page from the server and was called on the server thread (a "
                           "handler); call it from a cell")
    if pg.in_process:  # no port: the app is asked in this process
        status, _, body = pg.get_in_process(path, _auth_headers(pg), FETCH_TIMEOUT)
        if status != 200:
            raise ValueError(f"show({path!r}): the playground answered {status}; expected a page (a %%route GET "
                             f"endpoint at {path.partition('?')[0]})")
        return body.decode(errors="replace")
    request = urllib.request.Request(pg.url + path, headers=_auth_headers(pg))
    try:
        with open_direct(request, timeout=FETCH_TIMEOUT) as response:  # never through an http_proxy
            charset = response.headers.get_content_charset() or "utf-8"
            return str(response.read().decode(charset, errors="replace"))
    except urllib.error.HTTPError as error:
        raise ValueError(f"show({path!r}): the playground answered {error.code} {error.reason}; expected a page "
                         f"(a %%route GET endpoint at {path.partition('?')[0]})") from None


class PageFrame(anywidget.AnyWidget):
    """The iframe widget (CSS class ``lihil-page-frame``); see the module docstring. ``tunnels`` are the open ones."""

    _esm = Path(__file__).with_name("page_frame.js")
    html = traitlets.Unicode("").tag(sync=True)
    page_path = traitlets.Unicode("/").tag(sync=True)
    port = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(DEFAULT_HEIGHT).tag(sync=True)
    updates = traitlets.Unicode("push").tag(sync=True)
    active = traitlets.Bool(False).tag(sync=True)

    def __init__(self, pg: Playground, path: str, *, html: str, height: int, updates: str) -> None:
        super().__init__(html=html, page_path=path, port=pg.port or 0, height=height, updates=updates)
        self.pg = pg
        self.tunnels: dict[str | int, TunnelSocket] = {}  # by the page's socket id ("<view>:<n>")
        self.closed_codes: list[tuple[str | int, int, str]] = []
        self._pending: deque[tuple[dict[str, Any], list[bytes]]] = deque()
        self._lock = threading.Lock()
        self.add_class("lihil-page-frame")
        self.on_msg(self._on_front_end)

    def close(self) -> None:
        for tunnel in list(self.tunnels.values()):
            tunnel.close(1001, "the page was closed")
        super().close()

    # --- from the page (main thread) -------------------------------------------------------------------------------

    def _on_front_end(self, _: Any, content: Any, buffers: list[Any] | None) -> None:
        if not isinstance(content, dict):
            return
        op, socket_id = content.get("op"), content.get("id")
        if op == "poll":
            self._deliver_pending()
            return
        if not isinstance(socket_id, (str, int)) or isinstance(socket_id, bool):
            return
        if op == "open":
            self._open(socket_id, str(content.get("path") or "/"), content.get("protocols") or [])
        elif (tunnel := self.tunnels.get(socket_id)) is not None:
            if op == "send":
                tunnel.send(bytes(buffers[0]) if content.get("binary") and buffers else str(content.get("text", "")))
            elif op == "close":
                tunnel.close(int(content.get("code") or 1000), str(content.get("reason") or ""))

    def _open(self, socket_id: str | int, path: str, protocols: list[Any]) -> None:
        problem = bad_tunnel_request(path, protocols)
        if problem:  # answered at once: the page's socket must not stay CONNECTING
            self._emit({"op": "close", "id": socket_id, "code": 1006, "reason": problem}, [])
            return
        url, dial = self.pg.dial_target(path)
        tunnel = TunnelSocket(url, self.pg.call_soon, lambda kind, data: self._on_tunnel(socket_id, kind, data),
                              headers=_auth_headers(self.pg), subprotocols=[str(p) for p in protocols], dial=dial)
        self.tunnels[socket_id] = tunnel
        if self.updates == "poll":
            self.active = True
        tunnel.start()

    # --- from the route (server loop) ----------------------------------------------------------------------------

    def _on_tunnel(self, socket_id: str | int, kind: TunnelEvent, data: Any) -> None:
        if kind == "open":
            self._emit({"op": "open", "id": socket_id, "protocol": data}, [])
        elif kind == "message" and isinstance(data, bytes):
            self._emit({"op": "message", "id": socket_id, "binary": True}, [data])
        elif kind == "message":
            self._emit({"op": "message", "id": socket_id, "text": data}, [])
        else:
            code, reason = data
            self.tunnels.pop(socket_id, None)
            self.closed_codes.append((socket_id, code, reason))
            self._emit({"op": "close", "id": socket_id, "code": code, "reason": reason}, [])

    def _emit(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        if self.updates == "poll":
            with self._lock:
                self._pending.append((message, buffers))
        else:
            self.send(message, buffers or None)

    @property
    def pending(self) -> int:
        """How many updates wait for the page's next poll (poll mode)."""
        return len(self._pending)

    def _deliver_pending(self) -> None:
        with self._lock:
            items, self._pending = list(self._pending), deque()
        for message, buffers in items:
            self.send(message, buffers or None)
        self.active = bool(self.tunnels) or bool(self._pending)


def bad_tunnel_request(path: str, protocols: list[Any]) -> str:
    """What is wrong with a page's ``new WebSocket(path, protocols)`` for the tunnel ("" when nothing): a path
    must start with '/' and, like each subprotocol, hold no control characters, spaces or '#'."""
    if not path.startswith("/") or any(c in path for c in _NOT_IN_PATH) or any(ord(c) < 32 for c in path):
        return f"bad path {path[:80]!r}: expected '/...' without spaces, control characters or '#'"
    for protocol in protocols:
        text = str(protocol)
        if not text or any(not (33 <= ord(c) < 127) or c in _SEPARATORS for c in text):
            return f"bad subprotocol {text[:40]!r}: expected a token (letters, digits, !#$%&'*+-.^_`|~)"
    return ""


_NOT_IN_PATH = " #\x7f"
_SEPARATORS = "()<>@,;:\\\"/[]?={} "


def _auth_headers(pg: Playground) -> dict[str, str]:
    token = getattr(pg, "token", None)
    return {"Authorization": f"Bearer {token}"} if token else {}
