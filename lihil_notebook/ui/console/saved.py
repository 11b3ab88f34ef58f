"""Saved messages: name a message (text, JSON, hex or base64), send it again with one click from any session of
the console, with ``{{name}}`` filled from the console's variables table.

They are kept per notebook in a JSON file next to it (``lihil-saved-messages.NOTEBOOK.json`` in the console's
export folder, default the kernel's working directory; ``lihil-saved-messages.json`` where the front end does not
say which notebook the kernel runs, e.g. under nbclient), so they survive a kernel restart, travel with the
notebook's folder and do not leak from one lesson into the next.
Main thread only: clicks change the store and redraw every panel's row of saved buttons.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import ipywidgets as widgets

from ..style import button, error_html, text_field
from .compose import COMPOSE_MODES

SAVED_FILE = "lihil-saved-messages.json"
"""The file saved messages and variables are kept in when the notebook is not known (see :func:`saved_path`)."""
MAX_SAVED = 50
"""Default number of saved messages a console keeps."""

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class SavedMessage:
    name: str
    mode: str
    text: str


def fill_variables(text: str, variables: dict[str, str]) -> str:
    """``text`` with each ``{{name}}`` replaced from ``variables``; ``ValueError`` naming a missing one."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ValueError(f"{{{{{name}}}}}: no variable {name!r} in the variables table (add a line '{name} = …')")
        return variables[name]

    return _VARIABLE.sub(value, text)


def parse_variables(text: str) -> dict[str, str]:
    """``name = value`` per line (blank lines and ``#`` comments skipped); ``ValueError`` naming a bad line."""
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise ValueError(f"Variables, line {number}: expected 'name = value', got {line.strip()!r}")
        variables[name.strip()] = value.strip()
    return variables


def saved_path(folder: Path | None) -> Path:
    """Where this notebook's saved messages live: ``lihil-saved-messages.NOTEBOOK.json`` in ``folder`` (default
    the working directory), the notebook named by Jupyter's ``JPY_SESSION_NAME``; else :data:`SAVED_FILE`."""
    notebook = Path(os.environ.get("JPY_SESSION_NAME", "")).name
    stem = notebook[: -len(".ipynb")] if notebook.endswith(".ipynb") else ""
    return (folder or Path.cwd()) / (f"lihil-saved-messages.{stem}.json" if stem else SAVED_FILE)


class SavedMessages:
    """The console's saved messages and variables table, and one row of saved buttons per session panel."""

    def __init__(self, folder: Path | None, *, limit: int = MAX_SAVED) -> None:
        self.path = saved_path(folder)
        self.limit = limit
        self.messages: list[SavedMessage] = []
        self._rows: list[tuple[widgets.Box, Callable[[str, str], bool]]] = []
        self.variables = widgets.Textarea(placeholder="variables: name = value", rows=1,
                                          tooltip="one 'name = value' per line; saved messages use them as {{name}}",
                                          layout=widgets.Layout(width="220px"))
        self.variables.add_class("lihil-console-variables")
        self.note = widgets.HTML("")
        self.note.add_class("lihil-console-note")
        self._load()
        self.variables.observe(lambda _: self._store(), names="value")

    def save_controls(self, compose: Callable[[], tuple[str, str]]) -> list[widgets.Widget]:
        """A name box and "Save" for one panel (in its menu): ``compose()`` is the panel's (mode, text)."""
        name = text_field("", "save as…", "110px", "lihil-console-save-name")
        save = button("Save", "lihil-console-save", lambda _: self._save(name, compose()))
        save.tooltip = "save the composer under this name (an empty composer removes the saved message)"
        return [name, save]

    def chips(self, send: Callable[[str, str], bool]) -> widgets.Box:
        """The saved messages as chips for one panel (above its composer): a click sends one through
        ``send(text, mode)``, its variables filled in."""
        chips = widgets.Box(layout=widgets.Layout(flex_flow="row wrap"))
        chips.add_class("lihil-console-saved-list")
        self._rows.append((chips, send))
        self._draw(chips, send)
        return chips

    def row(self, send: Callable[[str, str], bool], compose: Callable[[], tuple[str, str]]) -> widgets.HBox:
        """Save controls and chips in one row (for a view of its own)."""
        return widgets.HBox([*self.save_controls(compose), self.chips(send)],
                            layout=widgets.Layout(flex_flow="row wrap", align_items="center"))

    def send(self, message: SavedMessage, send: Callable[[str, str], bool]) -> bool:
        """Fill ``message``'s variables and send it; False with a note saying why not."""
        try:
            text = fill_variables(message.text, parse_variables(self.variables.value))
        except ValueError as error:
            self.note.value = error_html(str(error))
            return False
        self.note.value = ""
        return send(text, message.mode)

    def _save(self, name_field: widgets.Text, compose: tuple[str, str]) -> None:
        mode, text = compose
        name = name_field.value.strip()
        if not name:
            self.note.value = error_html("Give the message a name first (the box left of Save)")
            return
        kept = [m for m in self.messages if m.name != name]
        if text.strip():
            if len(kept) >= self.limit:
                self.note.value = error_html(f"{self.limit} messages are saved already (MAX_SAVED): remove one "
                                             "by saving its name with an empty compose box")
                return
            kept.append(SavedMessage(name, mode if mode in COMPOSE_MODES else "text", text))
        self.messages = kept
        name_field.value = ""
        self._store()
        for buttons, send in self._rows:
            self._draw(buttons, send)

    def _draw(self, buttons: widgets.Box, send: Callable[[str, str], bool]) -> None:
        views = []
        for message in self.messages:
            view = button(message.name, "lihil-console-saved", self._sender(message, send))
            view.tooltip = f"send {message.mode}: {message.text[:200]}"
            view.layout.width = "auto"
            views.append(view)
        buttons.children = tuple(views)

    def _sender(self, message: SavedMessage, send: Callable[[str, str], bool]) -> Callable[[widgets.Button], None]:
        def on_click(_: widgets.Button) -> None:
            self.send(message, send)

        return on_click

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            self.note.value = error_html(f"Saved messages: cannot read {self.path}: {error}")
            return
        self.messages = [SavedMessage(str(m["name"]), str(m.get("mode", "text")), str(m["text"]))
                         for m in data.get("messages", [])[: self.limit] if isinstance(m, dict) and "name" in m]
        self.variables.value = str(data.get("variables", ""))

    def _store(self) -> None:
        data = {"messages": [asdict(m) for m in self.messages], "variables": self.variables.value}
        try:
            self.path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as error:
            self.note.value = error_html(f"Saved messages: cannot write {self.path}: {error}")
