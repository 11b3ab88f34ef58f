"""Where a console session connects: the target, read from the console's form, and the URLs shown for it.

The form holds a route pattern (``/chat/{room}``), values for its path parameters, query fields, free
headers and subprotocols; :func:`fill_path` and :func:`parse_headers` turn them into a :class:`Target` or
raise ``ValueError`` naming the field and what was expected.
"""

from __future__ import annotations

import html
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from lihil.routing import PathPattern
from lihil.signature import type_repr

if TYPE_CHECKING:
    from ..playground import Playground, RouteInfo

RECENT_TARGETS = 8
"""How many recently connected targets a playground's consoles offer in their route dropdown."""
_recent: weakref.WeakKeyDictionary[Playground, list[str]] = weakref.WeakKeyDictionary()  # newest first

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True)
class Target:
    """Where and how a session connects: the path with its query string, handshake headers, subprotocols."""

    path: str
    headers: dict[str, str]
    subprotocols: list[str]


def is_url(target: str) -> bool:
    """True for a ``ws://`` / ``wss://`` URL (any server), False for a path on the playground."""
    return target.startswith(("ws://", "wss://"))


def check_target(target: str, field: str) -> None:
    """``ValueError`` unless ``target`` is a path (``/chat/lobby``) or a ``ws://`` / ``wss://`` URL."""
    if not (target.startswith("/") or is_url(target)):
        raise ValueError(f"{field}: expected a path starting with '/' (e.g. /chat/{{room}}) or a ws:// or wss:// "
                         f"URL (e.g. wss://echo.websocket.org), got {target!r}")


def remember_target(pg: Playground, target: str) -> None:
    """``target`` was just connected to from a console of ``pg`` (main thread)."""
    recent = _recent.setdefault(pg, [])
    if target in recent:
        recent.remove(target)
    recent.insert(0, target)
    del recent[RECENT_TARGETS:]


def recent_targets(pg: Playground) -> list[str]:
    """The targets ``pg``'s consoles connected to lately, newest first."""
    return list(_recent.get(pg, []))


def prefill_for(path: str, name: str, names: set[str]) -> str:
    """A new session's target: ``path``, with ``name`` in place of a query value that is one of the other
    sessions' ``names`` (so "bob" added to ``?user=ann`` beside session "ann" connects as ``user=bob``)."""
    others = names - {"", name}
    template, _, query = path.partition("?")
    if not name or not others or not query:
        return path
    pairs = [(key, name if value in others else value) for key, value in parse_qsl(query, keep_blank_values=True)]
    return f"{template}?{urlencode(pairs)}"


def url_code(pg: Playground, path: str, *, http: bool = False) -> str:
    """The full URL of ``path`` as copyable code, or a note when the server is stopped (no port yet)."""
    url = full_url(pg, path, http=http)
    if url is None:
        return f"<code>{html.escape(path)}</code> <i>(server stopped: Connect or <code>%lihil start</code> starts it)</i>"
    if pg.in_process and not is_url(path):
        return f"<code class='lihil-url'>{html.escape(path)}</code> <i>{html.escape(pg.url)}</i>"
    return f"<code class='lihil-url'>{html.escape(url)}</code>"


def full_url(pg: Playground, path: str, *, http: bool, browser: bool = False) -> str | None:
    """The kernel's URL of ``path`` (``browser=True``: where the user's browser reaches it, ``pg.browser_url``);
    a ``ws://`` URL as it is. Without the token: this is shown in outputs, which are saved with the notebook."""
    if is_url(path):
        return path
    try:
        if browser:
            return pg.browser_url(path, token=False) if http else pg.browser_ws_url(path, token=False)
        return pg.http_url(path, token=False) if http else pg.ws_url(path, token=False)
    except RuntimeError:  # ServerNotRunningError: no port while stopped
        return None


def find_route(pg: Playground, path: str) -> RouteInfo | None:
    return next((route for route in pg.routes if route.path == path), None)


def query_params(route: RouteInfo) -> list[tuple[str, str]]:
    """(name, type) of each query parameter of ``route``'s handler, as lihil reads them."""
    return [(p.alias, type_repr(p.annotation)) for p in route.params if p.location == "query"]


def path_params(template: str) -> list[str]:
    """The names of the path parameters in ``template`` (``/chat/{room}`` -> ``["room"]``); none if it is malformed
    (:func:`fill_path` then says why)."""
    try:
        return list(PathPattern.compile(template).params)
    except ValueError:
        return []


def match_route(path: str, routes: Sequence[RouteInfo]) -> tuple[RouteInfo | None, dict[str, str]]:
    """The route whose pattern is ``path`` or matches it, with the path parameters' values."""
    for route in routes:
        if route.path == path:
            return route, {}
    for route in routes:
        values = route.pattern.match(path)
        if values is not None:
            return route, values
    return None, {}


def fill_path(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` (quoted); ``ValueError`` naming an empty one."""
    try:
        pattern = PathPattern.compile(template)
    except ValueError as exc:
        raise ValueError(f"path: {exc}") from None
    filled = {name: values.get(name, "").strip() for name in pattern.params}
    for name, value in filled.items():
        if not value:
            raise ValueError(f"path parameter {name!r}: empty — fill in a value for {{{name}}}")
    return pattern.fill(filled)


def parse_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME.match(name.strip()):
            raise ValueError(f"headers, line {number}: expected 'Name: value', got {line.strip()!r}")
        headers[name.strip()] = value.strip()
    return headers
