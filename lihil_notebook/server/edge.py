"""The edge: who may reach the playground's routes, checked before anything else runs.

Any web page the user has open can make its browser talk to ``127.0.0.1:PORT``. Jupyter Server refuses such
requests (``check_host``, ``check_origin``, its token); a server started from a kernel sits outside Jupyter and has
to refuse them itself. :class:`Edge` wraps the whole ASGI app and, for every HTTP request and WebSocket handshake:

1. **Host** (DNS rebinding: a page on ``evil.example`` re-resolved to 127.0.0.1 becomes same-origin with us and can
   *read* our pages — also through a port forward on another port, ``ssh -L 9000:127.0.0.1:PORT``). Local: loopback
   names and addresses (``localhost``, 127.0.0.0/8, ``[::1]``), the bound address and names in ``allowed_hosts``;
   the port is ignored (it proves nothing: a forward names its own). A Host that is not one of these (the hub's
   public name, copied by jupyter-server-proxy) must carry the token; with the token off it is refused, saying so.
   A malformed Host (``evil.example:abc``, ``127.0.0.1:P@evil.com``) is refused.
2. **Origin**, on WebSocket handshakes and on state-changing HTTP (all but GET, HEAD, OPTIONS) (cross-site
   WebSocket hijacking; CSRF by a form or a ``no-cors`` fetch). Allowed: no Origin (websocat, Python, curl: not a
   browser) unless Fetch Metadata says ``Sec-Fetch-Site: cross-site``; the request's own origin (Origin names the
   Host it was sent to: a page the playground serves, also through a forward or the proxy); the Jupyter server this
   kernel belongs to (``page_origins``: JupyterLab's page, where outputs run); origins in ``allowed_origins``. Not
   any other loopback port: a local dev server's page is another site. The Origin must be what a browser sends,
   ``scheme://host[:port]`` and nothing else (``http://evil.com\\@localhost`` is refused, not read as localhost).
3. **Token**, on by default (other users of a shared machine can reach its loopback): ``Authorization: Bearer <t>``
   (or ``Token <t>``), a ``lihil_token`` query parameter (taken out of the query before handlers see it; a page
   opened that way gets an ``HttpOnly``, ``SameSite=Strict`` cookie whose ``Path`` is where the browser sees this
   server, and a browser navigation is redirected to the same URL without the token, so it stays out of the
   history and ``Referer``), or that cookie. Compared in constant time; never logged.

A refused request gets a 403 ``application/problem+json`` (for a WebSocket, as the handshake's HTTP response) that
names what was refused and the exact setting that would allow it, and never reaches a handler. Refusals are
counted and the last few are kept (:class:`EdgeLog`) for ``%lihil`` and the route cards.

The same wrapper bounds what one request may cost: ``max_body_size`` (413, ``Content-Length`` checked up front,
streamed bodies counted) and ``handshake_timeout`` (a WebSocket handler that neither accepts nor denies in time is
cancelled and the client gets a 503) — see :mod:`.limits`.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from ..wire import TOKEN_COOKIE, TOKEN_QUERY
from .limits import LimitedRequest
from .prefix import below_proxy_prefix
from .thread import is_loopback

TOKEN_QUERY_BYTES = TOKEN_QUERY.encode()
RECENT_REFUSALS = 20
"""How many refusals :class:`EdgeLog` keeps (the newest)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

logger = logging.getLogger("lihil_notebook.edge")


@dataclass(frozen=True)
class EdgeRules:
    """Who may connect. Immutable: the Playground swaps in a new one when a setting changes (atomic for readers)."""

    #: The address the server is bound to, and its port (None until bound).
    bound_host: str = "127.0.0.1"
    port: int | None = None
    #: Host names (or addresses) allowed besides loopback and the bound address, lower case, without port.
    allowed_hosts: frozenset[str] = frozenset()
    #: Origins allowed besides the request's own, as ``scheme://host[:port]``, lower case.
    allowed_origins: frozenset[str] = frozenset()
    #: The origins of the Jupyter server this kernel belongs to (its page runs the outputs' scripts); found by
    #: :func:`lihil_notebook.reach.jupyter_origins`.
    page_origins: frozenset[str] = frozenset()
    #: The token every request must carry; None = no token.
    token: str | None = None
    #: Largest HTTP request body, in bytes.
    max_body_size: int = 10 * 1024 * 1024
    #: Seconds a WebSocket handler has to accept or deny the handshake.
    handshake_timeout: float = 10.0
    #: Largest request target (path and query), and largest header block, of an HTTP request, in bytes.
    max_header_size: int = 16 * 1024

    @property
    def cookie_name(self) -> str:
        return f"{TOKEN_COOKIE}_{self.port}"


