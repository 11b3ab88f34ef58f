"""A newcomer's first minutes, in a real JupyterLab and Chromium: lesson 01 runs and its console echoes.

The committed ``notebooks/01_hello_websocket.ipynb`` is copied into the server's folder and run with Run All,
as a learner would. Its third cell shows a console already connected to the ``/echo`` route; the test types a
message into it, sends it, and waits for the route's ``echo: ...`` reply in the log's received entries.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect

pytestmark = pytest.mark.e2e

LESSON = Path(__file__).resolve().parents[2] / "notebooks" / "01_hello_websocket.ipynb"
#: Seconds for Run All of the whole lesson (kernel start, extension load, every cell).
RUN_ALL_TIMEOUT = 120.0
#: Milliseconds for one thing to show up in the page once the kernel has done it.
SHOWS_UP_MS = 15_000


def test_hello_lesson_runs_all_and_its_console_echoes(
    jupyter_lab: JupyterLab, notebook_page: NotebookPage
) -> None:
    shutil.copyfile(LESSON, jupyter_lab.root_dir / LESSON.name)
    notebook_page.open(jupyter_lab.notebook_url(LESSON.name))
    notebook_page.run_all(timeout=RUN_ALL_TIMEOUT)
    assert notebook_page.error_outputs() == []

    console = notebook_page.locator(".lihil-console").first
    panel = console.locator(".lihil-console-session").first
    status = panel.locator(".lihil-console-status")
    expect(status).to_contain_text("open", timeout=SHOWS_UP_MS)  # the lesson connects it: no click needed

    compose = panel.locator(".lihil-console-input textarea")
    compose.fill("hello from the browser")
    panel.locator(".lihil-console-send").click()
    received = panel.locator(".lihil-console-log .lihil-log-received")
    expect(received.last).to_contain_text("echo: hello from the browser", timeout=SHOWS_UP_MS)

    notebook_page.screenshot("hello-lesson-console", console)
