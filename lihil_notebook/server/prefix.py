"""Serving under the Jupyter server's proxy prefix: ``{base_url}proxy/{port}/...`` and ``proxy/absolute/{port}/...``.

jupyter-server-proxy relays ``{base_url}proxy/{port}/page`` to ``/page`` (the prefix stripped; for HTTP it says
where it stripped it in ``X-Forwarded-Prefix``) and ``{base_url}proxy/absolute/{port}/page`` to
``{base_url}proxy/absolute/{port}/page`` (kept). :class:`ProxyPrefix` gives the app the same view of both: ``path``
is the route's path (``/page``) and ``root_path`` the public prefix (``/user/ann/proxy/absolute/8765``), as under a
WSGI ``SCRIPT_NAME``. So the routes match either way, ``request.base_url`` and ``url_for`` name the public URL, and
relative links in a ``%%route`` page resolve in the browser as they do direct. ``raw_path`` stays what arrived.

Only this server's own port counts (``scope["server"]``): ``/proxy/absolute/9999/x`` on a server on port 8765 is
served as it is, and a forwarded prefix that does not end in ``/proxy/{port}`` is ignored.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

_ABSOLUTE = re.compile(r"^(?P<prefix>(?:/[^/]+)*?/proxy/absolute/(?:[^/:]+:)?(?P<port>\d+))(?P<rest>/.*)?$")
_FORWARDED_PREFIX = re.compile(r"^(?:/[^/]+)*?/proxy/(?:[^/:]+:)?(?P<port>\d+)$")


class ProxyPrefix:
    """ASGI middleware: route below the Jupyter proxy's prefix (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            prefix_scope = below_proxy_prefix(scope)
            if prefix_scope is not None:
                scope = prefix_scope
        await self.app(scope, receive, send)


def below_proxy_prefix(scope: Scope) -> Scope | None:
    """A copy of ``scope`` with the proxy's prefix moved from ``path`` to ``root_path``; None when none applies."""
    server = scope.get("server") or (None, None)
    port = str(server[1]) if server[1] is not None else None
    if port is None:
        return None
    path: str = scope["path"]
    found = _ABSOLUTE.match(path) if "/proxy/absolute/" in path else None  # the substring test keeps it cheap
    if found is not None and found["port"] == port:
        return {**scope, "path": found["rest"] or "/", "root_path": scope.get("root_path", "") + found["prefix"]}
    if scope["type"] == "http":
        forwarded = _header(scope, b"x-forwarded-prefix")
        matched = _FORWARDED_PREFIX.match(forwarded) if forwarded else None
        if matched is not None and matched["port"] == port and not scope.get("root_path"):
            return {**scope, "root_path": forwarded}
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
