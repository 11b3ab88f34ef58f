"""The WebSocket console: an ipywidgets view of client sessions to the playground's routes.

``console("/chat/lobby?user=ann")`` (or ``%ws_console /chat/lobby?user=ann``) shows a form for the target —
a route picked from the playground or a typed path, its path parameters and query string, handshake headers
and subprotocols — and one panel per named session, side by side. Each panel connects, sends text / JSON /
binary, pings, closes with a code and reason, and shows a live log that can be filtered, cleared and exported.

How it stays responsive: all network work runs on the playground's server loop (the panels only call the
sessions' non-blocking methods), and widget state changes reach the page through a :class:`UiPump` that
coalesces any number of log entries into at most ``refresh_rate`` flushes per second, each one batched with
``hold_sync`` and rendered incrementally (see :mod:`.console_log`).

Front ends: JupyterLab 4 and Notebook 7 render updates made from the server thread live. Where widgets cannot
update from a thread (Google Colab at the time of writing), entries still reach ``session.log``; the view
catches up whenever the kernel handles the next widget message (any click in the console).
"""

from __future__ import annotations

import atexit
import html
import re
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import ipywidgets as widgets

from ...kernel import playground as kernel_playground
from ...playground import Playground
from ..browser_url import BrowserUrl
from ..poll import PollingPump, update_mode
from ..style import ASSETS_HTML, error_html, html_view, row, text_field
from ..target import (
    Target,
    check_target,
    fill_path,
    is_url,
    match_route,
    parse_headers,
    path_params,
    query_params,
    recent_targets,
    remember_target,
    url_code,
)
from .console_parts import Lane, UndoBar, param_field
from .diagram_view import DIAGRAM_RATE, DiagramView
from .front import ConsoleFront
from .pump import UiPump
from .saved import SavedMessages
from .search import ConsoleSearch
from .session_panel import SessionPanel
from .session_targets import identities, missing_identity, new_session_target

if TYPE_CHECKING:
    from ...client.session import Session

__all__ = ["Console", "SessionPanel", "Target", "UiPump", "console"]

_consoles: weakref.WeakSet[Console] = weakref.WeakSet()  # who shows a playground's recent targets


@atexit.register
def _kernel_exits() -> None:
    # The kernel is going away ("Shut Down All Kernels"): tell every console's page, while the comm still works.
    for view in list(_consoles):
        try:
            view.front.kernel = "shut down"
        except Exception:  # the comm is gone already: the page notices at its next click
            pass
_RECENT_PREFIX = "recent:"
_CONSOLE_KINDS = ("ws", "hub")  # the routes a console can talk to: plain WebSocket routes and hubs


def console(
    path: str | None = None,
    *,
    playground: Playground | None = None,
    sessions: Sequence[str] = ("",),
    connect: bool = False,
    max_entries: int = 500,
    refresh_rate: float = 15.0,
    export_dir: str | Path | None = None,
    updates: str = "auto",
    diagram_rate: float = DIAGRAM_RATE,
) -> Console:
    """Build a console for ``path`` (``/chat/lobby?user=ann``, a route pattern, or None to pick later).

    ``sessions`` names the panels to start with ("" lets the playground pick "s1", "s2", …); ``connect``
    connects them at once. Each log view keeps the last ``max_entries`` entries on screen (the sessions keep
    all of theirs); the screen is refreshed at most ``refresh_rate`` times a second. Exports go to
    ``export_dir`` (default: the kernel's working directory, i.e. next to the notebook). ``updates="poll"``
    makes the page pull its updates from the kernel's main thread (see :mod:`.poll`; "auto" does it in Colab).
    The "Diagram" view redraws at most ``diagram_rate`` times a second while it is open.
    """
    update_mode(updates)  # a bad value is an error before any widget exists
    pg = playground if playground is not None else kernel_playground()
    view = Console(
        pg,
        path,
        max_entries=max_entries,
        refresh_rate=refresh_rate,
        export_dir=Path(export_dir) if export_dir is not None else None,
        updates=updates,
        diagram_rate=diagram_rate,
    )
    for name in sessions:
        panel = view.add_session(name)
        if connect:
            panel.connect()
    return view


