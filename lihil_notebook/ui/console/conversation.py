"""A panel's conversation: what its log view shows and its exports hold, across reconnects.

It keeps the earlier connections' entries (bounded by ``max_entries``, with a row saying what it dropped) and a
separator row before each new connection; a clear mark; the filter (text, directions) and the frame view; the
entries that arrived since the last refresh. Its widgets are the filter row; :meth:`Conversation.refresh` is for
the console's UI pump only, :meth:`Conversation.on_entry` for the server loop.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ...client.log import Kind, LogEntry
from ..style import text_field
from .log_view import DIRECTIONS, LogFilter, LogView, render_entry

if TYPE_CHECKING:
    from ...client.session import Session

_DIRECTION_LABELS = {"sent": "→ sent", "received": "← recv", "event": "• events"}
_DIRECTION_TIPS = {"sent": "show the messages this session sent", "received": "show the messages it received",
                   "event": "show connects, closes, pings and errors"}


class Conversation:
    """The entries of one panel's sessions and the view of them (CSS ``lihil-console-log``, ``-filter``,
    ``-direction``, ``-frames``). ``request_refresh`` asks the UI pump for a :meth:`refresh`."""

    def __init__(self, request_refresh: Callable[[], None], *, max_entries: int = 500) -> None:
        self.log_view = LogView(max_entries=max_entries)
        self.session: Session | None = None
        self._request_refresh = request_refresh
        self._earlier: list[LogEntry] = []  # the conversation of earlier connections, then a separator
        self._pending: deque[LogEntry] = deque()
        self._rerender = False
        self._filter = LogFilter()
        self._clear_mark: LogEntry | None = None
        #: How to show an entry instead of the plain row (a hub's envelopes); None from it means the plain row.
        #: Set before :meth:`attach`, which re-renders. The frame view always shows the plain rows.
        self.renderer: Callable[[LogEntry], str | None] | None = None

        self.filter_text = text_field("", "filter", "100px", "lihil-console-filter")
        self.filter_text.tooltip = "show only the rows that contain this text"
        self.filter_text.observe(lambda _: self._on_filter_change(), names="value")
        self.direction_toggles = {
            direction: widgets.ToggleButton(
                value=True, description=_DIRECTION_LABELS[direction], layout=widgets.Layout(width="auto"),
                tooltip=_DIRECTION_TIPS[direction],
            )
            for direction in DIRECTIONS
        }
        for toggle in self.direction_toggles.values():
            toggle.add_class("lihil-console-direction")
            toggle.observe(lambda _: self._on_filter_change(), names="value")
        self.frames_toggle = widgets.ToggleButton(value=False, description="frames", layout=widgets.Layout(width="auto"),
                                                  tooltip="frame view: opcode, length, close code and reason, RTT")
        self.frames_toggle.add_class("lihil-console-frames")
        self.frames_toggle.observe(lambda _: self._on_filter_change(), names="value")

    @property
    def filter_widgets(self) -> list[widgets.Widget]:
        return [self.filter_text, *self.direction_toggles.values(), self.frames_toggle]

    def attach(self, session: Session) -> None:
        """Follow ``session`` from now on; the one before it (a reconnect) stays in the conversation."""
        if self.session is not None and self.session is not session:
            self._carry_over(self.session, session)
        self.session = session
        self._clear_mark = None
        self._pending.clear()
        self._rerender = True

    def clear(self) -> None:
        """Empty the view and forget the earlier connections; sessions' own logs keep everything."""
        if self.session is not None and self.session.log:
            self._clear_mark = self.session.log[-1]
        self._earlier = []
        self._rerender = True
        self._request_refresh()

    def entries(self) -> Sequence[LogEntry]:
        """The conversation since the last clear, across reconnects (all of it, regardless of the filter)."""
        return [*self._earlier, *self.current()]

    def current(self) -> Sequence[LogEntry]:
        """The current session's entries since the last clear."""
        if self.session is None:
            return []
        log = self.session.log
        mark = self._clear_mark
        if mark is None:
            return log
        for index in range(len(log) - 1, -1, -1):
            if log[index] is mark:
                return log[index + 1 :]
        return log  # the mark was trimmed from the log: everything left is newer

    def on_entry(self, entry: LogEntry) -> None:
        """A new entry of the current session (server loop): just remember it."""
        self._pending.append(entry)

    def refresh(self) -> Sequence[LogEntry]:
        """Bring the view up to date (UI pump only); return the current session's entries it has just taken in."""
        max_entries = self.log_view.max_entries
        if self._rerender:
            self._rerender = False
            self._pending.clear()
            kept = self._filter.last_kept(self.entries(), max_entries)
            self.log_view.replace([self._render(entry) for entry in kept])
            return self.current()[-max_entries:]
        if self._pending:
            fresh = [self._pending.popleft() for _ in range(len(self._pending))]
            kept = self._filter.last_kept(fresh, max_entries)
            self.log_view.append([self._render(entry) for entry in kept])
            return fresh
        return []

    def _render(self, entry: LogEntry) -> str:
        if self.renderer is not None and not self.frames_toggle.value:
            special = self.renderer(entry)
            if special is not None:
                return special
        return render_entry(entry, frames=self.frames_toggle.value)

    def _carry_over(self, old: Session, new: Session) -> None:
        # A reconnect: the earlier conversation stays, bounded by max_entries, and says what it dropped.
        carried = [*self._earlier, *self.current()]
        limit = self.log_view.max_entries
        if len(carried) > limit:
            dropped = len(carried) - limit
            carried = [_event("separator", f"… {dropped} earlier entries not kept here (max_entries={limit}; "
                                           f"session {old.name}'s own log keeps its)"), *carried[-limit:]]
        stamp = time.strftime("%H:%M:%S")
        # Said before the attempt's outcome is known: the next rows say whether it opened or was refused.
        self._earlier = [*carried, _event("separator", f"── connecting again at {stamp} · {new.path} ──")]

    def _on_filter_change(self) -> None:
        directions = frozenset(d for d, toggle in self.direction_toggles.items() if toggle.value)
        self._filter = LogFilter(self.filter_text.value, directions)
        self._rerender = True
        self._request_refresh()


def _event(kind: Kind, text: str) -> LogEntry:
    return LogEntry(time.time(), "event", kind, text, 0)
