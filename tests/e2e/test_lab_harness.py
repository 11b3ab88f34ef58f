"""The browser harness itself: JupyterLab runs a generated ipywidgets notebook and Chromium sees it live.

If this fails, the console's browser tests cannot mean anything; it also pins the two facts the console relies
on: a click reaches the kernel, and widget updates made from a background thread reach the page.
"""

from __future__ import annotations

import pytest

from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect, write_notebook

pytestmark = pytest.mark.e2e

WIDGETS_NOTEBOOK = [
    "import threading, ipywidgets as w",
    """\
clicks = w.Label("clicks: 0")
clicks.add_class("harness-clicks")
button = w.Button(description="Count")
button.add_class("harness-button")
def count(_):
    clicks.value = f"clicks: {int(clicks.value.split()[-1]) + 1}"
button.on_click(count)
ticker = w.HTML("tick 0")
ticker.add_class("harness-ticker")
stop = threading.Event()
def tick():
    n = 0
    while not stop.wait(0.1) and n < 30:  # a bounded background writer: widget state only
        n += 1
        ticker.value = f"tick {n}"
threading.Thread(target=tick, daemon=True).start()
w.VBox([button, clicks, ticker])""",
]


def test_widgets_notebook_runs_and_updates_live(jupyter_lab: JupyterLab, notebook_page: NotebookPage) -> None:
    write_notebook(jupyter_lab.root_dir / "harness.ipynb", WIDGETS_NOTEBOOK)
    notebook_page.open(jupyter_lab.notebook_url("harness.ipynb"))
    notebook_page.run_all()
    assert notebook_page.error_outputs() == []

    notebook_page.locator("button.harness-button").click()
    expect(notebook_page.locator(".harness-clicks")).to_have_text("clicks: 1", timeout=15_000)
    expect(notebook_page.locator(".harness-ticker")).to_have_text("tick 30", timeout=15_000)
    notebook_page.screenshot("harness", notebook_page.locator(".jp-Notebook"))