@dataclass(frozen=True)
class Refusal:
    """One refused request: what was refused (``kind``: "host", "origin", "token"), the value, how to allow it."""

    time: float
    kind: str
    path: str
    value: str
    detail: str
    allow: str

    def __str__(self) -> str:
        return f"{time.strftime('%H:%M:%S', time.localtime(self.time))} {self.path}: {self.detail} — {self.allow}"


@dataclass
class EdgeLog:
    """Refusals counted, the last few kept. Thread-safe (written on the server thread, read from cells)."""

    count: int = 0
    recent: deque[Refusal] = field(default_factory=lambda: deque(maxlen=RECENT_REFUSALS))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, refusal: Refusal) -> None:
        with self._lock:
            self.count += 1
            self.recent.append(refusal)

    def last(self, n: int, path_matches: Callable[[str], bool] | None = None) -> list[Refusal]:
        with self._lock:
            found = [r for r in self.recent if path_matches is None or path_matches(r.path)]
        return found[-n:]


class Edge:
    """ASGI middleware: the checks above, then the limits, then ``app`` (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        rules: Callable[[], EdgeRules],
        log: EdgeLog,
        *,
        on_handshake_timeout: Callable[[Scope, str], None] | None = None,
        on_refusal: Callable[[Refusal], None] | None = None,
    ) -> None:
        self._app, self._rules, self._log = app, rules, log
        self._on_handshake_timeout = on_handshake_timeout or (lambda scope, text: None)
        self._on_refusal = on_refusal or (lambda refusal: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self._app(scope, receive, send)
            return
        rules = self._rules()
        headers = _Headers(scope["headers"])
        if kind == "http" and (too_long := _too_long(scope, headers, rules.max_header_size)):
            await send_refusal(scope, send, too_long[0], too_long[1])
            return
        refusal = check(scope, headers, rules)
        if refusal is not None:
            self._log.add(refusal)
            logger.info("refused %s %s: %s", kind, refusal.path, refusal.detail)  # never the token itself
            await send_refusal(scope, send, 403, refusal_problem(refusal))
            self._on_refusal(refusal)
            return
        set_cookie = None
        query = scope.get("query_string", b"")
        if TOKEN_QUERY_BYTES in query:  # taken out whether or not a token is on: handlers never see it
            scope = {**scope, "query_string": _without_token(query)}
            if kind == "http" and headers.token_in_query and rules.token is not None:
                set_cookie = _token_cookie(rules, scope)
                if scope["method"] in ("GET", "HEAD") and headers.navigation:
                    await _redirect_without_token(scope, send, set_cookie)
                    return
        limited = LimitedRequest(self._app, max_body_size=rules.max_body_size, handshake_timeout=rules.handshake_timeout,
                                 on_timeout=self._on_handshake_timeout, set_cookie=set_cookie)
        await limited(scope, receive, send)


def check(scope: Scope, headers: _Headers, rules: EdgeRules) -> Refusal | None:
    """The refusal for this request, or None when it may go on."""
    path = scope.get("root_path", "") + scope["path"]
    parsed = split_host(headers.host) if headers.host is not None else None
    if headers.host is not None and parsed is None:
        return Refusal(time.time(), "host", path, headers.host[:100],
                       f"Host {headers.host[:100]!r} is not a host name or address with a numeric port",
                       "send a Host like 127.0.0.1:PORT or localhost:PORT")
    host = parsed[0] if parsed is not None else None
    local = host is None or _host_allowed(host, rules)
    if not local and rules.token is None:
        return Refusal(time.time(), "host", path, headers.host or "",
                       f"Host {headers.host!r} is not a local name (DNS rebinding protection), and requests for "
                       "other hosts (a proxy on a hub) must carry the token, which is off",
                       f"turn the token on (Playground(token=True) or `%lihil token on`), or allow the name with "
                       f"Playground(allowed_hosts=[{host!r}]) or `%lihil allow-host {host}`")
    if scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS:
        what = "WebSocket handshake" if scope["type"] == "websocket" else f"{scope['method']} request"
        origin = headers.origin
        if origin is None:
            if headers.fetch_site == "cross-site":
                return Refusal(time.time(), "origin", path, "cross-site",
                               f"cross-site {what} without Origin (Sec-Fetch-Site: cross-site)",
                               "send it from the page's own origin or a non-browser client")
        elif not _origin_allowed(origin, parsed, rules):
            shown = origin[:100]
            return Refusal(time.time(), "origin", path, shown,
                           f"{what} from Origin {shown!r} (cross-site request protection: only this server's own "
                           "pages and the Jupyter server's)",
                           f"allow it with Playground(allowed_origins=[{shown!r}]) or `%lihil allow-origin {shown}`")
    if rules.token is not None and not _carries_token(headers, scope, rules):
        why = "" if local else f" (Host {headers.host!r} is not local: requests through a proxy need it too)"
        return Refusal(time.time(), "token", path, "missing token",
                       f"missing or wrong token (this playground requires one){why}",
                       "send `Authorization: Bearer <pg.token>`, or use the URL of pg.ws_url()/pg.browser_url() "
                       "or a card's copy button, which carry it; `%lihil token off` turns it off")
    return None


def refusal_problem(refusal: Refusal) -> dict[str, Any]:
    return {
        "type": f"refused-{refusal.kind}",
        "title": "Forbidden",
        "status": 403,
        "detail": refusal.detail,
        "refused": refusal.kind,
        "value": refusal.value,
        "allow": refusal.allow,
        "instance": refusal.path,
    }


async def send_refusal(scope: Scope, send: Send, status: int, problem: dict[str, Any]) -> None:
    """An HTTP problem+json response — for a WebSocket, as the handshake's denial response where the server
    supports that (uvicorn does), else a close before accept (which clients read as 403)."""
    body = msgspec.json.encode(problem)
    head = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": head})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": str(problem.get("detail", ""))[:120]})


# --- the checks ------------------------------------------------------------------------------------------------


def _too_long(scope: Scope, headers: _Headers, limit: int) -> tuple[int, dict[str, Any]] | None:
    """414 / 431 for an HTTP request whose target or header block is over ``limit`` bytes (h11 lets through what
    arrives in one read). WebSocket handshakes are limited by the websockets parser (see ws_protocol)."""
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    if target <= limit and headers.size <= limit:
        return None
    status, what = (414, "request target") if target > limit else (431, "header block")
    size = target if status == 414 else headers.size
    return status, {"type": f"http-{status}", "title": "Request Too Large", "status": status,
                    "detail": f"the {what} is {size} bytes; this playground accepts at most {limit} "
                              "(ServerSettings(max_header_size=...))"}


class _Headers:
    """The few request headers the edge reads, found in one pass, and the header block's size."""

    __slots__ = ("authorization", "cookie", "fetch_site", "host", "navigation", "origin", "size", "token_in_query")

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self.host: str | None = None
        self.origin: str | None = None
        self.authorization: str | None = None
        self.cookie: str | None = None
        self.fetch_site: str | None = None
        self.navigation = False  # a browser opening a page (Fetch Metadata, or an Accept that asks for HTML)
        self.token_in_query = False
        self.size = 0
        for key, value in raw:
            self.size += len(key) + len(value) + 4
            if key == b"host":
                self.host = value.decode("latin-1")
            elif key == b"origin":
                self.origin = value.decode("latin-1")
            elif key == b"authorization":
                self.authorization = value.decode("latin-1")
            elif key == b"cookie":
                self.cookie = value.decode("latin-1")
            elif key == b"sec-fetch-site":
                self.fetch_site = value.decode("latin-1").lower()
            elif key == b"sec-fetch-mode":
                self.navigation = self.navigation or value == b"navigate"
            elif key == b"accept":
                self.navigation = self.navigation or b"text/html" in value


