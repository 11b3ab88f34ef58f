"""The console in a real JupyterLab and Chromium: connect, type, send, see the echo; chat between two sessions.

The notebook is generated here: it loads the extension, defines an echo route and a chat route with
``%%ws_route``, and shows two consoles. Everything after "Run All" happens in the page, through the console's
stable CSS classes, as a user would do it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.console_items_notebook import CHAT_ROUTE
from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect, write_notebook

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Milliseconds for something the kernel did to show up in the page.
SHOWS_UP_MS = 15_000

CONSOLE_NOTEBOOK = [
    "%load_ext lihil_notebook",
    """\
%%ws_route /echo
from lihil import WebSocket

async def echo(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        await ws.send_text(await ws.receive_text())""",
    CHAT_ROUTE,
    """\
from lihil_notebook import console

echo_console = console("/echo")
echo_console.add_class("e2e-echo")
echo_console""",
    """\
chat_console = console("/chat/lobby?user=ann", sessions=["ann"])
chat_console.add_class("e2e-chat")
chat_console""",
]


def test_console_echo_enter_and_two_chat_sessions(
    jupyter_lab: JupyterLab, notebook_page: NotebookPage
) -> None:
    write_notebook(jupyter_lab.root_dir / "console.ipynb", CONSOLE_NOTEBOOK)
    notebook_page.open(jupyter_lab.notebook_url("console.ipynb"))
    notebook_page.run_all()
    assert notebook_page.error_outputs() == []

    # Echo: connect, type, click Send, see the echo.
    echo = notebook_page.locator(".e2e-echo.lihil-console")
    panel = echo.locator(".lihil-console-session").first
    panel.locator(".lihil-console-connect").click()
    expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    compose = panel.locator(".lihil-console-input textarea")
    compose.fill("hello from the browser")
    panel.locator(".lihil-console-send").click()
    received = panel.locator(".lihil-console-log .lihil-log-received")
    expect(received.last).to_contain_text("hello from the browser", timeout=SHOWS_UP_MS)
    expect(compose).to_have_value("", timeout=SHOWS_UP_MS)

    # Enter sends; Shift+Enter is a newline inside the message (and not the notebook's "run cell").
    prompts = notebook_page.locator(".jp-InputArea-prompt").all_inner_texts()
    compose.click()
    compose.press_sequentially("line one")
    compose.press("Shift+Enter")
    compose.press_sequentially("line two")
    compose.press("Enter")
    expect(received.last.locator(".lihil-log-data")).to_have_text("line one\nline two", timeout=SHOWS_UP_MS)
    expect(compose).to_have_value("", timeout=SHOWS_UP_MS)
    assert notebook_page.locator(".jp-InputArea-prompt").all_inner_texts() == prompts, "a cell was run"
    notebook_page.screenshot("console-echo", echo)

    # Chat: ann is the first session; bob joins as a second one and receives what ann says.
    chat = notebook_page.locator(".e2e-chat.lihil-console")
    ann = chat.locator(".lihil-console-session").nth(0)
    ann.locator(".lihil-console-connect").click()
    expect(ann.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    chat.locator(".lihil-console-param", has_text="user").locator("input").fill("bob")
    chat.locator(".lihil-console-new-name input").fill("bob")
    chat.locator(".lihil-console-add-session").click()
    bob = chat.locator(".lihil-console-session").nth(1)
    expect(bob.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    expect(bob.locator(".lihil-console-name input")).to_have_value("bob")

    ann_compose = ann.locator(".lihil-console-input textarea")
    ann_compose.fill("hi bob, ann here")
    ann_compose.press("Enter")
    expect(bob.locator(".lihil-console-log .lihil-log-received").last).to_contain_text(
        "ann: hi bob, ann here", timeout=SHOWS_UP_MS
    )
    bob_compose = bob.locator(".lihil-console-input textarea")
    bob_compose.fill('{"reply": "hello ann", "emoji": false}')
    bob.locator(".lihil-console-send").click()
    expect(ann.locator(".lihil-console-log .lihil-log-received").last).to_contain_text(
        "bob: {", timeout=SHOWS_UP_MS
    )
    shot = notebook_page.screenshot("console-chat", chat)

    # The %%ws_route cell's card: live, with a button that opens a console for its route.
    card = notebook_page.locator(".lihil-route-card").first
    expect(card.locator(".lihil-route-card-info")).to_contain_text("live", timeout=SHOWS_UP_MS)
    card.locator(".lihil-route-open-console").click()
    expect(card.locator(".lihil-console .lihil-console-path input")).to_have_value(
        "/echo", timeout=SHOWS_UP_MS
    )
    notebook_page.screenshot("route-card", card)
    assert shot.exists()  # the README's pictures come from tests/e2e/test_console_traps.py
