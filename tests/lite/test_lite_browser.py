"""The lessons in JupyterLite (issue 23): a site built by ``lite/build.py`` from the registries only, served as
static files on 127.0.0.1, in headless Chromium, with the playground running in-process in the Pyodide kernel —
and no request leaving 127.0.0.1 (every other one is recorded and refused).

Slow by nature: the Pyodide kernel boots in 10-60 s on 2 cores, once per notebook opened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.notebook_page import expect, write_notebook
from tests.e2e.test_reach_browser import ECHO_ROUTE, PAGE_ROUTE
from tests.lite.site import (
    REPO_ROOT,
    StaticSite,
    notebook_errors,
    open_notebook,
    output_text,
    refuse_outside,
    run_all,
    run_code,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # a Pyodide kernel boots in 10-60 s, more when busy

LESSONS = sorted(path.name for path in (REPO_ROOT / "notebooks").glob("*.ipynb"))
"""Every lesson: each runs under Run All in the Pyodide kernel (02 and 05 drive a TestClient on the kernel's loop,
05 runs pytest in the kernel, 01 and 08 skip what needs a network)."""
PROBE_URL = "http://example.com/from-the-kernel"
PROBE_OUTSIDE = f"""\
from pyodide.http import pyfetch
try:
    await pyfetch({PROBE_URL!r})
except Exception as refused:
    print("refused:", type(refused).__name__)"""
SHOWS_UP_MS = 60_000
CHECKS = [
    "%load_ext lihil_notebook",
    ECHO_ROUTE,
    PAGE_ROUTE,
    """\
from lihil_notebook import playground, console

pg = playground()
print("in-process:", pg.in_process, "|", pg.url)
echo_console = console("/echo?room=lite")
echo_console.add_class("e2e-echo")
echo_console""",
    """\
frame = pg.show("/page")
frame.add_class("e2e-shown")
frame""",    """\
%%ws_hub /rooms
from lihil import ChannelBase, Struct, Topic

class Chat(Struct):
    text: str
    mood: str = "happy"

class Room(ChannelBase):
    topic = Topic("room:{name}")

    async def on_chat(self, payload: Chat) -> None:
        await self.publish({"said": payload.text, "mood": payload.mood}, event="chat")""",
    """\