_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::(?P<port>[0-9]{1,5}))?")
_ORIGIN = re.compile(r"(?P<scheme>https?)://" + _HOST.pattern)


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"127.0.0.1:8000"`` -> ("127.0.0.1", 8000); ``"[::1]"`` -> ("::1", None); None for anything that is not
    ``host[:port]`` as a browser sends it (``evil.example:abc``, ``127.0.0.1:1@evil.com``)."""
    found = _HOST.fullmatch(value.strip().lower())
    if found is None:
        return None
    return found["v6"] or found["name"], int(found["port"]) if found["port"] else None


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """``"http://Localhost:8888"`` -> ("http", "localhost", 8888) (the default port filled in); None for anything
    but the ``scheme://host[:port]`` a browser serialises (``null``, a path, ``user@``, a backslash)."""
    found = _ORIGIN.fullmatch(value.strip().lower())
    if found is None:
        return None
    default = 443 if found["scheme"] == "https" else 80
    return found["scheme"], found["v6"] or found["name"], int(found["port"]) if found["port"] else default


def _host_allowed(host: str, rules: EdgeRules) -> bool:
    if is_loopback(host) or host == rules.bound_host.lower() or host in rules.allowed_hosts:
        return True
    if not is_loopback(rules.bound_host):
        # Bound beyond loopback on purpose (the token is on then): any address of the machine is a fair Host.
        try:
            ipaddress.ip_address(host)
            return True
        except ValueError:
            return False
    return False


