"""Saved messages survive the console (and the kernel): they are read back from the file next to the notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lihil_notebook.playground import Playground
from lihil_notebook.ui.console import console
from lihil_notebook.ui.console.saved import SAVED_FILE, fill_variables, parse_variables
from tests.console.comm_traffic import Waiter
from tests.console.console_routes import echo


def find(widget: Any, css_class: str) -> Any:
    """The first widget under ``widget`` with the CSS class ``css_class`` (what a page's selector would find)."""
    if css_class in getattr(widget, "_dom_classes", ()):
        return widget
    for child in getattr(widget, "children", ()):
        found = find(child, css_class)
        if found is not None:
            return found
    return None


def test_saved_messages_and_variables_are_read_back_by_a_new_console(
    pg: Playground, wait_until: Waiter, tmp_path: Path
) -> None:
    pg.mount_ws("/echo", echo)
    first = console("/echo", playground=pg, export_dir=tmp_path)
    first.saved.variables.value = "n = 42"
    panel = first.panels[0]
    panel.input.value = '{"answer": {{n}}}'
    panel.mode.value = "json"
    name, save = find(panel, "lihil-console-save-name"), find(panel, "lihil-console-save")
    name.value = "answer"
    save.click()
    assert (tmp_path / SAVED_FILE).exists()

    again = console("/echo", playground=pg, export_dir=tmp_path)  # as after a kernel restart: only the file
    assert [m.name for m in again.saved.messages] == ["answer"] and again.saved.variables.value == "n = 42"
    panel = again.panels[0]
    panel.connect_button.click()
    wait_until(lambda: "● open" in panel.status.value, what="open")
    assert again.saved.send(again.saved.messages[0], panel.send)
    wait_until(lambda: any(e.data == '{"answer": 42}' and e.direction == "received" for e in panel.entries()),
               what="the filled-in message echoed")


def test_variables_fill_and_say_what_is_missing() -> None:
    assert fill_variables("hi {{ who }} {{who}}", parse_variables("who = ann\n# a comment")) == "hi ann ann"
    with pytest.raises(ValueError, match="no variable 'x'"):
        fill_variables("{{x}}", {})
    with pytest.raises(ValueError, match="line 1"):
        parse_variables("not a line")
