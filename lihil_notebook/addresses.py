"""``Addresses``: where the playground is reached and who may reach it — the part of
:class:`~lihil_notebook.playground.Playground` about URLs (direct, and where the user's browser reaches a route) and
the edge's settings (the token, allowed origins and hosts, the last refusals)."""

from __future__ import annotations

from typing import Any

from .reach import Reach, detect
from .server.access import Access
from .server.edge import Refusal
from .server.inprocess import NO_NETWORK
from .server.urls import DirectUrls
from .wire import with_token


class Addresses:
    """Mixed into Playground, which provides the attributes below."""

    urls: DirectUrls
    access: Access
    _reach: Reach | None
    in_process: bool  # a property of TransportChoice (a stub here would shadow it: Addresses comes first)

    def _require_server(self) -> Any: ...

    def _notify(self, event: str) -> None: ...

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (raises ServerNotRunningError while stopped); in-process: "in this kernel (no
        network)" — there is no address, and so none of the URLs below either."""
        return NO_NETWORK if self.in_process else f"http://{self.urls.netloc()}"

    def ws_url(self, path: str, *, token: bool = True) -> str:
        """``ws://127.0.0.1:PORT/path`` for ``path`` (which may carry a query string), with the token when one is
        on (``?lihil_token=...``), so the URL works as it is in websocat or a browser. A value to use, not to show:
        a notebook's outputs are saved with it (``token=False`` gives the URL to show)."""
        if self.in_process:
            return NO_NETWORK
        return self.urls.url("ws", path, "ws_url") if token else self.urls.bare("ws", path, "ws_url")

    def http_url(self, path: str, *, token: bool = True) -> str:
        """``http://127.0.0.1:PORT/path``, with the token when one is on (a page opened with it gets an HttpOnly
        cookie and is redirected to the URL without it); ``token=False``: the URL to show."""
        if self.in_process:
            return NO_NETWORK
        return self.urls.url("http", path, "http_url") if token else self.urls.bare("http", path, "http_url")

    # --- who may connect (see lihil_notebook.server.edge) -----------------------------------------------------

    @property
    def token(self) -> str | None:
        """The token every request must carry, or None when off. The notebook's own sessions carry it already."""
        return self.access.token

    def set_token(self, value: str | bool) -> str | None:
        """``"on"``/True, ``"off"``/False, ``"new"`` or a token string; takes effect for the next connection."""
        token = self.access.set_token(value)
        self._notify("server")
        return token

    def allow_origin(self, origin: str) -> str:
        """Let pages from ``origin`` (``https://hub.example.org``) open WebSockets and send POSTs here."""
        allowed = self.access.allow_origin(origin)
        self._notify("server")
        return allowed

    def allow_host(self, host: str) -> str:
        """Serve requests whose ``Host`` is ``host`` (a name that resolves to this machine)."""
        allowed = self.access.allow_host(host)
        self._notify("server")
        return allowed

    @property
    def refusals(self) -> list[Refusal]:
        """The most recent requests the edge refused (what, from where, and the setting that would allow it)."""
        return self.access.refusals(20)

    @property
    def reach(self) -> Reach:
        """How the user's browser reaches the server, detected once (:mod:`lihil_notebook.reach`); assignable."""
        if self._reach is None:
            self._reach = detect()
        return self._reach

    @reach.setter
    def reach(self, value: Reach) -> None:
        if not isinstance(value, Reach):
            raise TypeError(f"reach: expected a lihil_notebook.reach.Reach, got {value!r}")
        self._reach = value
        self._notify("server")

    def browser_url(self, path: str, *, absolute: bool = False, websocket: bool = False, token: bool = True) -> str:
        """Where the user's *browser* opens ``path``: ``http://127.0.0.1:PORT/path``, or ``{base_url}proxy/PORT/path``
        through the Jupyter server's proxy (``absolute``: ``proxy/absolute``); with ``lihil_token`` when it is on
        (``token=False``: the URL to show in an output, which is saved with the notebook)."""
        if self.in_process:
            return NO_NETWORK
        url = self.reach.url(self._require_server().port, path, websocket=websocket, absolute=absolute)
        return with_token(url, self.token) if token else url

    def browser_ws_url(self, path: str, *, absolute: bool = False, token: bool = True) -> str:
        """:meth:`browser_url` for a WebSocket route: ``ws://...``, or path-absolute through a proxy."""
        return self.browser_url(path, absolute=absolute, websocket=True, token=token)