def _origin_allowed(origin: str, host: tuple[str, int | None] | None, rules: EdgeRules) -> bool:
    parsed = parse_origin(origin)
    if parsed is None:
        return False  # "null" (a sandboxed iframe, a file:// page), other schemes, anything malformed
    scheme, origin_host, origin_port = parsed
    default = 443 if scheme == "https" else 80
    name = f"[{origin_host}]" if ":" in origin_host else origin_host
    normalized = f"{scheme}://{name}" + (f":{origin_port}" if origin_port != default else "")
    if normalized in rules.allowed_origins or normalized in rules.page_origins:
        return True
    # The request's own origin: the page was served from the Host this request names (port included). A Host
    # without a port is the scheme's default (behind a TLS proxy the page is https, the Host unchanged).
    return host is not None and host[0] == origin_host and (host[1] or default) == origin_port


def _carries_token(headers: _Headers, scope: Scope, rules: EdgeRules) -> bool:
    token = rules.token
    assert token is not None
    offered: list[str] = []
    if headers.authorization:
        scheme, _, value = headers.authorization.partition(" ")
        if scheme.lower() in ("bearer", "token"):
            offered.append(value.strip())
    query = scope.get("query_string", b"")
    if TOKEN_QUERY_BYTES in query:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if key == TOKEN_QUERY:
                headers.token_in_query = True
                offered.append(value)
    if headers.cookie and rules.cookie_name in headers.cookie:
        for piece in headers.cookie.split(";"):
            name, _, value = piece.strip().partition("=")
            if name == rules.cookie_name:
                offered.append(value)
    expected = token.encode()
    return any(hmac.compare_digest(candidate.encode(), expected) for candidate in offered)


def _without_token(query: bytes) -> bytes:
    kept = [(k, v) for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k != TOKEN_QUERY]
    return urlencode(kept).encode("latin-1")


def _token_cookie(rules: EdgeRules, scope: Scope) -> bytes:
    # Path: where the browser sees this server (behind jupyter-server-proxy, its prefix, in both of its forms), so
    # the cookie does not travel to other servers on the hub's host name.
    below = below_proxy_prefix(scope)
    path = ((below or scope).get("root_path") or "").rstrip("/") or "/"
    return (f"{rules.cookie_name}={rules.token}; Path={path}; HttpOnly; SameSite=Strict").encode("latin-1")


async def _redirect_without_token(scope: Scope, send: Send, cookie: bytes) -> None:
    """303 to the same URL without ``lihil_token`` (relative: the browser resolves it against what it opened, which
    through a proxy is the proxy's URL), setting the cookie: the token stays out of the history and ``Referer``."""
    raw_path = bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    last = raw_path.rpartition("/")[2]
    query = scope.get("query_string", b"").decode("latin-1")
    location = "./" + last + (f"?{query}" if query else "")
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", location.encode("latin-1")), (b"set-cookie", cookie), (b"cache-control", b"no-store"),
        (b"referrer-policy", b"no-referrer"), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
