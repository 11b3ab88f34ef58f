"""Reaching the playground from a browser that cannot reach its port, as on JupyterHub, Binder or Colab.

JupyterLab (with jupyter-server-proxy) runs on 127.0.0.1 and is opened as ``http://hub.test:PORT`` — a non-local
host name, as on a hub (``--host-resolver-rules`` maps it to 127.0.0.1; the server allows remote access). The
browser sends everything except the Jupyter server's own host and port to a proxy that is not there, so
``127.0.0.1:<playground port>`` is unreachable for it, as from a laptop to a hub's loopback; each test checks that
a direct fetch really fails.

One notebook, run once: an echo route (text echoed with the room, binary reversed, "bye" closes 4000), a
``%%route`` page whose script talks to it by a relative URL, ``pg.show`` of that page, and a console in poll mode.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.e2e.lab_process import JupyterLab, running_lab
from tests.e2e.notebook_page import NotebookPage, expect, write_notebook

pytestmark = pytest.mark.e2e

HUB_HOST = "hub.test"
#: Milliseconds for something the kernel or a page did to show up.
SHOWS_UP_MS = 20_000

ECHO_ROUTE = """\
%%ws_route /echo
from lihil import WebSocket

async def echo(ws: WebSocket, room: str = "none") -> None:
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await ws.send_bytes(message["bytes"][::-1])
        elif message["text"] == "bye":
            await ws.close(4000, "bye")
            return
        else:
            await ws.send_text(f"[{room}] {message['text']}")"""

PAGE_ROUTE = """\
%%route /page
from lihil import HTML

PAGE = '''<!doctype html><html><head><title>echo page</title></head><body>
<p id="out">connecting</p><p id="bin"></p><p id="closed"></p>
<script>
const url = new URL("echo?room=lobby", location.href);
url.protocol = url.protocol.replace("http", "ws");
const ws = new WebSocket(url.href);
ws.binaryType = "arraybuffer";
ws.onopen = () => { ws.send("hello"); ws.send(new Uint8Array([1, 2, 3])); };
ws.onmessage = (event) => {
  if (typeof event.data === "string") { document.getElementById("out").textContent = event.data; ws.send("bye"); }
  else { document.getElementById("bin").textContent = "binary " + new Uint8Array(event.data).join(","); }
};
ws.onerror = () => { document.getElementById("out").textContent = "error"; };
ws.onclose = (event) => { document.getElementById("closed").textContent = `closed ${event.code} ${event.reason}`; };
</script></body></html>'''

def page() -> HTML:
    return PAGE"""

REACH_NOTEBOOK = [
    "%load_ext lihil_notebook",
    ECHO_ROUTE,
    PAGE_ROUTE,
    """\
from lihil_notebook import playground, console

pg = playground()
print(pg.reach.where)""",
    """\
from pathlib import Path

# The absolute form's URL with the token, for the test (through a file: outputs never hold the token).
Path("absolute-url.txt").write_text(pg.browser_url("/page", absolute=True))""",
    """\
frame = pg.show("/page")
frame.add_class("e2e-shown")
frame""",
    """\
polled_frame = pg.show("/page", updates="poll")  # as in Colab: frames reach the page only in answer to its polls
polled_frame.add_class("e2e-shown-poll")
polled_frame""",
    """\
