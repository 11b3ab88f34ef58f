"""Small parts of the console bar: parameter fields, labels, the undo bar, and a panel as the diagram sees it."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..style import html_view, row

if TYPE_CHECKING:
    from .session_panel import SessionPanel


def label(text: str) -> widgets.HTML:
    return html_view(f"<span class='lihil-console-label'>{html.escape(text)}</span>", "lihil-console-label")


def param_field(name: str, hint: str) -> widgets.Text:
    field = widgets.Text(
        description=name,
        placeholder=hint,
        layout=widgets.Layout(width="160px"),
        style={"description_width": "auto"},
    )
    field.add_class("lihil-console-param")
    field.add_class(f"lihil-console-param-{name}")
    field.tooltip = f"{name} ({hint}): fills the sessions' targets"
    return field



class Lane:
    """A panel as the diagram sees it: the session's name and path, and the panel's whole conversation (what
    came before a reconnect too)."""

    def __init__(self, panel: SessionPanel) -> None:
        assert panel.session is not None
        self.name = panel.session.name
        self.path = panel.session.path
        self.log = panel.entries()


class UndoBar:
    """"session s2 removed · Undo" (``lihil-console-undo``), until the next removal."""

    def __init__(self, undo: Callable[[], None]) -> None:
        self.text = html_view("", "lihil-console-undo-text")
        self.button = widgets.Button(description="Undo", tooltip="bring the removed session's panel back",
                                     layout=widgets.Layout(width="auto"))
        self.button.add_class("lihil-console-undo-button")
        self.button.on_click(lambda _: undo())
        self.widget = row([self.text, self.button])
        self.widget.add_class("lihil-console-undo")
        self.widget.layout.display = "none"

    def show(self, name: str) -> None:
        self.text.value = f"session <b>{html.escape(name)}</b> removed (closed 1000)" if name else ""
        self.widget.layout.display = "" if name else "none"
