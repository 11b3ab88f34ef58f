"""Issue 21 in a real browser: the console's layout (measured boxes at 1400 px and 1000 px) and the traps a new
user fell into — a Reconnect that ignored the edited target (1), "+ session" sharing an identity (2), diagrams
that lose their arrowheads (3), and the small things (8). JupyterLab for all; Notebook 7 too for 1, 2 and 3.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, REPO_ROOT
from tests.e2e.console_items_notebook import CHAT_ROUTE
from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect, run_all_in_front_end

pytestmark = pytest.mark.e2e

SHOWS_UP_MS = 15_000
ROW_PX = 19  # one log row: 12 px monospace × 1.35 line height, padding and border
FRONT_ENDS = ["lab", "notebook7"]

CELLS = [
    "%load_ext lihil_notebook",
    """\
%%ws_route /echo/{room}
from lihil import WebSocket

async def echo(ws: WebSocket, room: str, upper: bool) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text.upper() if upper else text)""",
    CHAT_ROUTE,
    "from lihil_notebook import console\necho = console('/echo/lobby?upper=maybe')\necho.add_class('e2e-echo')\necho",
    "chat = console('/chat/kitchen?user=cat')\nchat.add_class('e2e-chat')\nchat",
    "pair = console('/chat/hall?user=ann', sessions=['ann', 'bob'])\npair.add_class('e2e-pair')\npair",
]


@pytest.fixture(scope="module", params=FRONT_ENDS)
def traps(request: pytest.FixtureRequest, chromium: Any, jupyter_lab: JupyterLab) -> Iterator[NotebookPage]:
    """The traps notebook after Run All, in JupyterLab and in Notebook 7."""
    yield from run_all_in_front_end(chromium, jupyter_lab, "traps", CELLS, ARTIFACTS, request.param)


def lab_only(notebook: NotebookPage) -> None:
    if "/lab/" not in notebook.page.url:
        pytest.skip("checked in JupyterLab")


def box(locator: Any) -> dict[str, float]:
    locator.scroll_into_view_if_needed()
    found = locator.bounding_box()
    assert found is not None, "not displayed"
    return dict(found)


def test_trap_1_reconnect_uses_the_target_the_user_edited(traps: NotebookPage) -> None:
    root = traps.locator(".e2e-echo.lihil-console")
    session = root.locator(".lihil-console-session").first
    target = session.locator(".lihil-console-target input")
    expect(target).to_have_value("/echo/lobby?upper=maybe")
    session.locator(".lihil-console-connect").click()
    status = session.locator(".lihil-console-status")
    expect(status).to_contain_text("refused", timeout=SHOWS_UP_MS)
    connect = session.locator(".lihil-console-connect")
    expect(connect).to_have_text("Reconnect", timeout=SHOWS_UP_MS)

    # The error names the button as it reads now.
    compose = session.locator(".lihil-console-input textarea")
    compose.fill("hi")
    session.locator(".lihil-console-send").click()
    expect(session.locator(".lihil-console-note").last).to_contain_text("press Reconnect", timeout=SHOWS_UP_MS)

    # The parameter field fills the session's one target; Reconnect uses it.
    root.locator(".lihil-console-param-upper input").fill("true")
    expect(target).to_have_value("/echo/lobby?upper=true", timeout=SHOWS_UP_MS)
    connect.click()
    expect(status).to_contain_text("● open", timeout=SHOWS_UP_MS)
    log = session.locator(".lihil-console-log")
    expect(log).not_to_contain_text("reconnected")
    compose.fill("shout")
    compose.press("Enter")
    expect(log.locator(".lihil-log-received").last).to_contain_text("SHOUT", timeout=SHOWS_UP_MS)


def test_trap_2_a_new_session_shows_who_it_connects_as_and_never_shares_it(traps: NotebookPage) -> None:
    root = traps.locator(".e2e-chat.lihil-console")
    cat = root.locator(".lihil-console-session").nth(0)
    cat.locator(".lihil-console-connect").click()
    expect(cat.locator(".lihil-console-status")).to_contain_text("● open", timeout=SHOWS_UP_MS)

    root.locator(".lihil-console-new-name input").fill("dog")
    expect(root.locator(".lihil-console-new-target")).to_contain_text("user=dog", timeout=SHOWS_UP_MS)
    root.locator(".lihil-console-add-session").click()
    dog = root.locator(".lihil-console-session").nth(1)
    expect(dog.locator(".lihil-console-target input")).to_have_value("/chat/kitchen?user=dog")
    expect(dog.locator(".lihil-console-status")).to_contain_text("● open", timeout=SHOWS_UP_MS)
    dog_compose = dog.locator(".lihil-console-input textarea")
    dog_compose.fill("woof")
    dog_compose.press("Enter")
    expect(cat.locator(".lihil-log-received").last).to_contain_text("dog: woof", timeout=SHOWS_UP_MS)

    # A session without a name is asked who it is; it does not connect as cat.
    root.locator(".lihil-console-add-session").click()
    third = root.locator(".lihil-console-session").nth(2)
    expect(third.locator(".lihil-console-target input")).to_have_value("/chat/kitchen?user=")
    expect(third.locator(".lihil-console-note").last).to_contain_text("user: empty", timeout=SHOWS_UP_MS)
    expect(third.locator(".lihil-console-status")).not_to_contain_text("open")


def test_trap_3_each_diagram_keeps_its_arrowheads_and_what_came_before_a_reconnect(traps: NotebookPage) -> None:
    for name in ("e2e-echo", "e2e-chat"):
        traps.locator(f".{name}.lihil-console .lihil-console-diagram-toggle").click()
    echo_diagram = traps.locator(".e2e-echo .lihil-console-diagram svg")
    expect(echo_diagram).to_have_count(1, timeout=SHOWS_UP_MS)
    expect(traps.locator(".e2e-chat .lihil-console-diagram svg")).to_have_count(1, timeout=SHOWS_UP_MS)
    # Every arrow points at a marker of its own picture, and no two pictures share an id.
    report = traps.page.evaluate("""() => {
      const ids = [...document.querySelectorAll('svg.lihil-diagram marker')].map(m => m.id);
      const dangling = [];
      for (const svg of document.querySelectorAll('svg.lihil-diagram')) {
        const own = new Set([...svg.querySelectorAll('marker')].map(m => m.id));
        for (const line of svg.querySelectorAll('[marker-end]')) {
          const id = line.getAttribute('marker-end').replace(/^url\\(#|\\)$/g, '');
          if (!own.has(id)) dangling.push(id);
        }
      }
      return {ids, dangling, svgs: document.querySelectorAll('svg.lihil-diagram').length};
    }""")
    assert report["svgs"] >= 2
    assert len(report["ids"]) == len(set(report["ids"])), report["ids"]
    assert report["dangling"] == []
    # The echo console was refused, then reconnected (trap 1): the diagram still shows the refusal.
    expect(echo_diagram).to_contain_text("refused", timeout=SHOWS_UP_MS)
    expect(echo_diagram).to_contain_text("SHOUT")
    # A label as long as label_chars is drawn whole, not cut to a fixed column.
    echo = traps.locator(".e2e-echo .lihil-console-session").first
    compose = echo.locator(".lihil-console-input textarea")
    compose.fill("a label thirty-four characters long")
    compose.press("Enter")
    expect(echo_diagram).to_contain_text("A LABEL THIRTY-FOUR CHARACTERS LONG", timeout=SHOWS_UP_MS)


def test_layout_log_near_the_top_tall_and_sessions_side_by_side(traps: NotebookPage) -> None:
    lab_only(traps)
    page = traps.page
    root = traps.locator(".e2e-pair.lihil-console")
    sessions = root.locator(".lihil-console-session")
    expect(sessions).to_have_count(2)
    for width in (1400, 1000):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_function("w => window.innerWidth === w", arg=width)
        boxes = [box(sessions.nth(i)) for i in range(2)]
        logs = [box(sessions.nth(i).locator(".lihil-console-log")) for i in range(2)]
        traps.screenshot(f"console-layout-{width}", root)
        for session, log in zip(boxes, logs, strict=True):
            assert log["y"] - session["y"] <= 120, f"at {width} px the log starts {log['y'] - session['y']} px down"
            assert log["height"] >= 12 * ROW_PX, f"at {width} px the empty log is {log['height']} px high"
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2, f"at {width} px the sessions stack: {boxes}"

    # The pictures for the docs: a short chat, at 1000 px and at 1400 px.
    ann, bob = sessions.nth(0), sessions.nth(1)
    for session in (ann, bob):
        session.locator(".lihil-console-connect").click()
        expect(session.locator(".lihil-console-status")).to_contain_text("● open", timeout=SHOWS_UP_MS)
    for who, other, text in ((ann, bob, "hi bob, ann here"), (bob, ann, '{"reply": "hello ann"}')):
        compose = who.locator(".lihil-console-input textarea")
        compose.fill(text)
        compose.press("Enter")
        expect(other.locator(".lihil-log-received").last).to_contain_text(text[:8], timeout=SHOWS_UP_MS)
    for width in (1000, 1400):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_function("w => window.innerWidth === w", arg=width)
        shot = traps.screenshot(f"console-chat-{width}", root)
        if os.environ.get("LIHIL_UPDATE_DOCS_SCREENSHOT"):  # refresh the README's pictures on purpose only
            shutil.copyfile(shot, REPO_ROOT / "docs" / ("console.png" if width == 1400 else "console-1000.png"))
    for session in (ann, bob):
        session.locator(".lihil-console-connect").click()
        expect(session.locator(".lihil-console-status")).to_contain_text("closed 1000", timeout=SHOWS_UP_MS)


def test_trap_8_the_small_things(traps: NotebookPage, jupyter_lab: JupyterLab) -> None:
    lab_only(traps)
    root = traps.locator(".e2e-pair.lihil-console")
    nulls = root.locator('[title="null"]').evaluate_all("els => els.map(e => e.className + ' ' + e.tagName)")
    assert nulls == [], f"a tooltip reads null: {nulls[:8]}"
    ann = root.locator(".lihil-console-session").nth(0)
    ann.locator(".lihil-console-menu-button").click()
    menu = ann.locator(".lihil-console-menu")
    expect(menu).to_be_visible()
    expect(menu.locator(".lihil-console-close-code")).to_contain_text("close code")
    traps.screenshot("console-menu", ann)
    expect(menu).to_contain_text("every")
    assert "ms ×" not in menu.inner_text() and re.search(r"ms,\s*\d*\s*times", menu.inner_text().replace("\n", " "))

    # A normal close is not an error.
    ann.locator(".lihil-console-connect").click()
    status = ann.locator(".lihil-console-status")
    expect(status).to_contain_text("● open", timeout=SHOWS_UP_MS)
    ann.locator(".lihil-console-connect").click()
    expect(status).to_contain_text("closed 1000", timeout=SHOWS_UP_MS)
    expect(status).not_to_contain_text("✕")

    # A saved message is a chip, kept for this notebook.
    ann.locator(".lihil-console-input textarea").fill("hello {{who}}")
    menu.locator(".lihil-console-save-name input").fill("greet")
    menu.locator(".lihil-console-save").click()
    chip = ann.locator(".lihil-console-saved").first
    expect(chip).to_have_text(re.compile("greet"), timeout=SHOWS_UP_MS)
    radius = chip.evaluate("b => parseFloat(getComputedStyle(b).borderTopLeftRadius)")
    assert radius >= 10, f"a saved message looks like any button (border radius {radius} px)"
    notebook = traps.notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")
    assert (jupyter_lab.root_dir / f"lihil-saved-messages.{notebook}.json").exists()

    # The browser's URL of a route with a parameter reads as the route does: {room}, not %7Broom%7D.
    card_url = traps.locator(".lihil-route-card", has_text="/chat/{room}").locator(".lihil-browser-url")
    expect(card_url.locator(".lihil-browser-url-text")).to_contain_text("/chat/{room}", timeout=SHOWS_UP_MS)
    assert "/chat/{room}" in (card_url.get_attribute("data-url") or "")

    # Remove has a real tooltip and an undo.
    remove = menu.locator(".lihil-console-remove")
    assert "Undo" in (remove.get_attribute("title") or "")
    remove.click()
    expect(root.locator(".lihil-console-session")).to_have_count(1, timeout=SHOWS_UP_MS)
    root.locator(".lihil-console-undo-button").click()
    expect(root.locator(".lihil-console-session")).to_have_count(2, timeout=SHOWS_UP_MS)