poll_console = console("/echo?room=poll", updates="poll")
poll_console.add_class("e2e-poll")
poll_console""",
]

#: URLs shown in outputs never carry the playground's token (outputs are saved with the notebook).
TOKEN, AND_TOKEN = "", ""
#: jupyter-server-proxy (4.6) closes the browser's side without a status when the route closes (tornado's
#: ``close()`` with no code), so the page sees 1005 where the route sent 4000; the comm tunnel keeps the code.
PROXY_CLOSE = "closed 1005"

# A direct request from the page to the playground's port: must fail in this browser.
DIRECT_FETCH = """async (url) => {
  try { await fetch(url, {mode: "no-cors", cache: "no-store"}); return "reached"; }
  catch (error) { return "failed"; }
}"""


@pytest.fixture(scope="module")
def hub_lab(browser_stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """JupyterLab that accepts being opened under a non-local host name (as a hub's single-user server does)."""
    with running_lab(tmp_path_factory.mktemp("hub-lab"), extra_arguments=["--ServerApp.allow_remote_access=True"]) as lab:
        yield lab


@pytest.fixture(scope="module")
def walled_chromium(hub_lab: JupyterLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium that resolves hub.test to 127.0.0.1 and reaches only the Jupyter server's port: every other
    connection goes to a proxy address on which nothing listens (a bound, never-listening socket we hold), and
    ``<-loopback>`` makes loopback addresses use that proxy too."""
    from playwright.sync_api import sync_playwright

    jupyter_port = int(hub_lab.url.rsplit(":", 1)[1])
    with socket.socket() as dead_end, sync_playwright() as playwright:
        dead_end.bind(("127.0.0.1", 0))
        args = [
            *CHROMIUM_ARGS,
            f"--host-resolver-rules=MAP {HUB_HOST} 127.0.0.1",
            f"--proxy-server=http://127.0.0.1:{dead_end.getsockname()[1]}",
            f"--proxy-bypass-list={HUB_HOST}:{jupyter_port};<-loopback>",
        ]
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("walled-profile")), executable_path=str(CHROMIUM), headless=True,
            args=args, viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def reach_page(walled_chromium: Any, hub_lab: JupyterLab) -> Iterator[NotebookPage]:
    """The reach notebook opened at http://hub.test:PORT and run once."""
    write_notebook(hub_lab.root_dir / "reach.ipynb", REACH_NOTEBOOK)
    page = walled_chromium.new_page()
    page.set_default_timeout(30_000)
    notebook = NotebookPage(page, hub_lab, ARTIFACTS)
    try:
        notebook.open(hub_lab.notebook_url("reach.ipynb").replace("127.0.0.1", HUB_HOST))
        notebook.run_all()
        yield notebook
    except BaseException:
        notebook.screenshot("reach-notebook-failure")
        raise
    finally:
        page.close()


def test_a_route_page_through_jupyter_server_proxy_under_a_hub_host_name(reach_page: NotebookPage) -> None:
    assert reach_page.error_outputs() == []
    jupyter = f"http://{HUB_HOST}:{reach_page.lab.url.rsplit(':', 1)[1]}"
    expect(reach_page.locator(".jp-OutputArea-output", has_text="jupyter-proxy").first).to_be_visible()

    # The cards show where *this browser* reaches the routes: the Jupyter proxy on the page's own host.
    echo_url = reach_page.locator(".lihil-route-card").nth(0).locator(".lihil-browser-url")
    expect(echo_url).to_have_attribute("data-url", re.compile(rf"^ws://{re.escape(HUB_HOST)}:\d+/proxy/\d+/echo{TOKEN}$"))
    page_card = reach_page.locator(".lihil-route-card").nth(1)
    page_url = page_card.locator(".lihil-browser-url")
    expect(page_url).to_have_attribute("data-url", re.compile(rf"^{re.escape(jupyter)}/proxy/\d+/page{TOKEN}$"))
    url = str(page_url.get_attribute("data-url"))
    port = re.findall(r"/proxy/(\d+)/", url)[0]
    assert echo_url.get_attribute("data-url") == url.replace("http://", "ws://").replace("/page", "/echo")
    reach_page.screenshot("reach-route-card", page_card)

    with reach_page.page.expect_popup() as popup_info:
        page_card.locator(".lihil-open-page").click()
    popup = popup_info.value
    popup.wait_for_url(url)  # opened with the token (asked from the kernel), redirected to the URL without it
    assert popup.evaluate(DIRECT_FETCH, f"http://127.0.0.1:{port}/page") == "failed"
    _expect_conversation(popup.locator("body"), closed=PROXY_CLOSE)
    popup.screenshot(path=str(ARTIFACTS / "reach-proxied-page.png"))

    # The absolute form keeps the prefix; the playground routes below it (its cookie has that prefix as Path).
    absolute = (reach_page.lab.root_dir / "absolute-url.txt").read_text()
    popup.goto(jupyter + absolute)
    popup.wait_for_url(url.replace("/proxy/", "/proxy/absolute/"))
    _expect_conversation(popup.locator("body"), closed=PROXY_CLOSE)
    popup.close()


def test_copy_gives_the_url_with_the_token_that_the_card_does_not_show(reach_page: NotebookPage) -> None:
    # http://hub.test is not a secure context: no clipboard API, so "copy" shows the URL with the token selected,
    # for Ctrl+C, for a moment. It came from the kernel in a message; the card's own text and data-url never hold it.
    card_url = reach_page.locator(".lihil-route-card").nth(1).locator(".lihil-browser-url")
    shown = str(card_url.get_attribute("data-url"))
    assert "lihil_token" not in shown
    card_url.locator(".lihil-copy").click()
    text = card_url.locator(".lihil-browser-url-text")
    expect(text).to_have_text(re.compile(rf"^{re.escape(shown)}\?lihil_token=[^&#]+$"), timeout=SHOWS_UP_MS)
    selected = reach_page.page.evaluate("() => String(window.getSelection())")
    assert selected == text.inner_text()
    expect(card_url.locator(".lihil-copy")).to_have_text("select + Ctrl+C")
    expect(text).to_have_text(shown, timeout=SHOWS_UP_MS)  # and back
    assert card_url.get_attribute("data-url") == shown


def test_the_page_in_an_output_iframe_talks_through_the_comm_tunnel(reach_page: NotebookPage) -> None:
    frame_element = reach_page.locator(".e2e-shown iframe")
    frame_element.scroll_into_view_if_needed()
    frame = frame_element.content_frame
    port = re.findall(r"/proxy/(\d+)/", str(reach_page.locator(".lihil-route-card").nth(1)
                                            .locator(".lihil-browser-url").get_attribute("data-url")))[0]
    _expect_conversation(frame.locator("body"))
    # The direct port is unreachable from here, so the conversation above went through the kernel.
    assert frame.locator("body").evaluate(
        f"(body) => ({DIRECT_FETCH})('http://127.0.0.1:{port}/page')") == "failed"
    reach_page.screenshot("reach-tunnelled-page", reach_page.locator(".e2e-shown"))

    # The same in poll mode, as in Colab.
    _expect_conversation(reach_page.locator(".e2e-shown-poll iframe").content_frame.locator("body"))

    # The route card's button shows the same page the same way.
    card = reach_page.locator(".lihil-route-card").nth(1)
    card.locator(".lihil-route-show-page").click()
    _expect_conversation(card.locator(".lihil-page-frame iframe").content_frame.locator("body"))


def test_the_console_in_poll_mode_shows_a_conversation(reach_page: NotebookPage) -> None:
    console = reach_page.locator(".e2e-poll.lihil-console")
    panel = console.locator(".lihil-console-session").first
    panel.locator(".lihil-console-connect").click()
    expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    compose = panel.locator(".lihil-console-input textarea")
    received = panel.locator(".lihil-console-log .lihil-log-received")
    for text in ("first, by poll", "second, by poll"):
        compose.fill(text)
        panel.locator(".lihil-console-send").click()
        expect(received.last).to_contain_text(f"[poll] {text}", timeout=SHOWS_UP_MS)
    expect(received).to_have_count(2)
    expect(console.locator(".lihil-browser-url")).to_have_attribute(
        "data-url", re.compile(rf"^ws://{re.escape(HUB_HOST)}:\d+/proxy/\d+/echo\?room=poll{AND_TOKEN}$"))
    reach_page.screenshot("reach-poll-console", console)


def _expect_conversation(body: Any, closed: str = "closed 4000 bye") -> None:
    expect(body.locator("#out")).to_have_text("[lobby] hello", timeout=SHOWS_UP_MS)
    expect(body.locator("#bin")).to_have_text("binary 3,2,1", timeout=SHOWS_UP_MS)
    expect(body.locator("#closed")).to_have_text(closed, timeout=SHOWS_UP_MS)


