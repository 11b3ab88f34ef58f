"""Where a console session connects: the target, read from the console's form, and the URLs shown for it.

The form holds a route pattern (``/chat/{room}``), values for its path parameters, query fields, free
headers and subprotocols; :func:`fill_path` and :func:`parse_headers` turn them into a :class:`Target` or
raise ``ValueError`` naming the field and what was expected.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from .playground import Playground

PATH_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
_ROUTE_PARAM = re.compile(r"^(?P<name>\w+): (?P<hint>.*) \((?P<location>\w+)\)$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True)
class Target:
    """Where and how a session connects: the path with its query string, handshake headers, subprotocols."""

    path: str
    headers: dict[str, str]
    subprotocols: list[str]


def url_code(pg: Playground, path: str, *, http: bool = False) -> str:
    """The full URL of ``path`` as copyable code, or a note when the server is stopped (no port yet)."""
    url = full_url(pg, path, http=http)
    if url is None:
        return f"<code>{html.escape(path)}</code> <i>(server stopped: Connect or <code>%lihil start</code> starts it)</i>"
    return f"<code class='lihil-url'>{html.escape(url)}</code>"


def full_url(pg: Playground, path: str, *, http: bool) -> str | None:
    try:
        return pg.url + path if http else pg.ws_url(path)
    except RuntimeError:  # ServerNotRunningError: no port while stopped
        return None


def find_route(pg: Playground, path: str) -> Any:
    return next((route for route in pg.routes if route.path == path), None)


def route_params(route: Any) -> list[tuple[str, str, str]]:
    """(name, hint, location) for each of a RouteInfo's parameter strings like "upper: bool = False (query)"."""
    parsed = []
    for text in getattr(route, "params", []):
        match = _ROUTE_PARAM.match(str(text))
        if match:
            parsed.append((match["name"], match["hint"], match["location"]))
    return parsed


def match_route(path: str, routes: Sequence[Any]) -> tuple[Any, dict[str, str]]:
    """The route whose pattern is ``path`` or matches it, with the path parameters' values."""
    for route in routes:
        if route.path == path:
            return route, {}
    for route in routes:
        pattern = re.escape(route.path)
        pattern = re.sub(
            r"\\\{(\w+)(?::(\w+))?\\\}",
            lambda m: f"(?P<{m[1]}>.+)" if m[2] == "path" else f"(?P<{m[1]}>[^/]+)",
            pattern,
        )
        match = re.fullmatch(pattern, path)
        if match:
            return route, match.groupdict()
    return None, {}


def fill_path(template: str, values: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, converter = match.group(1), match.group(2)
        value = values.get(name, "").strip()
        if not value:
            raise ValueError(f"path parameter {name!r}: empty — fill in a value for {{{name}}}")
        return quote(value, safe="/" if converter == "path" else "")

    return PATH_PARAM.sub(substitute, template)


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
