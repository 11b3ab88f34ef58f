"""Issue 12 in a real browser: what a new user meets in the console's first minutes, each checked as they see it.

One notebook (``console_items_notebook``) is opened once per front end and run with Run All; each test then
works in its own console (CSS class ``e2e-<name>``) through the console's public CSS classes, clicks and
keystrokes. Items 1 and 2 run in JupyterLab and in Notebook 7; the rest in JupyterLab.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, REPO_ROOT
from tests.e2e.console_items_notebook import CELLS
from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect, run_all_in_front_end

pytestmark = pytest.mark.e2e

#: Milliseconds for something the kernel did to show up in the page.
SHOWS_UP_MS = 15_000

FRONT_ENDS = ["lab", "notebook7"]

#: True when the newest log row is inside the log's visible box.
NEWEST_IN_VIEW = """log => {
  const rows = log.querySelectorAll('.lihil-log-row');
  if (!rows.length) return false;
  const box = log.getBoundingClientRect(), last = rows[rows.length - 1].getBoundingClientRect();
  return last.bottom <= box.bottom + 2 && last.top >= box.top - 2;
}"""


def open_menu(panel: Any) -> None:
    """Open a session's "⋯" menu (ping, close code, repeat, save, frames, …) unless it is open."""
    if not panel.locator(".lihil-console-menu").is_visible():
        panel.locator(".lihil-console-menu-button").click()
    expect(panel.locator(".lihil-console-menu")).to_be_visible()


def open_details(root: Any) -> None:
    """Open the console bar's "headers…" disclosure (query, headers, subprotocols, variables)."""
    if not root.locator(".lihil-console-details").is_visible():
        root.locator(".lihil-console-more").click()
    expect(root.locator(".lihil-console-details")).to_be_visible()


@pytest.fixture(scope="module", params=FRONT_ENDS)
def items(request: pytest.FixtureRequest, chromium: object, jupyter_lab: JupyterLab) -> Iterator[NotebookPage]:
    """The items notebook after Run All, in JupyterLab and in Notebook 7."""
    yield from run_all_in_front_end(chromium, jupyter_lab, "items", CELLS, ARTIFACTS, request.param)


@pytest.fixture(scope="module")
def lab_items(chromium: object, jupyter_lab: JupyterLab) -> Iterator[NotebookPage]:
    """The items notebook after Run All, in JupyterLab only."""
    yield from run_all_in_front_end(chromium, jupyter_lab, "items", CELLS, ARTIFACTS, "lab-only")