class Console(widgets.VBox):
    """The console widget (CSS class ``lihil-console``). Build it with :func:`console`.

    The form (route, path, parameters, query, headers, subprotocols) says where the next connection goes;
    ``panels`` are the sessions. Form widgets are written by the main thread only; panels' session state by
    the UI pump only.
    """

    def __init__(
        self,
        pg: Playground,
        path: str | None = None,
        *,
        max_entries: int = 500,
        refresh_rate: float = 15.0,
        export_dir: Path | None = None,
        updates: str = "auto",
        diagram_rate: float = DIAGRAM_RATE,
    ) -> None:
        self.pg = pg
        self.panels: list[SessionPanel] = []
        self.max_entries = max_entries
        self.export_dir = export_dir
        self.updates = update_mode(updates)
        self.pump: UiPump | PollingPump = (
            UiPump(pg, self._flush, rate=refresh_rate) if self.updates == "push"
            else PollingPump(self._flush, active=self._has_live_session)
        )
        self.front = ConsoleFront()
        self.diagram = DiagramView(self.pump.request, rate=diagram_rate)
        self.search = ConsoleSearch(lambda: self.panels, export_dir=export_dir)
        self.saved = SavedMessages(export_dir)
        self._new_route_options: list[tuple[str, str | None]] | None = None
        self._refreshing_routes = False
        self._param_fields: dict[str, widgets.Text] = {}
        self._query_fields: dict[str, widgets.Text] = {}
        self._form_path: str | None = None
        self._removed: SessionPanel | None = None

        self.route_picker = widgets.Dropdown(
            options=self._route_options(), value=None, layout=widgets.Layout(width="260px")
        )
        self.route_picker.add_class("lihil-console-route")
        self.path = text_field("", "/path/{param}", "260px", "lihil-console-path")
        self.params_box = row([])
        self.query = text_field("", "query: a=1&b=2", "200px", "lihil-console-query")
        self.query_box = row([])
        self.headers = widgets.Textarea(
            placeholder="headers — Name: value per line",
            rows=1,
            layout=widgets.Layout(width="320px"),
        )
        self.headers.add_class("lihil-console-headers")
        self.subprotocols = text_field(
            "", "subprotocols: chat.v1, chat.v2", "220px", "lihil-console-subprotocols"
        )
        self.target_url = html_view("", "lihil-console-form-target")
        self.browser_target = BrowserUrl(websocket=True)  # the target for a browser's own client, with "copy"
        self.session_name = text_field("", "new session's name", "130px", "lihil-console-new-name")
        self.session_name.tooltip = "the new session's name; it also fills who it connects as (?user=…)"
        self.session_name.observe(lambda _: self._show_new_target(), names="value")
        self.add_session_button = widgets.Button(description="+ session", layout=widgets.Layout(width="auto"),
                                                 tooltip="add a session and connect it to the target shown")
        self.add_session_button.add_class("lihil-console-add-session")
        self.add_session_button.on_click(self._on_add_session_click)
        self.new_target = html_view("", "lihil-console-new-target")  # what "+ session" connects as
        self.more = widgets.ToggleButton(value=False, description="headers…", layout=widgets.Layout(width="auto"),
                                         tooltip="query string, handshake headers, subprotocols, variables, "
                                                 "the browser's URL")
        self.more.add_class("lihil-console-more")
        self.undo = UndoBar(self._undo_remove)
        self.notice = html_view("", "lihil-console-notice")
        self.sessions_box = widgets.Box(
            layout=widgets.Layout(display="flex", flex_flow="row wrap", width="100%")
        )
        self.sessions_box.add_class("lihil-console-sessions")

        self.route_picker.tooltip = "a route of this playground, or a recent target"
        self.route_picker.observe(self._on_route_pick, names="value")
        self.path.observe(lambda _: self._on_path_change(), names="value")
        for field in (self.query, self.headers, self.subprotocols):
            field.observe(lambda _: self._show_target(), names="value")

        details = widgets.VBox([
            row([self.query, self.headers, self.subprotocols, self.saved.variables]),
            row([self.target_url, self.browser_target]),
        ], layout=widgets.Layout(display="none"))
        details.add_class("lihil-console-details")
        self.more.observe(lambda change: setattr(details.layout, "display", "" if change["new"] else "none"),
                          names="value")
        bar = row([self.route_picker, self.path, self.params_box, self.query_box, self.more, self.session_name,
                   self.add_session_button, self.new_target, *self.search.widgets, self.diagram.toggle])
        bar.add_class("lihil-console-bar")
        super().__init__(
            [
                widgets.HTML(ASSETS_HTML),
                self.front,
                bar,
                details,
                self.saved.note,
                self.notice,
                self.undo.widget,
                self.search.results,
                self.sessions_box,
                self.diagram.widget,
                *([self.pump.ticker] if isinstance(self.pump, PollingPump) else []),
            ]
        )
        self.add_class("lihil-console")
        if path:
            self._load_path(path)
        self._show_target()
        self._unobserve = pg.observe(self._on_playground_event)
        _consoles.add(self)

    # ---- public API --------------------------------------------------------------------------------

    def target(self) -> Target:
        """The form's target; ``ValueError`` naming the field when something is missing or malformed."""
        template, _, inline_query = self.path.value.strip().partition("?")
        check_target(template, "path")
        if is_url(template):
            path = template
        else:
            path = fill_path(template, {name: field.value for name, field in self._param_fields.items()})
        pairs = [(name, field.value) for name, field in self._query_fields.items() if field.value != ""]
        for text in (inline_query, self.query.value.strip().lstrip("?")):
            pairs += parse_qsl(text, keep_blank_values=True)
        query = urlencode(pairs)
        return Target(path + (f"?{query}" if query else ""), *self.handshake())

    @property
    def path_fields(self) -> dict[str, widgets.Text]:
        """The form's field for each path parameter of the route pattern (``{"room": Text}``)."""
        return dict(self._param_fields)

    @property
    def query_fields(self) -> dict[str, widgets.Text]:
        """The form's field for each query parameter the route's handler declares."""
        return dict(self._query_fields)

    def handshake(self) -> tuple[dict[str, str], list[str]]:
        """The form's handshake headers and subprotocols (every session uses them); ``ValueError`` on a bad line."""
        return parse_headers(self.headers.value), [p for p in re.split(r"[,\s]+", self.subprotocols.value) if p]

    def add_session(self, name: str = "", *, session: Session | None = None) -> SessionPanel:
        """Add a session panel named ``name`` (optionally showing an existing ``session``); return it."""
        panel = SessionPanel(
            self.pg,
            name=name,
            target=self.target,
            handshake=self.handshake,
            initial_path=self._prefill(name),
            on_connect=self._remember_target,
            saved=self.saved,
            request_refresh=self.pump.request,
            on_remove=lambda panel: self.remove_session(panel, undo=True),
            max_entries=self.max_entries,
            export_dir=self.export_dir,
        )
        self.panels.append(panel)
        self.sessions_box.children = (*self.sessions_box.children, panel)
        if session is not None:
            panel.attach(session)
        self._show_new_target()
        return panel

    def _undo_remove(self) -> None:
        panel, self._removed = self._removed, None
        self.undo.show("")
        if panel is None:
            return
        self.panels.append(panel)
        self.sessions_box.children = (*self.sessions_box.children, panel)

    def _remember_target(self, target: str) -> None:
        # Main thread. The dropdown itself is the pump's to write: hand it the new options.
        remember_target(self.pg, target)
        for view in [view for view in list(_consoles) if view.pg is self.pg]:
            view._new_route_options = view._route_options()
            view.pump.request()

    def _prefill(self, name: str) -> str:
        """A new panel's target: the form's, never silently sharing another session's identity — ``name`` in
        place of ``?user=…`` (and the like), or an empty value to fill (see :mod:`.session_targets`)."""
        try:
            path = self.target().path
        except ValueError:
            return ""
        taken = {panel.name_input.value.strip() for panel in self.panels}
        for panel in self.panels:
            taken |= set(identities(panel.target_field.value).values())
        return new_session_target(path, name, taken)

    def _show_new_target(self) -> None:
        # Main thread: what "+ session" would connect as, next to the button.
        if not self.panels:
            text = ""
        else:
            path = self._prefill(self.session_name.value.strip())
            query = path.partition("?")[2]
            missing = missing_identity(path)
            text = (f"type a name: it fills ?{html.escape(missing)}=" if missing
                    else f"as <code>?{html.escape(query)}</code>" if query else "")
        if self.new_target.value != text:
            self.new_target.value = text

    def remove_session(self, panel: SessionPanel, *, undo: bool = False) -> None:
        """Close the panel's session (code 1000) and remove the panel; ``undo=True`` (the menu's "Remove
        session") keeps it until the next removal, with an "Undo" that brings it back (its log, not its
        connection)."""
        if undo:
            if self._removed is not None:
                self.remove_session(self._removed)
            if panel.session is not None and panel.session.state in ("connecting", "open"):
                panel.session.close_nowait(1000, "console panel removed")
            self._removed = panel
            if panel in self.panels:
                self.panels.remove(panel)
            self.sessions_box.children = tuple(p for p in self.sessions_box.children if p is not panel)
            self.undo.show(panel.name_input.value or "session")
            return
        if panel is self._removed:
            self._removed = None
            self.undo.show("")
        if panel.session is not None and panel.session.state in ("connecting", "open"):
            panel.session.close_nowait(1000, "console panel removed")
        panel.dispose()
        if panel in self.panels:
            self.panels.remove(panel)
        self.sessions_box.children = tuple(p for p in self.sessions_box.children if p is not panel)

    @property
    def stats(self) -> dict[str, int]:
        """Counters for tests and benchmarks: flushes, log widget updates, rows rendered."""
        return {
            "flushes": self.pump.flushes,
            "log_writes": sum(panel.log_view.writes for panel in self.panels),
            "rows_rendered": sum(panel.log_view.rows_rendered for panel in self.panels),
        }

    def close(self) -> None:
        """Stop following the playground and the sessions (which stay open), then close the widgets."""
        self._unobserve()
        _consoles.discard(self)
        for panel in self.panels:
            panel.dispose()
        super().close()

    # ---- UI pump (server thread; the main thread in poll mode) -------------------------------------------

    def _has_live_session(self) -> bool:
        return any(p.session is not None and p.session.state in ("connecting", "open") for p in self.panels)

    def _flush(self) -> None:
        options, self._new_route_options = self._new_route_options, None
        if options is not None:
            self._refresh_route_picker(options)
        for panel in list(self.panels):
            panel.refresh()
        self.diagram.refresh([Lane(panel) for panel in self.panels if panel.session is not None])
        problems = self.pump.errors
        notice = f"<pre class='lihil-note-error'>{html.escape(problems[-1])}</pre>" if problems else ""
        if self.notice.value != notice:
            self.notice.value = notice

    def _on_playground_event(self, event: str) -> None:
        # Any thread; must be cheap. The routes are read here, on the thread that changed them, never in the
        # pump: the server thread must not wait on the playground's lock (stop() holds it while joining).
        if event == "routes":
            self._new_route_options = self._route_options()
        elif event == "server":  # started, stopped or moved: the target's URL changed
            self._show_target()
        self.pump.request()

    def _refresh_route_picker(self, options: list[tuple[str, str | None]]) -> None:
        if list(self.route_picker.options) == options:
            return
        self._refreshing_routes = True
        try:
            current = self.route_picker.value
            self.route_picker.options = options
            self.route_picker.value = current if current in [value for _, value in options] else None
        finally:
            self._refreshing_routes = False

    # ---- the form (main thread) --------------------------------------------------------------------------

    def _route_options(self) -> list[tuple[str, str | None]]:
        options: list[tuple[str, str | None]] = [("— pick a route or a recent target —", None)]
        options += [(f"{route.path}  ·  {'hub ' * (route.kind == 'hub')}{route.handler_name} v{route.version}",
                     route.path) for route in self.pg.routes if route.kind in _CONSOLE_KINDS]
        options += [(f"recent  ·  {target}", _RECENT_PREFIX + target) for target in recent_targets(self.pg)]
        return options

    def _on_route_pick(self, change: dict[str, Any]) -> None:
        if self._refreshing_routes or change["new"] is None:
            return
        if change["new"].startswith(_RECENT_PREFIX):
            self._load_path(change["new"][len(_RECENT_PREFIX) :])
            return
        route = next((r for r in self.pg.routes if r.kind in _CONSOLE_KINDS and r.path == change["new"]), None)
        if route is None:
            return
        self._query_fields = {
            name: self._query_fields.get(name) or param_field(name, hint) for name, hint in query_params(route)
        }
        self.query_box.children = tuple(self._query_fields.values())
        for field in self._query_fields.values():
            field.observe(lambda _: self._show_target(), names="value")
        self.path.value = route.path

    def _on_path_change(self) -> None:
        template = self.path.value.partition("?")[0]
        names = [] if is_url(template) else path_params(template)
        if list(self._param_fields) != names:
            fields = {name: self._param_fields.get(name) or param_field(name, "path parameter") for name in names}
            for name, field in fields.items():
                if name not in self._param_fields:
                    field.observe(lambda _: self._show_target(), names="value")
            self._param_fields = fields
            self.params_box.children = tuple(fields.values())
        self._show_target()

    def _show_target(self) -> None:
        try:
            target = self.target()
        except ValueError as error:
            self.target_url.value = error_html(str(error))
            self.browser_target.href = ""
            return
        self.browser_target.follow(self.pg, target.path)
        extras = []
        if target.headers:
            extras.append(f"{len(target.headers)} header(s)")
        if target.subprotocols:
            extras.append("subprotocols " + ", ".join(target.subprotocols))
        suffix = html.escape(" · " + " · ".join(extras)) if extras else ""
        old, self._form_path = self._form_path, target.path
        for panel in self.panels:
            panel.follow(target.path, old)
        self.target_url.value = f"target {url_code(self.pg, target.path)}{suffix}"
        self._show_new_target()

    def _load_path(self, path: str) -> None:
        template, _, query = path.partition("?")
        route, values = match_route(template, [r for r in self.pg.routes if r.kind in _CONSOLE_KINDS])
        if route is None:  # a URL, or a path no route matches (yet): the form as typed
            self._query_fields = {}
            self.query_box.children = ()
            self.path.value = template
            self.query.value = query
            return
        self.route_picker.value = route.path  # fills path and query fields
        for name, value in values.items():
            if name in self._param_fields:
                self._param_fields[name].value = value
        rest = []
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key in self._query_fields:
                self._query_fields[key].value = value
            else:
                rest.append((key, value))
        self.query.value = urlencode(rest)

    def _on_add_session_click(self, _: object) -> None:
        name = self.session_name.value.strip()
        panel = self.add_session(name)
        try:
            panel.connect()
        except ValueError as error:
            panel._note(str(error))
        self.session_name.value = ""


