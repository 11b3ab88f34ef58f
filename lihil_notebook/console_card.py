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

from .console_style import ASSETS_HTML, html_view, row
from .console_target import find_route, full_url, url_code
from .display import RouteCard as StaticRouteCard

if TYPE_CHECKING:
    from .console import Console
    from .playground import Playground


class RouteCard(widgets.VBox):
    """What a route cell shows: live state, URL, parameters; for WebSocket routes an "Open console" button."""

    def __init__(self, pg: Playground, path: str) -> None:
        self.pg = pg
        self.path = path
        route = find_route(pg, path)
        self.version = getattr(route, "version", None)
        self.kind = getattr(route, "kind", "ws")
        self.info = html_view(self._info_html(), "lihil-route-card-info")
        self.console: Console | None = None
        self._lock = threading.Lock()
        self.console_slot = widgets.VBox()
        children: list[widgets.Widget] = [widgets.HTML(ASSETS_HTML), self.info, self.console_slot]
        if self.kind == "ws":
            self.open_button = widgets.Button(description="Open console", layout=widgets.Layout(width="auto"))
            self.open_button.add_class("lihil-route-open-console")
            self.open_button.on_click(self._on_open_click)
            children.insert(2, row([self.open_button]))
        super().__init__(children)
        self.add_class("lihil-route-card")
        self._unobserve: Callable[[], None] | None = pg.observe(self._on_playground_event)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Where widgets do not render (nbconvert, GitHub, plain IPython) the card still says what it says.
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        route = find_route(self.pg, self.path)
        if route is not None:
            url = full_url(self.pg, self.path, http=route.kind == "http")
            static = StaticRouteCard(route, url or f"{self.path} (server stopped)")
            bundle["text/plain"], bundle["text/html"] = repr(static), static._repr_html_()
        return bundle

    def _on_open_click(self, _: object) -> None:
        if self.console is None:
            from .console import console  # the console module builds route cards: import it when needed

            self.console = console(self.path, playground=self.pg)
            self.console_slot.children = (self.console,)
            self.open_button.description = "Close console"
        else:
            self.console.close()
            self.console_slot.children = ()
            self.console = None
            self.open_button.description = "Open console"

    def _on_playground_event(self, event: str) -> None:
        if event not in ("routes", "server"):
            return
        with self._lock:  # callbacks may come from several threads
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
                parts.append("params " + ", ".join(f"<code>{html.escape(p)}</code>" for p in route.params))
            if route.open_connections:
                parts.append(f"{route.open_connections} open connection(s)")
        return " · ".join(parts)
