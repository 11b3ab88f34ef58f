"""A session's "⋯" menu: what a session can do besides connecting and sending, out of the conversation's way.

The header row keeps name, status, target and Connect; the menu (``lihil-console-menu``, opened by the header's
``lihil-console-menu-button``) holds the rest, one labelled line each: close code and reason (what Disconnect
sends), ping, auto-reconnect, repeat, save the composer, the log's filter and frame view, clear and export, the
session's URL and traffic, and "Remove session". Main thread only; the menu only lays out widgets it is given.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets

from ..style import html_view

MENU_HINT = "more: ping, close code and reason, auto-reconnect, repeat, save, frames, filter, export, remove"


class SessionMenu:
    """The toggle (``button``) and the panel it opens (``panel``), one row per ``(label, widgets)`` line."""

    def __init__(self, lines: Sequence[tuple[str, Sequence[widgets.Widget]]]) -> None:
        self.button = widgets.ToggleButton(value=False, description="⋯", tooltip=MENU_HINT,
                                           layout=widgets.Layout(width="36px"))
        self.button.add_class("lihil-console-menu-button")
        self.panel = widgets.VBox([_line(label, children) for label, children in lines],
                                  layout=widgets.Layout(display="none"))
        self.panel.add_class("lihil-console-menu")
        self.button.observe(self._on_toggle, names="value")

    @property
    def open(self) -> bool:
        return bool(self.button.value)

    def show(self, shown: bool = True) -> None:
        """Open (or close) the menu, as a click on "⋯" does."""
        self.button.value = shown

    def _on_toggle(self, change: dict[str, object]) -> None:
        self.panel.layout.display = "" if change["new"] else "none"


def _line(label: str, children: Sequence[widgets.Widget]) -> widgets.HBox:
    title = html_view(f"<span class='lihil-console-label'>{html.escape(label)}</span>", "lihil-console-menu-label")
    line = widgets.HBox([title, *children], layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
    line.add_class("lihil-console-menu-line")
    return line
