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


def test_trap_7_shut_down_all_kernels_then_reopen(jupyter_lab: JupyterLab, notebook_page: NotebookPage) -> None:
    """Issue 21 trap 7: after "Shut Down All Kernels" the console says so (not "◌ closing…" forever), and the
    notebook reopened without its widgets shows the route card's text, not "model not found"."""
    write_notebook(jupyter_lab.root_dir / "shutdown.ipynb", CELLS)
    notebook_page.open(jupyter_lab.notebook_url("shutdown.ipynb"))
    notebook_page.run_all()
    page = notebook_page.page
    root = notebook_page.locator(".lihil-console")
    status = root.locator(".lihil-console-status")
    expect(status).to_contain_text("● open", timeout=SHOWS_UP_MS)
    card = notebook_page.locator(".lihil-route-card")
    expect(card.locator(".lihil-route-card-info")).to_contain_text("live", timeout=SHOWS_UP_MS)
    expect(notebook_page.locator(".lihil-route-card-static")).to_be_hidden()  # the live card, once
    page.keyboard.press("Control+s")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=SHOWS_UP_MS)

    page.locator(".lm-MenuBar-item", has_text="Kernel").first.click()
    page.locator('.lm-Menu-item[data-command="kernelmenu:shutdownAll"]').click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(status).to_contain_text("kernel shut down", timeout=SHOWS_UP_MS)
    expect(root.locator(".lihil-console-banner")).to_contain_text("Run the cell again")
    notebook_page.screenshot("console-after-shutdown", root)

    notebook_page.open(jupyter_lab.notebook_url("shutdown.ipynb"))
    static = notebook_page.locator(".lihil-route-card-static")
    expect(static).to_be_visible(timeout=SHOWS_UP_MS)
    expect(static).to_contain_text("/echo is live")
    route_cell = notebook_page.locator(".jp-CodeCell").nth(1)
    expect(route_cell).not_to_contain_text("model not found")
    notebook_page.screenshot("route-card-reopened", route_cell)
