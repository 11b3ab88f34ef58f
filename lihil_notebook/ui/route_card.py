"""The card under a ``%%ws_route`` / ``%%route`` cell: the route's state, URL and parameters, and a button that
opens a console for it. It follows the route (live, replaced by a newer version, unmounted) until it is
replaced; where widgets do not render it shows the magics' text card.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .asyncapi_view import AsyncApiLink
from .browser_url import BrowserUrl
from .style import ASSETS_HTML, button, error_html, html_view, row
from .target import find_route, full_url, url_code

if TYPE_CHECKING:
    from ..playground import Playground, RouteInfo


REFUSALS_SHOWN = 3
"""How many of the route's latest refused requests its card shows (so a page that can't connect sees why)."""


def close_tree(widget: widgets.Widget) -> None:
    """Close ``widget`` and every widget it holds — children, but also its ``layout`` and ``style``, which are widget
    models of their own (``Widget.close`` alone leaves all of them open in the kernel)."""
    held: list[widgets.Widget] = []
    for name in widget.keys:
        value = getattr(widget, name, None)
        for item in value if isinstance(value, tuple | list) else (value,):
            if isinstance(item, widgets.Widget):
                held.append(item)
    widgets.Widget.close(widget)  # the plain close: a subclass's close() may call close_tree itself
    for item in held:
        if item.comm is not None:  # shared ones (and ones seen twice) are closed once
            close_tree(item)


class RouteCard(widgets.VBox):
    """What a route cell shows: live state, URL, parameters; for WebSocket routes an "Open console" button.

    ``open_console(path)`` builds the console that the button shows under the card.
    """

    def __init__(self, pg: Playground, path: str, *, open_console: Callable[[str], widgets.Widget]) -> None:
        self.pg = pg
        self.path = path
        self._open_console = open_console
        self.page: widgets.Widget | None = None
        route = find_route(pg, path)
        self.version = getattr(route, "version", None)
        self.kind = getattr(route, "kind", "ws")
        self.info = html_view(self._info_html(), "lihil-route-card-info")
        self.console: widgets.Widget | None = None
        self._lock = threading.Lock()
        self.console_slot = widgets.VBox()
        # Where the user's browser reaches the route (through the Jupyter proxy on a hub), to copy or open.
        self.browser_url = BrowserUrl(websocket=self.kind != "http", open_link=self.kind == "http")
        self.browser_url.follow(pg, path)
        self.page_slot = widgets.VBox()
        children: list[widgets.Widget] = [widgets.HTML(ASSETS_HTML), self.info, row([self.browser_url]),
                                          self.console_slot, self.page_slot]
        if self.kind != "http":
            self.open_button = widgets.Button(description="Open console", layout=widgets.Layout(width="auto"))
            self.open_button.add_class("lihil-route-open-console")
            self.open_button.on_click(self._on_open_click)
            children.insert(3, row([self.open_button]))
            children.insert(4, AsyncApiLink(pg, path))  # the route's AsyncAPI document, shown on demand
        elif "GET" in getattr(route, "methods", ()) and "{" not in path:
            # A page shown in the notebook, its WebSockets through the kernel: works where no port is reachable.
            self.show_button = button("Show page here", "lihil-route-show-page", self._on_show_click)
            children.insert(3, row([self.show_button]))
        super().__init__(children)
        self.add_class("lihil-route-card")
        self._unobserve: Callable[[], None] | None = pg.observe(self._on_playground_event)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Where widgets do not render (nbconvert, GitHub, plain IPython) the card still says what it says.
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        route = find_route(self.pg, self.path)
        if route is not None:
            url = full_url(self.pg, self.path, http=route.kind == "http", browser=True)
            static = RouteSummary(route, url or f"{self.path} (server stopped)")
            bundle["text/plain"], bundle["text/html"] = repr(static), static._repr_html_()
        return bundle

    def _on_open_click(self, _: object) -> None:
        if self.console is None:
            self.console = self._open_console(self.path)
            self.console_slot.children = (self.console,)
            self.open_button.description = "Close console"
        else:
            self.console.close()
            self.console_slot.children = ()
            self.console = None
            self.open_button.description = "Open console"

    def close(self) -> None:
        """Stop following the route and close every widget of the card (and of its console, if open)."""
        if self._unobserve is not None:
            self._unobserve()
            self._unobserve = None
        close_tree(self)

    def _on_show_click(self, _: object) -> None:
        if self.page is None:
            try:
                self.page = self.pg.show(self.path)
            except (ValueError, RuntimeError) as error:
                self.page_slot.children = (widgets.HTML(error_html(str(error))),)
                return
            self.page_slot.children = (self.page,)
            self.show_button.description = "Hide page"
        else:
            self.page.close()
            self.page, self.page_slot.children = None, ()
            self.show_button.description = "Show page here"

    def _on_playground_event(self, event: str) -> None:
        if event not in ("routes", "server", "edge"):
            return
        with self._lock:  # callbacks may come from several threads
            self.browser_url.follow(self.pg, self.path)
            value = self._info_html()
            if self.info.value != value:
                self.info.value = value
            route = find_route(self.pg, self.path)
            if (route is None or route.version != self.version) and self._unobserve is not None:
                self._unobserve()  # replaced or unmounted: this card says so and has nothing more to follow
                self._unobserve = None

    def _info_html(self) -> str:
        route = find_route(self.pg, self.path)
        if route is None:
            state = '<span class="lihil-status-closed">○ unmounted</span>'
        elif self.version not in (None, route.version):
            state = f'<span class="lihil-status-stale">○ replaced by v{route.version}</span>'
        else:
            state = f'<span class="lihil-status-open">● live</span> v{route.version}'
        parts = [state, url_code(self.pg, self.path, http=getattr(route, "kind", "ws") == "http")]
        if route is not None:
            parts.append(f"handler <code>{html.escape(route.handler_name)}</code>")
            if route.params:
                parts.append("params " + ", ".join(f"<code>{html.escape(p)}</code>" for p in route.param_lines))
            if route.open_connections:
                parts.append(f"{route.open_connections} open connection(s)")
            refused = self.pg.access.log.last(REFUSALS_SHOWN, lambda path: route.pattern.match(path) is not None)
            if refused:
                parts.append("<span class='lihil-route-refused'>refused: "
                             + "; ".join(html.escape(f"{r.detail} — {r.allow}") for r in refused) + "</span>")
        return " · ".join(parts)


class RouteSummary:
    """"/echo/{room} is live at ws://127.0.0.1:PORT/echo/{room}", with the route's parameters: the route card as
    text and HTML, for where widgets do not render (nbconvert, GitHub, plain IPython)."""

    def __init__(self, info: RouteInfo, url: str) -> None:
        self.info, self.url = info, url

    def _headline(self) -> str:
        what = {"ws": "WebSocket route", "hub": "hub"}.get(self.info.kind) or f"HTTP route ({', '.join(self.info.methods)})"
        again = f", version {self.info.version}" if self.info.version > 1 else ""
        return f"{what} {self.info.path} is live{again}: {self.info.handler_name}"

    def __repr__(self) -> str:
        lines = [self._headline(), f"  {self.url}"]
        none = "  (channels: join a topic with the hub protocol)" if self.info.kind == "hub" else "  (no parameters)"
        lines += [f"  {p}" for p in self.info.param_lines] or [none]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        params = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in self.info.param_lines)
        return (
            '<div class="lihil-route-card">'
            f"<div><b>✓ {html.escape(self._headline())}</b></div>"
            f"<div><code>{html.escape(self.url)}</code></div>"
            + (f"<ul>{params}</ul>" if params else "<div><i>channels: join a topic with the hub protocol</i></div>"
               if self.info.kind == "hub" else "<div><i>no parameters</i></div>")
            + "</div>"
        )
