"""What the magics show, as a user sees it in JupyterLab (issue 12 item 7): a ``%%ws_route`` cell that fails
shows the user's frames only, and ``%lihil`` shows a handler's traceback with its indentation."""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import PYTHON_KERNELSPEC, NotebookPage, expect

pytestmark = pytest.mark.e2e

SHOWS_UP_MS = 15_000

CELLS: list[tuple[str, list[str]]] = [
    ("%load_ext lihil_notebook", []),
    ("from lihil import WebSockt  # a typo: this import fails", ["raises-exception"]),
    ("%%ws_route /needs\nasync def needs(ws: WebSocket) -> None:\n    await ws.accept()", ["raises-exception"]),
    (
        """\
%%ws_route /crash
from lihil import WebSocket

async def crash(ws: WebSocket) -> None:
    await ws.accept()
    if True:
        raise RuntimeError("boom in the handler")""",
        [],
    ),
    (
        """\
import time
from lihil_notebook import playground

pg = playground()
session = pg.connect("/crash")
deadline = time.monotonic() + 10
while not pg.routes[-1].errors and time.monotonic() < deadline:  # wait for the server to record the error
    time.sleep(0.05)
assert pg.routes[-1].errors""",
        [],
    ),
    ("%lihil", []),
]


def write(path: str, lab: JupyterLab) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = PYTHON_KERNELSPEC
    for source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        notebook.cells.append(cell)
    nbformat.write(notebook, str(lab.root_dir / path))


def test_7_route_cell_errors_show_user_frames_and_lihil_keeps_traceback_indentation(
    jupyter_lab: JupyterLab, notebook_page: NotebookPage
) -> None:
    write("magics.ipynb", jupyter_lab)
    notebook_page.open(jupyter_lab.notebook_url("magics.ipynb"))
    notebook_page.run_all()
    cells = notebook_page.locator(".jp-Notebook .jp-CodeCell")
    expect(cells.nth(5).locator(".jp-OutputArea-output")).to_contain_text("lihil playground", timeout=SHOWS_UP_MS)

    failed = cells.nth(2).locator(".jp-OutputArea-output").inner_text()
    assert "NameError" in failed and "WebSocket" in failed, failed
    assert "lihil_notebook" not in failed and "site-packages" not in failed, failed
    assert len(re.findall(r"^Cell In\[\d+\]", failed, re.MULTILINE)) == 1, failed

    report = cells.nth(5).locator(".jp-OutputArea-output pre").first
    text = report.inner_text()
    assert re.search(r'^ +raise RuntimeError\("boom in the handler"\)', text, re.MULTILINE), text
    assert re.search(r"^ +File ", text, re.MULTILINE) or re.search(r"^Cell In\[", text, re.MULTILINE), text
    # What the eye sees: lines start at the left edge (a right-aligned table cell moves each line differently).
    assert report.evaluate("pre => getComputedStyle(pre).textAlign") in ("left", "start")
    starts = report.evaluate("""pre => {
      const range = document.createRange(), text = pre.firstChild, lines = pre.textContent.split('\\n');
      const lefts = []; let offset = 0;
      for (const line of lines) {
        if (line.trim() && text && text.nodeType === 3) {
          range.setStart(text, offset); range.setEnd(text, offset + 1);
          lefts.push([line.length - line.trimStart().length, range.getBoundingClientRect().left]);
        }
        offset += line.length + 1;
      }
      return lefts;
    }""")
    flush = [left for indent, left in starts if indent == 0]
    assert flush and max(flush) - min(flush) < 2, f"unindented lines start at different places: {starts}"
    notebook_page.screenshot("lihil-status", cells.nth(5))
    notebook_page.screenshot("route-cell-error", cells.nth(2))