@pytest.fixture(scope="module")
def other_server() -> Iterator[str]:
    """Another WebSocket server on 127.0.0.1 (plain ``websockets``, not the playground): its ws:// URL."""
    from websockets.sync.server import ServerConnection, serve

    def shout(connection: ServerConnection) -> None:
        for message in connection:
            connection.send(f"other server heard: {message!s}")

    with serve(shout, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        host, port = server.socket.getsockname()[:2]
        yield f"ws://{host}:{port}/anything"
        server.shutdown()
    thread.join(timeout=10)


def connect(notebook: NotebookPage, name: str, nth: int = 0) -> object:
    panel = notebook.locator(f".e2e-{name}.lihil-console .lihil-console-session").nth(nth)
    panel.scroll_into_view_if_needed()
    panel.locator(".lihil-console-connect").click()
    return panel


def send(panel: object, text: str) -> None:
    compose = panel.locator(".lihil-console-input textarea")  # type: ignore[attr-defined]
    compose.fill(text)
    panel.locator(".lihil-console-send").click()  # type: ignore[attr-defined]


def test_1_the_log_follows_the_conversation_and_offers_the_new_ones(items: NotebookPage) -> None:
    panel = connect(items, "flood")
    expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    log = panel.locator(".lihil-console-log")
    send(panel, "300")
    expect(log.locator(".lihil-log-row").last).to_contain_text("reply 300 of 300", timeout=SHOWS_UP_MS)
    log.scroll_into_view_if_needed()
    items.page.wait_for_function(NEWEST_IN_VIEW, arg=log.element_handle(), timeout=SHOWS_UP_MS)
    new = panel.locator(".lihil-console-new")
    expect(new).to_be_hidden()

    # The user scrolls up to read: new messages must not pull the view away, and a control counts them.
    log.evaluate("log => { log.scrollTop = 0; log.dispatchEvent(new Event('scroll')); }")
    send(panel, "5")
    expect(log.locator(".lihil-log-row").last).to_contain_text("reply 5 of 5", timeout=SHOWS_UP_MS)
    expect(new).to_be_visible(timeout=SHOWS_UP_MS)
    expect(new).to_have_text(re.compile(r"↓ 6 new"), timeout=SHOWS_UP_MS)
    assert log.evaluate("log => log.scrollTop") < 50, "the view jumped away from where the user was reading"
    items.screenshot(f"console-new-control-{items.notebook}", panel)  # type: ignore[arg-type]
    new.click()
    items.page.wait_for_function(NEWEST_IN_VIEW, arg=log.element_handle(), timeout=SHOWS_UP_MS)
    expect(new).to_be_hidden()


def test_2_a_refused_handshake_reads_as_one_refusal_with_its_problem(items: NotebookPage) -> None:
    root = items.locator(".e2e-refused.lihil-console")
    panel = connect(items, "refused")
    status = panel.locator(".lihil-console-status")
    expect(status).to_contain_text("refused · HTTP 400", timeout=SHOWS_UP_MS)
    assert status.inner_text().count("HTTP 400") == 1, status.inner_text()
    denied = panel.locator(".lihil-console-log .lihil-log-kind-denied .lihil-log-data")
    expect(denied).to_contain_text('"param": "n"', timeout=SHOWS_UP_MS)
    assert len(denied.inner_text().splitlines()) > 3, "the problem JSON is not pretty-printed"
    assert "1006" not in root.inner_text()
    assert "abnormal" not in root.inner_text()
    items.screenshot(f"console-refused-{items.notebook}", panel)  # type: ignore[arg-type]


def test_3_each_session_has_its_own_target_in_its_header(lab_items: NotebookPage) -> None:
    chat = lab_items.locator(".e2e-chat.lihil-console")
    ann = connect(lab_items, "chat")
    expect(ann.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    expect(ann.locator(".lihil-console-session-target input")).to_have_value("/chat/lobby?user=ann")

    # bob joins: his target is the console's, with his own name where ann's was.
    chat.locator(".lihil-console-new-name input").fill("bob")
    chat.locator(".lihil-console-add-session").click()
    bob = chat.locator(".lihil-console-session").nth(1)
    expect(bob.locator(".lihil-console-session-target input")).to_have_value("/chat/lobby?user=bob")
    expect(bob.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    send(ann, "hi bob")
    expect(bob.locator(".lihil-log-received").last).to_contain_text("ann: hi bob", timeout=SHOWS_UP_MS)
    send(bob, "hi ann")
    expect(ann.locator(".lihil-log-received").last).to_contain_text("bob: hi ann", timeout=SHOWS_UP_MS)

    # The target is the session's own: edit it, reconnect, and the server sees the new user.
    bob.locator(".lihil-console-session-target input").fill("/chat/lobby?user=robert")
    bob.locator(".lihil-console-connect").click()
    expect(bob.locator(".lihil-console-status")).to_contain_text("closed", timeout=SHOWS_UP_MS)
    bob.locator(".lihil-console-connect").click()
    expect(bob.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    send(bob, "new name")
    expect(ann.locator(".lihil-log-received").last).to_contain_text("robert: new name", timeout=SHOWS_UP_MS)
    expect(ann.locator(".lihil-console-session-target input")).to_have_value("/chat/lobby?user=ann")
    lab_items.screenshot("console-own-targets", chat)


def test_5_reconnecting_keeps_the_conversation_with_a_separator(lab_items: NotebookPage) -> None:
    panel = connect(lab_items, "again")
    status = panel.locator(".lihil-console-status")
    expect(status).to_contain_text("open", timeout=SHOWS_UP_MS)
    send(panel, "said before")
    log = panel.locator(".lihil-console-log")
    expect(log.locator(".lihil-log-received").last).to_contain_text("said before", timeout=SHOWS_UP_MS)
    panel.locator(".lihil-console-connect").click()  # Disconnect
    expect(status).to_contain_text("closed 1000", timeout=SHOWS_UP_MS)
    panel.locator(".lihil-console-connect").click()  # Reconnect
    expect(status).to_contain_text("open", timeout=SHOWS_UP_MS)
    send(panel, "said after")
    expect(log.locator(".lihil-log-received").last).to_contain_text("said after", timeout=SHOWS_UP_MS)
    expect(log.locator(".lihil-log-kind-separator")).to_contain_text("connecting again")
    texts = log.locator(".lihil-log-row").all_inner_texts()
    before = next(i for i, t in enumerate(texts) if "said before" in t)
    separator = next(i for i, t in enumerate(texts) if "connecting again" in t)
    after = next(i for i, t in enumerate(texts) if "said after" in t)
    assert before < separator < after, texts
    lab_items.screenshot("console-reconnected", panel)  # type: ignore[arg-type]


def test_16_a_diagram_of_the_conversation_in_a_cell_and_live_in_the_console(items: NotebookPage) -> None:
    # A cell's diagram(ann, bob): an SVG output, drawn.
    picture = items.locator('.jp-OutputArea-output[data-mime-type="image/svg+xml"]').last
    picture.scroll_into_view_if_needed()
    expect(picture).to_be_visible()
    box = picture.locator("img, svg").first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100, box
    items.screenshot(f"diagram-cell-{items.notebook}", picture)

    # The console's Diagram view follows the conversation live.
    root = items.locator(".e2e-picture.lihil-console")
    ann, bob = connect(items, "picture", 0), connect(items, "picture", 1)
    for panel in (ann, bob):
        expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    root.locator(".lihil-console-diagram-toggle").click()
    view = root.locator(".lihil-console-diagram")
    expect(view.locator("svg .lihil-diagram-lifeline")).to_have_count(3, timeout=SHOWS_UP_MS)
    send(ann, "hello hall")
    fanned = view.locator(".lihil-diagram-received", has_text="ann: hello hall")
    expect(fanned).to_have_count(2, timeout=SHOWS_UP_MS)  # one message, out to every member
    expect(view.locator(".lihil-diagram-sent", has_text="hello hall")).to_have_count(1)
    items.screenshot(f"diagram-console-{items.notebook}", view)
    send(bob, '{"reply": "hi ann", "emoji": false}')
    expect(view.locator(".lihil-diagram-received", has_text="bob:")).to_have_count(2, timeout=SHOWS_UP_MS)
    items.page.set_viewport_size({"width": 1400, "height": 2000})  # the whole console, diagram included
    shot = items.screenshot(f"console-picture-{items.notebook}", root)
    items.page.set_viewport_size({"width": 1400, "height": 1000})
    if os.environ.get("LIHIL_UPDATE_DOCS_SCREENSHOT") and "lab" in items.notebook:  # the README's picture
        shutil.copyfile(shot, REPO_ROOT / "docs" / "console.png")


def test_10_any_target_a_ws_url_and_recent_targets_in_the_dropdown(items: NotebookPage, other_server: str) -> None:
    root = items.locator(".e2e-anywhere.lihil-console")
    root.scroll_into_view_if_needed()
    root.locator(".lihil-console-path input").fill(other_server)
    expect(root.locator(".lihil-console-form-target")).to_contain_text(other_server)
    panel = connect(items, "anywhere")
    expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    send(panel, "hello out there")
    expect(panel.locator(".lihil-log-received").last).to_contain_text(  # type: ignore[attr-defined]
        "other server heard: hello out there", timeout=SHOWS_UP_MS
    )
    # The URL is now a recent target: picking it in any console's dropdown fills the path.
    picker = items.locator(".e2e-flood.lihil-console .lihil-console-route select")
    expect(picker.locator("option", has_text=other_server)).to_have_count(1, timeout=SHOWS_UP_MS)
    value = picker.locator("option", has_text=other_server).get_attribute("value")
    assert value is not None
    flood_root = items.locator(".e2e-flood.lihil-console")
    flood_root.scroll_into_view_if_needed()
    picker.select_option(value=value)
    expect(flood_root.locator(".lihil-console-path input")).to_have_value(other_server, timeout=SHOWS_UP_MS)
    items.screenshot(f"console-url-target-{items.notebook}", root)


def test_4_a_1003_close_shows_its_code_meaning_and_reason(lab_items: NotebookPage) -> None:
    panel = connect(lab_items, "binary")
    status = panel.locator(".lihil-console-status")  # type: ignore[attr-defined]
    expect(status).to_contain_text("open", timeout=SHOWS_UP_MS)
    panel.locator(".lihil-console-mode select").select_option("hex")  # type: ignore[attr-defined]
    send(panel, "de ad be ef")
    expect(status).to_contain_text(
        "closed 1003 (unsupported data) · expected a text message, got binary", timeout=SHOWS_UP_MS
    )
    close = panel.locator(".lihil-log-kind-close").last  # type: ignore[attr-defined]
    expect(close).to_contain_text("1003 expected a text message, got binary")
    lab_items.screenshot("console-1003", panel)  # type: ignore[arg-type]


def test_13_the_frame_view_shows_opcodes_lengths_close_codes_and_ping_rtt(lab_items: NotebookPage) -> None:
    panel = connect(lab_items, "frames")
    expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    open_menu(panel)
    panel.locator(".lihil-console-frames").click()  # type: ignore[attr-defined]
    send(panel, "hi")
    panel.locator(".lihil-console-ping").click()  # type: ignore[attr-defined]
    log = panel.locator(".lihil-console-log")  # type: ignore[attr-defined]
    expect(log.locator(".lihil-log-kind-pong .lihil-log-data")).to_contain_text(re.compile(r"RTT \d+\.\d ms"),
                                                                                timeout=SHOWS_UP_MS)
    panel.locator(".lihil-console-close-reason input").fill("see you")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-connect").click()  # type: ignore[attr-defined]  # Disconnect with 1000
    expect(log.locator(".lihil-log-kind-close")).to_contain_text(
        "code 1000 (normal closure) · reason 'see you'", timeout=SHOWS_UP_MS
    )
    opcodes = log.locator(".lihil-log-opcode").all_inner_texts()
    for expected in ("0x1 text", "0x9 ping", "0xA pong", "0x8 close"):
        assert expected in opcodes, opcodes
    expect(log.locator(".lihil-log-sent.lihil-log-kind-text .lihil-log-data").first).to_contain_text("2 bytes · hi")
    lab_items.screenshot("console-frames", panel)  # type: ignore[arg-type]


def test_12_auto_reconnect_with_its_back_off_and_repeated_sends_with_a_stop(lab_items: NotebookPage) -> None:
    panel = connect(lab_items, "flaky")
    status = panel.locator(".lihil-console-status")  # type: ignore[attr-defined]
    expect(status).to_contain_text("open", timeout=SHOWS_UP_MS)
    log = panel.locator(".lihil-console-log")  # type: ignore[attr-defined]

    # Repeat "tick" every 50 ms, 5 times.
    open_menu(panel)
    panel.locator(".lihil-console-repeat-every input").fill("50")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-repeat-times input").fill("5")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-input textarea").fill("tick")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-repeat").click()  # type: ignore[attr-defined]
    expect(panel.locator(".lihil-console-repeat-progress")).to_have_text("5 of 5 sent", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    expect(log.locator(".lihil-log-received", has_text="tick")).to_have_count(5, timeout=SHOWS_UP_MS)
    # A long run stops when asked.
    panel.locator(".lihil-console-repeat-every input").fill("100")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-repeat-times input").fill("1000")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-repeat").click()  # type: ignore[attr-defined]
    expect(panel.locator(".lihil-console-repeat")).to_have_text("Stop", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    panel.locator(".lihil-console-repeat").click()  # type: ignore[attr-defined]
    expect(panel.locator(".lihil-console-repeat")).to_have_text("Repeat", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    expect(panel.locator(".lihil-console-repeat-progress")).to_contain_text(  # type: ignore[attr-defined]
        re.compile(r"\d+ of 1000 sent · stopped"), timeout=SHOWS_UP_MS
    )

    # Auto-reconnect: the server goes away, the console says when it tries again, and does.
    open_menu(panel)
    panel.locator(".lihil-console-auto-reconnect input").check()  # type: ignore[attr-defined]
    send(panel, "drop")
    expect(status).to_contain_text(re.compile(r"reconnecting in [\d.]+ s \(attempt 1 of \d+\)"),
                                   timeout=SHOWS_UP_MS)
    lab_items.screenshot("console-reconnecting", panel)  # type: ignore[arg-type]
    expect(status).to_contain_text("● open", timeout=SHOWS_UP_MS)
    expect(log.locator(".lihil-log-kind-separator")).to_contain_text("connecting again")
    send(panel, "still here")
    expect(log.locator(".lihil-log-received").last).to_contain_text("still here", timeout=SHOWS_UP_MS)


def test_14_search_all_sessions_export_them_as_one_file_and_copy_a_message(
    lab_items: NotebookPage, jupyter_lab: JupyterLab
) -> None:
    root = lab_items.locator(".e2e-search.lihil-console")
    ann = root.locator(".lihil-console-session").nth(0)
    bob = root.locator(".lihil-console-session").nth(1)
    for panel in (ann, bob):
        expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    send(ann, "find the needle")
    send(bob, "no hay here")
    expect(ann.locator(".lihil-log-received", has_text="bob: no hay here")).to_have_count(1, timeout=SHOWS_UP_MS)

    search = root.locator(".lihil-console-search input")
    search.fill("NEEDLE")
    search.press("Enter")
    results = root.locator(".lihil-console-search-results .lihil-search-result")
    expect(results).to_have_count(3, timeout=SHOWS_UP_MS)  # ann's send, its echo to ann, and to bob
    names = [r.split()[0] for r in results.all_inner_texts()]
    assert names[0] == "ann" and sorted(names) == ["ann", "ann", "bob"], names  # in time order: ann sent first
    first = results.first
    expect(first.locator(".lihil-copy-python-line")).to_have_text("session.send('find the needle')")
    expect(first.locator(".lihil-copy-websocat-line")).to_contain_text(
        "printf '%s' 'find the needle' | websocat -1 -H=\"Authorization: Bearer $LIHIL_TOKEN\" 'ws://127.0.0.1:"
    )  # the token is on: the line takes it from the shell, never shows it
    lab_items.screenshot("console-search", root)

    root.locator(".lihil-console-export-all").click()
    note = root.locator(".lihil-console-note", has_text="Exported")
    expect(note).to_contain_text("all-sessions", timeout=SHOWS_UP_MS)
    expect(note.locator("a.lihil-console-download")).to_have_text("download")
    name = re.search(r"lihil-all-sessions-[\d-]+\.jsonl", note.inner_text())
    assert name is not None, note.inner_text()
    lines = [json.loads(line) for line in (jupyter_lab.root_dir / name.group()).read_text().splitlines()]
    assert {line["session"] for line in lines} == {"ann", "bob"}
    assert [line["time"] for line in lines] == sorted(line["time"] for line in lines)


def test_15_a_rate_and_size_sparkline_per_session(lab_items: NotebookPage) -> None:
    panel = connect(lab_items, "traffic")
    expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    send(panel, "400")
    open_menu(panel)
    traffic = panel.locator(".lihil-console-sparkline")  # type: ignore[attr-defined]
    expect(traffic.locator("svg.lihil-sparkline-messages polyline")).to_have_count(1, timeout=SHOWS_UP_MS)
    expect(traffic.locator("svg.lihil-sparkline-bytes polyline")).to_have_count(1)
    rate = traffic.locator(".lihil-sparkline-rate")
    # 401 messages within about a second: a peak of at least 100 a second (three digits or more)
    expect(rate).to_contain_text(re.compile(r"peak [1-9]\d{2,} msg/s"), timeout=SHOWS_UP_MS)
    # A second later the rate of the last full second is shown; with nothing arriving it falls back to 0.
    expect(rate).to_contain_text(re.compile(r"^0 msg/s · 0 B/s"), timeout=SHOWS_UP_MS)
    lab_items.screenshot("console-sparkline", panel)  # type: ignore[arg-type]


def test_11_saved_messages_with_variables_one_click_and_kept_next_to_the_notebook(
    lab_items: NotebookPage, jupyter_lab: JupyterLab
) -> None:
    root = lab_items.locator(".e2e-saved.lihil-console")
    panel = connect(lab_items, "saved")
    expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)  # type: ignore[attr-defined]
    open_details(root)
    root.locator(".lihil-console-variables textarea").fill("who = world")
    compose = panel.locator(".lihil-console-input textarea")  # type: ignore[attr-defined]
    compose.fill("hello {{who}}")
    open_menu(panel)
    panel.locator(".lihil-console-save-name input").fill("greet")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-save").click()  # type: ignore[attr-defined]
    # binary, entered as hex, saved too
    panel.locator(".lihil-console-mode select").select_option("hex")  # type: ignore[attr-defined]
    compose.fill("68 69")
    panel.locator(".lihil-console-save-name input").fill("hi-bytes")  # type: ignore[attr-defined]
    panel.locator(".lihil-console-save").click()  # type: ignore[attr-defined]
    saved = panel.locator(".lihil-console-saved")  # type: ignore[attr-defined]
    expect(saved).to_have_text(["greet", "hi-bytes"], timeout=SHOWS_UP_MS)
    compose.fill("")

    saved.nth(0).click()  # one click sends it, the variable filled in
    log = panel.locator(".lihil-console-log")  # type: ignore[attr-defined]
    expect(log.locator(".lihil-log-received").last).to_contain_text("hello world", timeout=SHOWS_UP_MS)
    saved.nth(1).click()
    expect(log.locator(".lihil-log-sent.lihil-log-kind-binary").last).to_contain_text("68 69", timeout=SHOWS_UP_MS)

    # kept per notebook (issue 21): lessons do not share their saved messages
    kept = json.loads((jupyter_lab.root_dir / "lihil-saved-messages.items-lab-only.json").read_text())
    assert [m["name"] for m in kept["messages"]] == ["greet", "hi-bytes"] and "who = world" in kept["variables"]
    lab_items.screenshot("console-saved", panel)  # type: ignore[arg-type]
