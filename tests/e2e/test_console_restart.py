"""After a kernel restart an old console must not keep saying "open" (issue 12 item 6), in JupyterLab."""

from __future__ import annotations

import re

import pytest

from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect, write_notebook

pytestmark = pytest.mark.e2e

SHOWS_UP_MS = 15_000

CELLS = [
    "%load_ext lihil_notebook",
    """\
%%ws_route /echo
from lihil import WebSocket

async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)""",
    "from lihil_notebook import console\nconsole('/echo', connect=True)",
]


def test_6_after_a_kernel_restart_the_console_says_it_is_disconnected(
    jupyter_lab: JupyterLab, notebook_page: NotebookPage
) -> None:
    write_notebook(jupyter_lab.root_dir / "restart.ipynb", CELLS)
    notebook_page.open(jupyter_lab.notebook_url("restart.ipynb"))
    notebook_page.run_all()
    root = notebook_page.locator(".lihil-console")
    status = root.locator(".lihil-console-status")
    expect(status).to_contain_text("● open", timeout=SHOWS_UP_MS)

    notebook_page.restart_kernel()
    expect(status).to_contain_text("kernel restarted", timeout=SHOWS_UP_MS)
    expect(status).not_to_contain_text("open")
    expect(root).to_have_class(re.compile(r"\blihil-console-disconnected\b"))
    expect(root.locator(".lihil-console-banner")).to_contain_text("Run the cell again")
    notebook_page.screenshot("console-after-restart", root)
