"""The edge: who may reach the playground's routes, checked before anything else runs.

Any web page the user has open can make its browser talk to ``127.0.0.1:PORT``. Jupyter Server refuses such
requests (``check_host``, ``check_origin``, its token); a server started from a kernel sits outside Jupyter and has
to refuse them itself. :class:`Edge` wraps the whole ASGI app and, for every HTTP request and WebSocket handshake:

1. **Host** (DNS rebinding: a page on ``evil.example`` re-resolved to 127.0.0.1 becomes same-origin with us and can
   *read* our pages). Allowed: loopback names and addresses (``localhost``, 127.0.0.0/8, ``[::1]``), the bound
   address, names in ``allowed_hosts`` — and a request *forwarded* to us: a browser that talks to the playground
   itself always names the playground's port in ``Host``; a Host naming another port came through a proxy that
   kept the browser's Host, which is what jupyter-server-proxy does (it copies the request's headers, so Host and
   Origin are the hub's public ones; Jupyter authenticated the user first).
2. **Origin**, on WebSocket handshakes and on state-changing HTTP (all but GET, HEAD, OPTIONS) (cross-site
   WebSocket hijacking; CSRF by a form or a ``no-cors`` fetch). Allowed: no Origin (websocat, Python, curl: not a
   browser) unless Fetch Metadata says ``Sec-Fetch-Site: cross-site``; the request's own origin (Origin == Host,
   also through the proxy); a loopback origin on any port (JupyterLab's page, pages the playground serves); origins
   in ``allowed_origins``.
3. **Token**, when on (other users of a shared machine can reach its loopback): ``Authorization: Bearer <t>`` (or
   ``Token <t>``), a ``lihil_token`` query parameter (taken out of the query before handlers see it; a page
   opened that way gets an ``HttpOnly``, ``SameSite=Strict`` cookie, so its own links and WebSockets keep working),
   or that cookie. Compared in constant time; never logged.

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
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from ..wire import TOKEN_COOKIE, TOKEN_QUERY
from .limits import LimitedRequest
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
    #: Origins allowed besides the request's own and loopback ones, as ``scheme://host[:port]``, lower case.
    allowed_origins: frozenset[str] = frozenset()
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
                set_cookie = _token_cookie(rules, headers.forwarded_prefix)
        limited = LimitedRequest(self._app, max_body_size=rules.max_body_size, handshake_timeout=rules.handshake_timeout,
                                 on_timeout=self._on_handshake_timeout, set_cookie=set_cookie)
        await limited(scope, receive, send)


def check(scope: Scope, headers: _Headers, rules: EdgeRules) -> Refusal | None:
    """The refusal for this request, or None when it may go on."""
    path = scope.get("root_path", "") + scope["path"]
    host, port = _split_host(headers.host) if headers.host is not None else (None, None)
    forwarded = host is not None and port != rules.port  # see the module docstring, rule 1
    if host is not None and not forwarded and not _host_allowed(host, rules):
        return Refusal(time.time(), "host", path, headers.host or "",
                       f"Host {headers.host!r} is not a local name (DNS rebinding protection)",
                       f"allow it with Playground(allowed_hosts=[{host!r}]) or `%lihil allow-host {host}`")
    if scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS:
        what = "WebSocket handshake" if scope["type"] == "websocket" else f"{scope['method']} request"
        origin = headers.origin
        if origin is None:
            if headers.fetch_site == "cross-site":
                return Refusal(time.time(), "origin", path, "cross-site",
                               f"cross-site {what} without Origin (Sec-Fetch-Site: cross-site)",
                               "send it from the page's own origin or a non-browser client")
        elif not _origin_allowed(origin, host, port, rules):
            return Refusal(time.time(), "origin", path, origin,
                           f"{what} from Origin {origin!r} (cross-site request protection)",
                           f"allow it with Playground(allowed_origins=[{origin!r}]) or `%lihil allow-origin {origin}`")
    if rules.token is not None and not _carries_token(headers, scope, rules):
        return Refusal(time.time(), "token", path, "missing token",
                       "missing or wrong token (this playground requires one)",
                       "send `Authorization: Bearer <pg.token>`, or open the URL from pg.ws_url()/pg.url_for(), "
                       "which carries it; `%lihil token off` turns it off")
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

    __slots__ = ("authorization", "cookie", "fetch_site", "forwarded_prefix", "host", "origin", "size",
                 "token_in_query")

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self.host: str | None = None
        self.origin: str | None = None
        self.authorization: str | None = None
        self.cookie: str | None = None
        self.fetch_site: str | None = None
        self.forwarded_prefix: str | None = None
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
            elif key == b"x-forwarded-prefix":
                self.forwarded_prefix = value.decode("latin-1")


def _split_host(value: str) -> tuple[str, int | None]:
    """``"127.0.0.1:8000"`` -> ("127.0.0.1", 8000); ``"[::1]:80"`` -> ("::1", 80); ``"example"`` -> ("example", 80)."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = value.partition(":") if value.count(":") == 1 else (value, "", "")
    try:
        port = int(port_text) if port_text else 80
    except ValueError:
        port = None
    return host, port


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


def _origin_allowed(origin: str, host: str | None, port: int | None, rules: EdgeRules) -> bool:
    normalized = origin.strip().lower().rstrip("/")
    if normalized in rules.allowed_origins:
        return True
    try:
        parts = urlsplit(normalized)
        origin_host, origin_port = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or origin_host is None:
        return False  # "null" (a sandboxed iframe, a file:// page) and other schemes
    if is_loopback(origin_host):
        return True
    if origin_port is None:
        origin_port = 443 if parts.scheme == "https" else 80
    # Same origin. A Host without a port reads as 80; behind a TLS proxy the page's origin is https (443).
    return host == origin_host and (port == origin_port or (port == 80 and origin_port == 443))


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


def _token_cookie(rules: EdgeRules, prefix: str | None) -> bytes:
    # Path: where the browser sees this server (behind jupyter-server-proxy, its prefix), so the cookie does not
    # travel to other servers on the same host name.
    path = (prefix or "").rstrip("/") or "/"
    return (f"{rules.cookie_name}={rules.token}; Path={path}; HttpOnly; SameSite=Strict").encode("latin-1")
