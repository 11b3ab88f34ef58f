"""Issue 21, trap 5, as a user sees it in JupyterLab: a refused ``pg.connect`` shows the documented
``SessionConnectError`` at the user's line (none of our frames), and a handler's typo reaches the session's error
with the handler's exception and line. The notebook is the kernel test's (tests/notebooks/python_errors.ipynb)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect

pytestmark = pytest.mark.e2e

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "python_errors.ipynb"
SHOWS_UP_MS = 30_000
PLUMBING = ("playground.py", "concurrent", "session.py", "DialFailed", "lihil_notebook/", "dial.py")


def test_trap_5_errors_name_their_cause_at_the_users_line(jupyter_lab: JupyterLab,
                                                          notebook_page: NotebookPage) -> None:
    shutil.copy(NOTEBOOK, jupyter_lab.root_dir / NOTEBOOK.name)
    notebook_page.open(jupyter_lab.notebook_url(NOTEBOOK.name))
    notebook_page.run_all()
    cells = notebook_page.locator(".jp-Notebook .jp-CodeCell")
    typo = cells.nth(4).locator(".jp-OutputArea-output")
    expect(typo).to_contain_text("'WebSocket' object has no attribute 'send_txt'", timeout=SHOWS_UP_MS)
    assert "line 7, in echo" in typo.inner_text()

    for index in (2, 3):  # pg.connect and await pg.aconnect, refused with 400
        shown = cells.nth(index).locator(".jp-OutputArea-output").inner_text()
        assert "SessionConnectError" in shown and "query 'upper'" in shown, shown
        for plumbing in PLUMBING:
            assert plumbing not in shown, f"{plumbing!r} shown in cell {index}:\n{shown}"
    last = cells.nth(5).locator(".jp-OutputArea-output")
    expect(last).to_have_count(0)  # the checks of the last cell passed: no error output
    notebook_page.screenshot("python-errors", cells.nth(2))