rooms_console = console("/rooms", sessions=("ann",))
rooms_console.add_class("e2e-rooms")
rooms_console""",    "%lihil asyncapi /rooms",
]


@pytest.fixture(scope="module")
def site(browser_stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticSite]:
    """The site: the lessons and a notebook of checks, built with the project's own build script."""
    if shutil.which("npm") is None:
        pytest.fail("npm is needed to build the JupyterLite site (make test installs it)", pytrace=False)
    notebooks = tmp_path_factory.mktemp("lite-notebooks")
    lessons = Path(os.environ.get("LIHIL_LITE_LESSONS", REPO_ROOT / "notebooks"))  # another tree's, to compare
    for lesson in LESSONS:
        shutil.copy2(lessons / lesson, notebooks / lesson)
    write_notebook(notebooks / "checks.ipynb", CHECKS)
    out = tmp_path_factory.mktemp("lite-site")
    subprocess.run([sys.executable, str(REPO_ROOT / "lite" / "build.py"), "--out", str(out), "--notebooks",
                    str(notebooks)], check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    served = StaticSite(out / "_output")
    yield served
    served.close()


@pytest.fixture(scope="module")
def browser(site: StaticSite) -> Iterator[tuple[Callable[[], Any], list[str]]]:
    """Headless Chromium: ``new_page()`` opens a page in a context of its own (fresh storage, so JupyterLab does not
    reopen — and boot kernels for — the notebooks earlier tests opened) that refuses everything but the site; every
    refused request is in the list."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)

        def new_page() -> Any:
            context = chromium.new_context(viewport={"width": 1400, "height": 1000})
            refuse_outside(context, site.url, outside)
            return context.new_page()

        try:
            yield new_page, outside
        finally:
            chromium.close()
    assert outside == [], f"requests left 127.0.0.1: {outside[:5]}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_lesson_runs_all_in_the_pyodide_kernel_with_no_error(site: StaticSite,
                                                              browser: tuple[Callable[[], Any], list[str]],
                                                              lesson: str) -> None:
    new_page, outside = browser
    page = new_page()
    try:
        booted = open_notebook(page, site.url, lesson)
        took = run_all(page)
        print(f"{lesson}: kernel ready in {booted:.1f} s, Run All in {took:.1f} s")
        assert notebook_errors(page) == []
        assert outside == []
    finally:
        page.context.close()


def test_consoles_on_a_route_and_a_hub_and_a_shown_page_talk_to_the_kernel(
        site: StaticSite, browser: tuple[Callable[[], Any], list[str]]) -> None:
    new_page, outside = browser
    page = new_page()
    try:
        open_notebook(page, site.url, "checks.ipynb")
        run_all(page)
        assert notebook_errors(page) == []
        expect(page.locator(".jp-OutputArea-output", has_text="in-process: True | in this kernel (no network)")
               .first).to_be_visible()
        # The AsyncAPI view offers both downloads (YAML written without PyYAML, which has no Pyodide wheel).
        downloads = page.locator(".lihil-asyncapi a.lihil-asyncapi-download")
        expect(downloads).to_have_count(2)
        assert downloads.nth(0).get_attribute("download") == "asyncapi.yaml"
        # A route card's browser row says why there is no URL (not "server stopped": nothing is stopped).
        expect(page.locator(".lihil-browser-url-text").first).to_have_text("in this kernel (no network): no URL to open")

        panel = connected_session(page.locator(".e2e-echo.lihil-console"))
        panel.locator(".lihil-console-input textarea").fill("hello from the browser")
        panel.locator(".lihil-console-send").click()
        expect(panel.locator(".lihil-console-log .lihil-log-received").last).to_contain_text(
            "[lite] hello from the browser", timeout=SHOWS_UP_MS)

        frame = page.locator(".e2e-shown iframe")
        frame.scroll_into_view_if_needed()
        body = frame.content_frame.locator("body")
        expect(body.locator("#out")).to_have_text("[lobby] hello", timeout=SHOWS_UP_MS)
        expect(body.locator("#bin")).to_have_text("binary 3,2,1", timeout=SHOWS_UP_MS)
        expect(body.locator("#closed")).to_have_text("closed 4000 bye", timeout=SHOWS_UP_MS)
        # A hub's console: the events offered from its AsyncAPI schema, a join, a typed event, the diagram.
        rooms = page.locator(".e2e-rooms.lihil-console")
        ann = connected_session(rooms)
        ann.locator(".lihil-console-hub-topic input").fill("room:lobby")
        ann.locator(".lihil-console-hub-event input").fill("chat")
        payload = ann.locator(".lihil-console-hub-payload textarea")
        expect(payload).to_have_value('{"text": "", "mood": "happy"}', timeout=SHOWS_UP_MS)
        ann.locator(".lihil-console-hub-join").click()
        expect(ann.locator(".lihil-console-hub-chip")).to_have_text("room:lobby", timeout=SHOWS_UP_MS)
        payload.fill('{"text": "hi from the tab"}')
        ann.locator(".lihil-console-hub-send").click()
        expect(ann.locator(".lihil-console-log")).to_contain_text(
            'room:lobby · chat · {"said":"hi from the tab","mood":"happy"}', timeout=SHOWS_UP_MS)
        rooms.locator(".lihil-console-diagram-toggle").click()
        expect(rooms.locator(".lihil-console-diagram .lihil-diagram-received", has_text="hi from the tab")
               ).not_to_have_count(0, timeout=SHOWS_UP_MS)
        page.screenshot(path=str(_artifacts() / "lite-console-and-page.png"))
        assert outside == []

        # The guard sees what the kernel (a web worker) asks for too: a request elsewhere is recorded and refused.
        assert "refused" in output_text(run_code(page, PROBE_OUTSIDE))
        assert outside == [PROBE_URL]
        outside.clear()
    finally:
        page.context.close()


def connected_session(console: Any) -> Any:
    """The console's first session, connected (Connect clicked, the status says open)."""
    console.scroll_into_view_if_needed()
    session = console.locator(".lihil-console-session").first
    session.locator(".lihil-console-connect").click()
    expect(session.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    return session


def _artifacts() -> Path:
    path = REPO_ROOT / "test-artifacts" / "lite"
    path.mkdir(parents=True, exist_ok=True)
    return path
