"""One session in the console: its header (status, connect, ping, close), its compose box and its log.

Threads: widget callbacks run on the kernel's main thread and return at once — they only schedule work on the
server loop through the session's non-blocking methods (``send_nowait``, ``ping_nowait``, ``close_nowait``,
``pg.connect_nowait``). What reflects the *session* (status, URL, connect button, log view) is written only by
:meth:`SessionPanel.refresh`, which the console's UI pump calls on the server thread; what reflects the *user's
input* (compose box, history, name, target, notes) is written only by the main-thread callbacks. So every widget
has exactly one writer. One exception, by design: auto-reconnect's timer reconnects on the server loop; it goes
through :meth:`SessionPanel.connect` like a click, which writes the name and target only when they are empty (a
panel that reconnects has both).
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..client.log import LogEntry
from .compose import COMPOSE_MODES, encode_message
from .conversation import Conversation
from .export import DOWNLOAD_LIMIT, export_path, exported_html, write_jsonl
from .hub_panel import HubControls, is_hub_target
from .sparkline import Sparkline
from .status import status_html
from .style import SUBMIT_MARK, button, error_html, html_view, row, text_field
from .target import Target, check_target
from .timers import Reconnector, Repeater

if TYPE_CHECKING:
    from ..client.session import Session
    from ..playground import Playground
    from .saved import SavedMessages

_TEXT_HINT = "message — Enter sends, Shift+Enter adds a line"
_RAW_HINT = "raw frame, sent as typed (the hub row above speaks the protocol) — Enter sends"
_NO_PICK = -1  # the history menu's resting value: its "history" title


class SessionPanel(widgets.VBox):
    """A named session: header, compose box and log, with CSS class ``lihil-console-session``.

    Each panel has its own target, shown and editable in its header (``lihil-console-session-target``):
    ``initial_path`` prefills it, and until the panel first connects or the user edits it, it follows the
    console's form (:meth:`follow`). ``target`` returns the console form's current :class:`Target`, whose
    headers and subprotocols the panel uses. Reconnecting keeps the conversation: the earlier sessions'
    entries (up to ``max_entries``) stay in the view and in exports, followed by a separator row.
    ``request_refresh`` asks the UI pump to call :meth:`refresh` soon; ``on_remove`` is called when the user
    removes the panel.
    """

    def __init__(
        self,
        pg: Playground,
        *,
        name: str,
        target: Callable[[], Target],
        handshake: Callable[[], tuple[dict[str, str], list[str]]] | None = None,
        initial_path: str = "",
        on_connect: Callable[[str], None] | None = None,
        saved: SavedMessages | None = None,
        request_refresh: Callable[[], None],
        on_remove: Callable[[SessionPanel], None],
        max_entries: int = 500,
        history_size: int = 20,
        export_dir: Path | None = None,
        download_limit: int = DOWNLOAD_LIMIT,
    ) -> None:
        self.pg = pg
        self.session: Session | None = None
        self.conversation = Conversation(request_refresh, max_entries=max_entries)
        self.log_view = self.conversation.log_view
        self.history_size = history_size
        self.export_dir = export_dir
        self.download_limit = download_limit
        self._target_source = target
        self._handshake = handshake
        self._on_connect = on_connect
        self._target: Target | None = None
        self._follows_console = True
        self._following = False
        self._request_refresh = request_refresh
        self._on_remove = on_remove
        self._unsubscribe: Callable[[], None] | None = None
        self._last_rtt = ""
        self._last_problem = ""
        self._history: list[tuple[str, str]] = []

        self.name_input = text_field(name, "name", "80px", "lihil-console-name")
        self.target_field = text_field(initial_path, "target: /path?query", "auto", "lihil-console-session-target")
        self.target_field.layout.flex = "1 1 200px"
        self.target_field.observe(self._on_target_edit, names="value")
        self.status = html_view("○ not connected", "lihil-console-status")
        self.connect_button = button(
            "Connect", "lihil-console-connect", self._on_connect_click, style="success"
        )
        self.ping_button = button("Ping", "lihil-console-ping", lambda _: self.ping())
        self.close_code = widgets.IntText(
            value=1000, layout=widgets.Layout(width="62px"), tooltip="close code"
        )
        self.close_reason = text_field("", "close reason", "100px", "lihil-console-close-reason")
        self.remove_button = button(
            "×", "lihil-console-remove", lambda _: self._on_remove(self), width="32px"
        )
        self.url = html_view("<i>Connect uses the target above</i>", "lihil-console-url")
        self.sparkline = Sparkline()
        self._sparkline_tick = False
        self.traffic = html_view("", "lihil-console-sparkline")

        self.mode = widgets.Dropdown(options=COMPOSE_MODES, value="text", layout=widgets.Layout(width="82px"))
        self.mode.add_class("lihil-console-mode")
        self.input = widgets.Textarea(
            placeholder=_TEXT_HINT,
            rows=2,
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.input.add_class("lihil-console-input")
        self.input.observe(self._on_input_change, names="value")
        self.send_button = button("Send", "lihil-console-send", self._on_send_click, style="primary")
        self.history = widgets.Dropdown(
            options=[("history", _NO_PICK)], value=_NO_PICK, layout=widgets.Layout(width="90px")
        )
        self.history.add_class("lihil-console-history")
        self.history.observe(self._on_history_pick, names="value")
        self.compose_note = html_view("", "lihil-console-note")
        self.hub = HubControls()  # shown when the target is a hub (see .hub_panel)
        self.repeater = Repeater(pg.call_soon, self._repeat_message, self._send_from_loop, request_refresh,
                                 self._note)
        self.reconnector = Reconnector(pg.call_soon, self._auto_reconnect, request_refresh)

        self.filter_text = self.conversation.filter_text
        self.direction_toggles = self.conversation.direction_toggles
        self.clear_button = button("Clear", "lihil-console-clear", lambda _: self.clear())
        self.export_button = button("Export", "lihil-console-export", lambda _: self._on_export_click())
        self.export_note = html_view("", "lihil-console-note")

        super().__init__(
            [
                row([self.name_input, self.target_field]),
                row([self.connect_button, self.close_code, self.close_reason, self.ping_button,
                     self.remove_button]),
                row([self.status, self.url, self.traffic]),
                self.hub.widget,  # on a hub, its controls come first; the raw compose box stays below
                row([self.mode, self.input, self.send_button, self.history]),
                row([*self.repeater.widgets, self.reconnector.toggle,
                     *([saved.row(self.send, self._compose)] if saved is not None else [])]),
                self.compose_note,
                row([*self.conversation.filter_widgets, self.clear_button, self.export_button]),
                self.export_note,
                self.log_view.widget,
            ]
        )  # fmt: skip
        self.add_class("lihil-console-session")

    # ---- actions (main thread; each returns at once) -------------------------------------------------

    def connect(self) -> Session:
        """Open a session to this panel's target (or the console's current one); return it in "connecting"."""
        target = self._own_target()
        name = self.name_input.value.strip() or None
        session = self.pg.connect_nowait(
            target.path, name=name, headers=target.headers or None, subprotocols=target.subprotocols or None
        )
        self._target = target
        if self._on_connect is not None:
            self._on_connect(target.path)
        self.name_input.value = session.name
        self.attach(session)
        return session

    def attach(self, session: Session) -> None:
        """Show ``session`` in this panel (its whole log so far, then every new entry)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        hub = is_hub_target(self.pg, session.path)
        self.hub.attach(session, hub=hub, pg=self.pg)
        self.input.placeholder = _RAW_HINT if hub else _TEXT_HINT
        self.conversation.renderer = self.hub.render if hub else None
        self.conversation.attach(session)
        self.session = session
        self._last_rtt = self._last_problem = ""
        self._unsubscribe = session.subscribe(self._on_entry)
        self._request_refresh()

    def disconnect(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the session with ``code`` and ``reason`` (default: the panel's close fields)."""
        if self.session is None:
            return
        code = self.close_code.value if code is None else code
        reason = self.close_reason.value if reason is None else reason
        if not (code == 1000 or 3000 <= code <= 4999):
            self._note(f"close code: expected 1000 or 3000–4999 (what a client may send), got {code}")
            return
        self.reconnector.cancel()
        self.repeater.stop()
        self.session.close_nowait(code, reason)
        self._request_refresh()

    def send(self, text: str | None = None, mode: str | None = None) -> bool:
        """Send ``text`` (default: the compose box) as ``mode``; False (with a note saying why) if not sent."""
        from_compose = text is None
        text = (self.input.value if text is None else text).replace(SUBMIT_MARK, "")
        mode = mode or self.mode.value
        blank = not text if mode == "text" else not text.strip()
        if blank:
            self._note("nothing to send")
            return False
        if self.session is None or self.session.state != "open":
            state = "not connected" if self.session is None else self.session.state
            self._note(f"cannot send: the session is {state} — press Connect first")
            return False
        try:
            message = encode_message(text, mode)
        except ValueError as error:
            self._note(str(error))
            return False
        self.session.send_nowait(message)
        self._remember(mode, text)
        self._note("")
        if from_compose:
            self.input.value = ""
        return True

    def ping(self) -> None:
        """Send a ping; the round-trip time appears in the log and the status."""
        if self.session is None or self.session.state != "open":
            self._note("cannot ping: the session is not open")
            return
        self.session.ping_nowait()

    def clear(self) -> None:
        """Empty the view; the session's ``log`` keeps everything, and exports start after this point."""
        self.conversation.clear()

    def export_jsonl(self, path: str | Path | None = None) -> Path:
        """Write the entries since the last clear as JSON lines to ``path`` (default: a new file in the
        notebook's directory, named after the session and the time); return the path."""
        name = self.session.name if self.session is not None else self.name_input.value or "session"
        return write_jsonl(self.entries(), path or export_path(self.export_dir, name))

    def follow(self, path: str) -> None:
        """The console's form changed: show ``path`` as this panel's target, unless the panel has connected or
        the user has edited its target. Main thread only."""
        if not self._follows_console or self.target_field.value == path:
            return
        self._following = True
        try:
            self.target_field.value = path
        finally:
            self._following = False

    def entries(self) -> Sequence[LogEntry]:
        """The conversation since the last clear, across reconnects (all of it, regardless of the filter)."""
        return self.conversation.entries()

    def dispose(self) -> None:
        """Stop following the session (the session itself stays as it is)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # ---- the UI pump's side (server thread) -----------------------------------------------------------

    def refresh(self) -> None:
        """Bring status, URL, button and log view up to date. Called only by the console's UI pump."""
        self.repeater.refresh()
        session = self.session
        if session is None:
            return
        fresh = self.conversation.refresh()
        self._note_events(fresh)
        if self.hub.active:
            self.hub.refresh(session, fresh)
        status = status_html(session, rtt=self._last_rtt, problem=self._last_problem)
        if self.reconnector.pending and session.state == "closed":
            status += f' <span class="lihil-status-reconnect">· {html.escape(self.reconnector.pending)}</span>'
        _set(self.status, "value", status)
        traffic = self.sparkline.render(time.time())
        _set(self.traffic, "value", traffic)
        if traffic:
            self._tick_sparkline()
        _set(self.url, "value", _url_html(session.url))
        busy = session.state in ("connecting", "open")
        with self.connect_button.hold_sync():  # two traits, one message
            _set(self.connect_button, "description", "Disconnect" if busy else "Reconnect")
            _set(self.connect_button, "button_style", "warning" if busy else "success")

    def _own_target(self) -> Target:
        """The target field's path with the console's headers and subprotocols; ValueError saying what is wrong."""
        path = self.target_field.value.strip()
        if not path:
            path = self._target_source().path
            self.follow(path)
        if self._handshake is not None:
            headers, subprotocols = self._handshake()
        else:
            base = self._target or self._target_source()
            headers, subprotocols = base.headers, base.subprotocols
        check_target(path, "target")
        self._follows_console = False
        return Target(path, headers, subprotocols)

    def _on_target_edit(self, _: object) -> None:
        if not self._following:
            self._follows_console = False

    def _on_entry(self, entry: LogEntry) -> None:
        # Server loop thread, once per entry: keep it to an append and a wake-up.
        self.conversation.on_entry(entry)
        if entry.kind in ("text", "binary"):
            self.sparkline.count(entry.time, entry.size)
        elif entry.kind == "open":
            self.reconnector.opened()
        elif (entry.kind == "close" and entry.direction != "sent") or (
            entry.kind in ("denied", "error") and self.session is not None and self.session.state == "closed"
        ):
            self.reconnector.lost()
        self._request_refresh()

    def _tick_sparkline(self) -> None:
        # The rates move on with the clock, not only with messages: one more refresh a second later.
        if self._sparkline_tick:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the pump ran outside the server loop (server stopped): nothing to schedule on
            return
        self._sparkline_tick = True

        def tick() -> None:
            self._sparkline_tick = False
            self._request_refresh()

        loop.call_later(1.0, tick)

    def _compose(self) -> tuple[str, str]:
        return self.mode.value, self.input.value.replace(SUBMIT_MARK, "")

    def _repeat_message(self) -> str | bytes:
        if self.session is None or self.session.state != "open":
            raise ValueError("Cannot repeat: the session is not open — press Connect first")
        return encode_message(self.input.value.replace(SUBMIT_MARK, ""), self.mode.value)

    def _send_from_loop(self, message: str | bytes) -> bool:
        session = self.session
        if session is None or session.state != "open":
            return False
        session.send_nowait(message)
        return True

    def _auto_reconnect(self) -> None:
        # Server loop, from the reconnector's timer: the same as pressing Reconnect.
        try:
            self.connect()
        except ValueError as error:
            self.reconnector.pending = f"cannot reconnect: {error}"
            self._request_refresh()

    def _note_events(self, entries: Sequence[LogEntry]) -> None:
        for entry in entries:
            if entry.kind == "pong":
                self._last_rtt = str(entry.data)
            elif entry.kind in ("denied", "error", "server-error"):
                self._last_problem = str(entry.data)

    # ---- widget callbacks (main thread) ------------------------------------------------------------------

    def _on_connect_click(self, _: object) -> None:
        if self.session is not None and self.session.state in ("connecting", "open"):
            self.disconnect()
            return
        try:
            self.connect()
        except ValueError as error:
            self._note(str(error))

    def _on_send_click(self, _: object) -> None:
        self.send()

    def _on_input_change(self, change: dict[str, object]) -> None:
        value = str(change["new"])
        if SUBMIT_MARK not in value:
            return
        *submitted, draft = value.split(SUBMIT_MARK)
        self.input.value = draft
        for index, text in enumerate(submitted):
            if not self.send(text):  # keep what was not sent in the box, for the user to fix or resend
                self.input.value = "\n".join([*submitted[index:], draft]).strip("\n")
                return

    def _on_history_pick(self, change: dict[str, object]) -> None:
        index = change["new"]
        if not isinstance(index, int) or index == _NO_PICK:
            return
        mode, text = self._history[index]
        self.mode.value = mode
        self.input.value = text
        self.history.value = _NO_PICK

    def _on_export_click(self) -> None:
        try:
            path = self.export_jsonl()
        except OSError as error:
            self.export_note.value = error_html(f"Export failed: {error}")
            return
        self.export_note.value = exported_html(path, self.download_limit)

    def _remember(self, mode: str, text: str) -> None:
        item = (mode, text)
        if item in self._history:
            self._history.remove(item)
        self._history.insert(0, item)
        del self._history[self.history_size :]
        labels = [
            (f"{m}: {t[:40]}" + ("…" if len(t) > 40 else ""), i) for i, (m, t) in enumerate(self._history)
        ]
        self.history.options = [("history", _NO_PICK), *labels]
        self.history.value = _NO_PICK

    def _note(self, message: str) -> None:
        self.compose_note.value = error_html(message)


def _url_html(url: str) -> str:
    quoted = html.escape(json.dumps(url), quote=True)
    return (
        f'<code class="lihil-url">{html.escape(url)}</code> '
        f'<button class="lihil-copy" title="copy the URL" onclick="navigator.clipboard.writeText({quoted})">'
        "copy</button>"
    )


def _set(widget: widgets.Widget, name: str, value: object) -> None:
    # Skip unchanged values: no trait event, no comm message.
    if getattr(widget, name) != value:
        setattr(widget, name, value)
