"""What ``%lihil`` shows: where the server listens, the routes, the sessions and recent errors. Text and HTML."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..playground import RouteInfo

if TYPE_CHECKING:
    from ..playground import Playground, Session

ERRORS_SHOWN = 3
"""How many of a route's latest tracebacks ``%lihil`` shows."""
TOKEN_ONCE = ("a browser needs the token once per playground: open pages from a route card's \"open page\" (or "
              "pg.browser_url(path)); the cookie it sets lets these links in")


class StatusReport:
    """``%lihil``: where the server listens, the routes, the client sessions and recent errors."""

    def __init__(self, pg: Playground, *, routes_only: bool = False) -> None:
        self.running = pg.is_running
        self.url = pg.url if self.running else None
        # Where the user's browser reaches the server (through the Jupyter proxy on a hub), and why.
        # Without the token: outputs are saved with the notebook (the cards' copy buttons and pg.browser_url have it).
        self.browser_url = pg.browser_url("/", token=False) if self.running else None
        self.reach_why = pg.reach.why if self.running else ""
        self.token_on = pg.token is not None
        self.host = pg.host
        self.routes = pg.routes
        self.sessions: Sequence[Session] = [] if routes_only else pg.sessions
        self.server_log = [] if routes_only else list(pg.server_log)[-ERRORS_SHOWN:]
        self.routes_only = routes_only
        self.access = [] if routes_only else access_lines(pg)

    def __repr__(self) -> str:
        lines = [] if self.routes_only else [f"lihil playground: {self.url or 'stopped'}"]
        if self.browser_url and not self.routes_only:
            lines.append(f"browser: {self.browser_url}  ({self.reach_why})")
            if self.token_on:
                lines.append(f"  {TOKEN_ONCE}")
        lines.append(f"routes ({len(self.routes)}):" if self.routes else "routes: none (define one with %%ws_route)")
        for r in self.routes:
            lines.append(f"  {r.path}  [{_kind(r)}]  {r.handler_name}  v{r.version}  "
                         f"{r.open_connections} open")
            lines += [f"      {p}" for p in r.param_lines]
            for err in r.errors[-ERRORS_SHOWN:]:
                lines.append("      last error:")
                lines += [f"        {line}" for line in err.splitlines()]
        if not self.routes_only:
            lines.append(f"sessions ({len(self.sessions)}):" if self.sessions else "sessions: none")
            lines += [f"  {s.name}  {s.path}  {s.state}{' stale' if s.stale else ''}" for s in self.sessions]
            lines += [f"server: {line}" for line in self.server_log]
            lines += self.access
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # Inline styles: notebooks right-align table cells, which scrambles code and tracebacks.
        esc = html.escape
        parts = [] if self.routes_only else [
            f"<div><b>lihil playground</b>: <code>{esc(self.url or 'stopped')}</code></div>"]
        if self.browser_url and not self.routes_only:
            parts.append(f'<div>browser: <a class="lihil-browser-link" href="{esc(self.browser_url)}" '
                         f'target="_blank"><code>{esc(self.browser_url)}</code></a> <i>{esc(self.reach_why)}</i>'
                         + (f"<br><i>{esc(TOKEN_ONCE)}</i>" if self.token_on else "") + "</div>")
        if self.routes:
            rows = "".join(
                f"<tr>{_td(f'<code>{esc(r.path)}</code>')}{_td(_kind(r))}{_td(esc(r.handler_name))}"
                f"{_td('<br>'.join(esc(p) for p in r.param_lines))}{_td(str(r.version))}"
                f"{_td(str(r.open_connections))}</tr>"
                for r in self.routes
            )
            header = "".join(_td(f"<b>{name}</b>") for name in ("path", "kind", "handler", "parameters", "version",
                                                                 "open"))
            parts.append(f"<table><tr>{header}</tr>{rows}</table>")
            for r in self.routes:
                for error in r.errors[-ERRORS_SHOWN:]:
                    parts.append(f"<div>Last error of <code>{esc(r.path)}</code> (v{r.version}):</div>"
                                 f"<pre style='{_LEFT}'>{esc(error)}</pre>")
        else:
            parts.append("<div>No routes yet: define one with <code>%%ws_route</code>.</div>")
        if self.sessions:
            rows = "".join(f"<tr>{_td(esc(s.name))}{_td(f'<code>{esc(s.path)}</code>')}"
                           f"{_td(s.state + (' (stale)' if s.stale else ''))}</tr>" for s in self.sessions)
            header = "".join(_td(f"<b>{name}</b>") for name in ("session", "path", "state"))
            parts.append(f"<table><tr>{header}</tr>{rows}</table>")
        parts += [f"<pre style='{_LEFT}'>{esc(line)}</pre>" for line in self.server_log]
        parts += [f"<div style='text-align: left'>{esc(line)}</div>" for line in self.access]
        return "".join(parts)


_LEFT = "text-align: left; white-space: pre; overflow-x: auto"


def _td(content: str) -> str:
    return f"<td style='text-align: left; vertical-align: top'>{content}</td>"


def access_lines(pg: Playground) -> list[str]:
    """Who may connect, and what was refused lately (never the token itself)."""
    token = ("on (the notebook's sessions, consoles and pg.show carry it; `%lihil token` says how to get it)"
             if pg.token else "OFF: any account on this machine may connect (`%lihil token on`)")
    lines = [f"who may connect: this server's pages, the Jupyter page and clients with the token; token {token}"]
    if pg.access.allowed_origins or pg.access.allowed_hosts:
        lines.append("  also allowed: " + ", ".join(pg.access.allowed_origins + pg.access.allowed_hosts))
    refused = pg.access.log.count
    if refused:
        lines.append(f"refused requests: {refused}; the last ones:")
        lines += [f"  {r}" for r in pg.access.refusals(ERRORS_SHOWN)]
    return lines


def _kind(route: RouteInfo) -> str:
    return route.kind if route.kind != "http" else "http " + ",".join(route.methods)
