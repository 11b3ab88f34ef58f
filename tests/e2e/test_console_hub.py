"""The console speaking the hub protocol in a real JupyterLab: a ``%%ws_hub /rooms`` cell and a console with two
sessions; both join ``room:lobby``, one sends ``chat``, both logs show ``room:lobby · chat · {...}``, the sender
sees the ok reply matched to its ref, and a bad payload gets an error reply shown in red. Everything is found by
the console's public CSS classes and driven with clicks and typing, as a user would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect, run_all_in_new_page

pytestmark = pytest.mark.e2e

#: Milliseconds for something the kernel did to show up in the page.
SHOWS_UP_MS = 15_000
#: The stylesheet's red for errors (#c5221f), as the browser computes it.
ERROR_RED = "rgb(197, 34, 31)"

CELLS = [
    "%load_ext lihil_notebook",
    """\
%%ws_hub /rooms
from lihil import ChannelBase, Topic

class Room(ChannelBase):
    topic = Topic("room:{name}")

    async def on_chat(self, payload: dict) -> dict:
        await self.publish({"said": payload["text"]}, event="chat")
        return {"delivered": True}""",
    """\
from lihil_notebook import console
view = console("/rooms", sessions=("ann", "bob"))
view.add_class("e2e-hub")
view""",
]


@pytest.fixture(scope="module")
def hub_notebook(chromium: object, jupyter_lab: JupyterLab) -> Iterator[NotebookPage]:
    yield from run_all_in_new_page(chromium, jupyter_lab, "hub-console.ipynb", CELLS, ARTIFACTS)


def send_event(panel: object, event: str, payload: str) -> None:
    panel.locator(".lihil-console-hub-event input").fill(event)  # type: ignore[attr-defined]
    panel.locator(".lihil-console-hub-payload textarea").fill(payload)  # type: ignore[attr-defined]
    panel.locator(".lihil-console-hub-send").click()  # type: ignore[attr-defined]


def test_two_sessions_join_a_room_chat_see_replies_by_ref_and_errors_in_red(hub_notebook: NotebookPage) -> None:
    panels = hub_notebook.locator(".e2e-hub.lihil-console .lihil-console-session")
    expect(panels).to_have_count(2)
    ann, bob = panels.nth(0), panels.nth(1)
    for panel in (ann, bob):
        panel.scroll_into_view_if_needed()
        panel.locator(".lihil-console-connect").click()
        expect(panel.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
        expect(panel.locator(".lihil-console-hub")).to_be_visible(timeout=SHOWS_UP_MS)
        panel.locator(".lihil-console-hub-topic input").fill("room:lobby")
        panel.locator(".lihil-console-hub-join").click()
        expect(panel.locator(".lihil-console-hub-chip")).to_have_text("room:lobby", timeout=SHOWS_UP_MS)
        expect(panel.locator(".lihil-log-hub").last).to_contain_text("room:lobby · reply to join #1: ok",
                                                                      timeout=SHOWS_UP_MS)

    send_event(ann, "chat", '{"text": "hi all"}')
    for panel in (ann, bob):
        expect(panel.locator(".lihil-console-log")).to_contain_text('room:lobby · chat · {"said":"hi all"}',
                                                                    timeout=SHOWS_UP_MS)
    expect(ann.locator(".lihil-console-log")).to_contain_text('room:lobby · reply to chat #2: ok · {"delivered":true}',
                                                              timeout=SHOWS_UP_MS)

    send_event(ann, "chat", '{"text": ')  # not JSON: a note, and nothing goes out
    expect(ann.locator(".lihil-console-hub-note")).to_contain_text("payload: not valid JSON", timeout=SHOWS_UP_MS)

    send_event(ann, "chat", '"not an object"')  # JSON, but not what on_chat takes: the hub answers with an error
    error = ann.locator(".lihil-log-hub-error").last
    expect(error).to_contain_text("reply to chat #3: error invalid_payload", timeout=SHOWS_UP_MS)
    assert error.evaluate("row => getComputedStyle(row.querySelector('.lihil-log-data')).color") == ERROR_RED
    expect(ann.locator(".lihil-console-hub-note")).to_be_empty()
    assert hub_notebook.error_outputs() == []
    shot = hub_notebook.screenshot("console-hub", hub_notebook.locator(".e2e-hub.lihil-console"))
    assert shot.exists()
