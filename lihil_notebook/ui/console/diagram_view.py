"""The console's "Diagram" view: the sequence diagram of its sessions, kept up to date while it is shown.

The picture is drawn by :func:`.diagram.diagram` (the same SVG a cell gets from ``diagram(...)``) into one HTML
widget (CSS class ``lihil-console-diagram``). Only the console's UI pump calls :meth:`DiagramView.refresh`, and it
redraws at most ``rate`` times a second and only while the view is open; an unchanged picture sends nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

import ipywidgets as widgets

from ..diagram import MAX_ROWS, HasLog, diagram
from ..style import html_view

DIAGRAM_RATE = 2.0
"""Default number of times a second the console's diagram is redrawn while it is open."""


class DiagramView:
    """A "Diagram" toggle (``lihil-console-diagram-toggle``) and the diagram it shows (``lihil-console-diagram``).

    ``request_refresh`` asks the console's UI pump for a flush (the view needs one when it opens, and again
    while a redraw is held back by ``rate``).
    """

    def __init__(
        self, request_refresh: Callable[[], None], *, rate: float = DIAGRAM_RATE, max_rows: int = MAX_ROWS
    ) -> None:
        if rate <= 0:
            raise ValueError(f"diagram_rate: expected a positive number of redraws per second, got {rate}")
        self.interval = 1.0 / rate
        self.max_rows = max_rows
        self.redraws = 0
        self._request_refresh = request_refresh
        self._last = 0.0
        self.ids = f"lihil-d{uuid.uuid4().hex[:10]}"  # one per view: its redraws compare equal, other diagrams differ
        self.toggle = widgets.ToggleButton(value=False, description="Diagram", layout=widgets.Layout(width="auto"),
                                           tooltip="a sequence diagram of this console's sessions, live")
        self.toggle.add_class("lihil-console-diagram-toggle")
        self.toggle.observe(lambda _: self._request_refresh(), names="value")
        self.widget = html_view("", "lihil-console-diagram")
        self.widget.layout = widgets.Layout(overflow="auto", max_height="480px", width="100%")

    def refresh(self, sessions: Sequence[HasLog]) -> None:
        """Redraw for ``sessions`` if the view is open and the last redraw is ``1/rate`` s old. Pump only."""
        if not self.toggle.value:
            if self.widget.value:
                self.widget.value = ""
            return
        now = time.monotonic()
        if now - self._last < self.interval:
            self._request_refresh()  # come back once the interval has passed
            return
        self._last = now
        svg = diagram(*sessions, max_rows=self.max_rows, ids=self.ids).svg if sessions else _EMPTY
        if self.widget.value != svg:
            self.widget.value = svg
            self.redraws += 1


_EMPTY = "<i>No session has connected yet: the diagram draws the sessions of this console.</i>"
