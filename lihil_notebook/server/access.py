"""``Access``: the playground's settings of who may connect — the token, allowed origins and hosts — and the log
of what the edge refused. The :class:`~.edge.Edge` reads them as one immutable :class:`~.edge.EdgeRules`.

The token is on by default, as Jupyter's: on a shared machine (an HPC login node, a lab server, JupyterHub) every
other account can connect to this machine's loopback, and only a secret keeps them out. The notebook's own
sessions, consoles, the comm tunnel and ``pg.show`` carry it without the user doing anything; ``pg.ws_url(path)``
and ``pg.browser_url(path)`` give URLs with it for websocat, curl or a browser tab. ``token=False`` (or
``%lihil token off``) turns it off, with a :class:`TokenOffWarning` that says what that opens.
"""

from __future__ import annotations

import os
import secrets
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..errors import PlaygroundError
from .edge import EdgeLog, EdgeRules, Refusal, parse_origin
from .thread import ServerSettings, is_loopback

TOKEN_BYTES = 24
"""Entropy of a generated token (``secrets.token_urlsafe``)."""
TOKEN_OFF_TEXT = ("the playground's token is off: any process or account on this machine (other users of a shared "
                  "machine, a browser through a port forward) can connect to every route and read what it answers; "
                  "turn it back on with `%lihil token on`")


class TokenOffWarning(UserWarning):
    """The token was turned off: every local account may connect."""


def warn_token_off(stacklevel: int) -> None:
    warnings.warn(TOKEN_OFF_TEXT, TokenOffWarning, stacklevel=stacklevel + 1)


class Access:
    """Token, allowed origins and hosts; thread-safe. ``token``: None or True = a generated one (the default),
    False = none (warns), a string = that token."""

    def __init__(
        self,
        *,
        token: str | bool | None,
        allowed_origins: Iterable[str] = (),
        allowed_hosts: Iterable[str] = (),
        settings: ServerSettings,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.log = EdgeLog()
        environ = os.environ if environ is None else environ
        self.under_hub = any(key.startswith("JUPYTERHUB_") for key in environ)
        self._token_refused = token is False  # the user said no: exposure does not turn it on
        self._token = _check_token(token) if isinstance(token, str) else None if token is False else _new_token()
        if token is False:
            warn_token_off(stacklevel=3)
        self._rules = EdgeRules(
            allowed_origins=frozenset(check_origin(o) for o in _items(allowed_origins, "allowed_origins")),
            allowed_hosts=frozenset(check_host_name(h) for h in _items(allowed_hosts, "allowed_hosts")),
            token=self._token, max_body_size=settings.max_body_size, handshake_timeout=settings.handshake_timeout,
            max_header_size=settings.max_header_size,
        )

    @property
    def rules(self) -> EdgeRules:
        return self._rules

    @property
    def token(self) -> str | None:
        return self._token

    @property
    def allowed_origins(self) -> list[str]:
        return sorted(self._rules.allowed_origins)

    @property
    def allowed_hosts(self) -> list[str]:
        return sorted(self._rules.allowed_hosts)

    def refusals(self, n: int = 5) -> list[Refusal]:
        return self.log.last(n)

    def bound(self, host: str, port: int | None) -> None:
        """The server is (to be) bound to ``host:port``: beyond loopback the token turns on (unless refused)."""
        with self._lock:
            if not is_loopback(host) and self._token is None and not self._token_refused:
                self._token = _new_token()
            self._update(bound_host=host, port=port if port is not None else self._rules.port, token=self._token)

    def set_token(self, value: str | bool) -> str | None:
        """``True``/"on": a token (a new one if there was none); ``False``/"off": none; "new": a fresh one; any other
        string: that token. Returns the token in force (None when off)."""
        with self._lock:
            if value in (True, "on"):
                self._token = self._token or _new_token()
            elif value in (False, "off"):
                if self._token is not None:
                    warn_token_off(stacklevel=3)
                self._token = None
            elif value == "new":
                self._token = _new_token()
            elif isinstance(value, str):
                self._token = _check_token(value)
            else:
                raise PlaygroundError(f"token: expected on, off, new or a token string, got {value!r}")
            self._token_refused = self._token is None
            self._update(token=self._token)
            return self._token

    def allow_origin(self, origin: str) -> str:
        normalized = check_origin(origin)
        with self._lock:
            self._update(allowed_origins=self._rules.allowed_origins | {normalized})
        return normalized

    def set_page_origins(self, origins: Iterable[str]) -> None:
        """The origins of the Jupyter server this kernel belongs to (see :func:`lihil_notebook.reach.jupyter_origins`)."""
        with self._lock:
            self._update(page_origins=frozenset(check_origin(o) for o in origins))

    @property
    def page_origins(self) -> list[str]:
        return sorted(self._rules.page_origins)

    def allow_host(self, host: str) -> str:
        normalized = check_host_name(host)
        with self._lock:
            self._update(allowed_hosts=self._rules.allowed_hosts | {normalized})
        return normalized

    def settings_changed(self, settings: ServerSettings) -> None:
        with self._lock:
            self._update(max_body_size=settings.max_body_size, handshake_timeout=settings.handshake_timeout,
                         max_header_size=settings.max_header_size)

    def _update(self, **changes: object) -> None:
        self._rules = replace(self._rules, **changes)  # type: ignore[arg-type]


def check_origin(origin: object) -> str:
    """``"http://Hub.Example.org/"`` -> ``"http://hub.example.org"``; PlaygroundError for anything but an origin."""
    expected = "expected an origin like https://hub.example.org or http://localhost:8888 (scheme, host, port)"
    parsed = parse_origin(origin.strip().rstrip("/")) if isinstance(origin, str) else None
    if parsed is None:
        raise PlaygroundError(f"allowed origin {origin!r}: {expected}, without a path")
    scheme, host, port = parsed
    default = 443 if scheme == "https" else 80
    name = f"[{host}]" if ":" in host else host
    return f"{scheme}://{name}" + (f":{port}" if port != default else "")


def check_host_name(host: object) -> str:
    """``"Hub.Example.org"`` -> ``"hub.example.org"``; PlaygroundError for a URL, a port or spaces."""
    text = host.strip().lower() if isinstance(host, str) else ""
    bracketed = text.startswith("[") and text.endswith("]")  # an IPv6 address
    if not text or any(c in text for c in "/ \t") or (":" in text and not bracketed):
        raise PlaygroundError(f"allowed host {host!r}: expected a host name or address like hub.example.org or "
                              "[::1], without scheme or port")
    return text.strip("[]")


def _check_token(token: str) -> str:
    if len(token) < 8 or any(c.isspace() or c in ";,\"'" for c in token):
        raise PlaygroundError("token: expected at least 8 characters without spaces, quotes, ';' or ','")
    return token


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _items(values: Iterable[str], name: str) -> list[str]:
    if isinstance(values, str):
        raise PlaygroundError(f"{name}: expected a list of strings, got the string {values!r}")
    return list(values)
