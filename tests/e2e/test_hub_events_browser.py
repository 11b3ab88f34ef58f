"""In a real JupyterLab: the console's hub row offers the channel's events by name, from the hub's AsyncAPI document,
and picking one fills the payload box with a JSON skeleton of its schema; ``%lihil asyncapi`` shows the document
with its downloads; a hub's refusal shows its reason, and its errors name the topic (issue 21, trap 6). Found by
the console's public CSS classes, driven by typing as a user would."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect, run_all_in_new_page

pytestmark = pytest.mark.e2e

SHOWS_UP_MS = 15_000

CELLS = [
    "%load_ext lihil_notebook",
    """\
%%ws_hub /rooms
from typing import Literal

from lihil import ChannelBase, Struct, Topic


class Chat(Struct):
    text: str
    mood: Literal["happy", "sad"] = "happy"


class Room(ChannelBase):
    '''People talking in a room.'''

    topic = Topic("room:{name}")

    async def on_chat(self, payload: Chat) -> None:
        '''Say something to the room.'''
        await self.publish({"said": payload.text, "mood": payload.mood}, event="chat")

    async def on_ping(self) -> str:
        return "pong\"""",
    """\
from lihil_notebook import console
view = console("/rooms", sessions=("ann",))
view.add_class("e2e-events")
view""",
    "%lihil asyncapi /rooms",
    """\
%%ws_hub /private
from lihil import ChannelBase, Topic


class Den(ChannelBase):
    topic = Topic("den:{name}")


async def on_connect(socket):
    await socket.allow_if(bool(socket.query_params.get("user")), reason="say who you are: ?user=NAME")""",
    """\
private = console("/private", sessions=("nobody",))
private.add_class("e2e-private")
private""",
]


@pytest.fixture(scope="module")
def events_notebook(chromium: object, jupyter_lab: JupyterLab) -> Iterator[NotebookPage]:
    yield from run_all_in_new_page(chromium, jupyter_lab, "hub-events.ipynb", CELLS, ARTIFACTS)


def test_the_hub_row_offers_the_channels_events_and_fills_the_payload_skeleton(events_notebook: NotebookPage) -> None:
    ann = events_notebook.locator(".e2e-events.lihil-console .lihil-console-session").first
    ann.scroll_into_view_if_needed()
    ann.locator(".lihil-console-connect").click()
    expect(ann.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    expect(ann.locator(".lihil-console-hub")).to_be_visible(timeout=SHOWS_UP_MS)
    ann.locator(".lihil-console-hub-topic input").fill("room:lobby")

    event = ann.locator(".lihil-console-hub-event input")
    choices = "input => [...(input.list ? input.list.options : [])].map(option => option.value)"
    events_notebook.page.wait_for_function(  # the browser's own suggestions for the box: the schema's events
        f"input => JSON.stringify(({choices})(input)) === JSON.stringify(['chat', 'ping'])", arg=event.element_handle(),
        timeout=SHOWS_UP_MS)

    event.fill("chat")
    payload = ann.locator(".lihil-console-hub-payload textarea")
    expect(payload).to_have_value(json.dumps({"text": "", "mood": "happy"}), timeout=SHOWS_UP_MS)
    ann.locator(".lihil-console-hub-join").click()
    expect(ann.locator(".lihil-console-hub-chip")).to_have_text("room:lobby", timeout=SHOWS_UP_MS)
    payload.fill(json.dumps({"text": "hi", "mood": "sad"}))
    ann.locator(".lihil-console-hub-send").click()
    expect(ann.locator(".lihil-console-log")).to_contain_text('room:lobby · chat · {"said":"hi","mood":"sad"}',
                                                              timeout=SHOWS_UP_MS)
    events_notebook.screenshot("hub-events", events_notebook.locator(".e2e-events.lihil-console"))
    assert events_notebook.error_outputs() == []


def test_lihil_asyncapi_renders_the_document_with_its_downloads(events_notebook: NotebookPage) -> None:
    doc = events_notebook.locator(".lihil-asyncapi")
    doc.scroll_into_view_if_needed()
    expect(doc).to_contain_text("Room on room:{name}")
    expect(doc).to_contain_text("client → server")
    expect(doc.locator(".lihil-asyncapi-message", has_text="Say something to the room.")).to_contain_text("mood")
    links = doc.locator("a.lihil-asyncapi-download")
    expect(links).to_have_count(2)
    assert links.nth(0).get_attribute("download") == "asyncapi.yaml"
    assert (links.nth(1).get_attribute("href") or "").startswith("data:application/json;base64,")
    for width in (1400, 1000):
        events_notebook.page.set_viewport_size({"width": width, "height": 900})
        events_notebook.screenshot(f"asyncapi-{width}", doc)


def test_a_hubs_refusal_shows_its_reason_and_errors_name_the_topic(events_notebook: NotebookPage) -> None:
    nobody = events_notebook.locator(".e2e-private.lihil-console .lihil-console-session").first
    nobody.scroll_into_view_if_needed()
    nobody.locator(".lihil-console-connect").click()
    expect(nobody.locator(".lihil-console-status")).to_contain_text(
        "refused · HTTP 403 Forbidden — say who you are: ?user=NAME", timeout=SHOWS_UP_MS)

    ann = events_notebook.locator(".e2e-events.lihil-console .lihil-console-session").first
    ann.scroll_into_view_if_needed()
    if "open" not in (ann.locator(".lihil-console-status").text_content() or ""):
        ann.locator(".lihil-console-connect").click()
        expect(ann.locator(".lihil-console-status")).to_contain_text("open", timeout=SHOWS_UP_MS)
    ann.locator(".lihil-console-hub-topic input").fill("lobby")
    ann.locator(".lihil-console-hub-join").click()
    expect(ann.locator(".lihil-log-hub-error").last).to_contain_text(
        "error topic_not_found", timeout=SHOWS_UP_MS)
    expect(ann.locator(".lihil-console-log")).to_contain_text(
        "topic 'lobby' not found (this hub serves room:{name})", timeout=SHOWS_UP_MS)
    events_notebook.screenshot("hub-refusal", events_notebook.locator(".e2e-private.lihil-console"))
