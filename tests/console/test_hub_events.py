"""The hub row's event box offers the events of the topic's channel, from the hub's AsyncAPI document, and picking
one fills the payload box with a JSON skeleton of its payload schema (widgets, a real playground and hub)."""

from __future__ import annotations

import json
from typing import Literal

import ipywidgets as widgets

from lihil import ChannelBase, Struct, Topic
from lihil_notebook.playground import Playground
from lihil_notebook.ui.cards import route_card
from lihil_notebook.ui.console import console
from tests.console.comm_traffic import Waiter
from tests.console.test_console_hub import join, log_text, open_panel, part, walk


class Chat(Struct):
    text: str
    mood: Literal["happy", "sad"] = "happy"
    to: str | None = None


class Room(ChannelBase):
    topic = Topic("room:{name}")

    async def on_chat(self, payload: Chat) -> None:
        await self.publish({"said": payload.text, "mood": payload.mood}, event="chat")

    async def on_ping(self) -> str:
        return "pong"


class Game(ChannelBase):
    topic = Topic("game:{id}")

    async def on_move(self, payload: list[int]) -> None: ...


def test_the_event_box_offers_the_topics_events_and_fills_a_skeleton(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_hub("/rooms", Room, Game)
    view = console("/rooms", playground=pg, sessions=())
    ann = open_panel(view, "ann", wait_until)
    event, payload = part(ann, "lihil-console-hub-event"), part(ann, "lihil-console-hub-payload")
    part(ann, "lihil-console-hub-topic").value = "room:lobby"
    assert list(event.options) == ["chat", "ping"]  # Room's events; Game's move is for game:… topics
    part(ann, "lihil-console-hub-topic").value = "game:7"
    assert list(event.options) == ["move"]

    part(ann, "lihil-console-hub-topic").value = "room:lobby"
    event.value = "chat"
    assert json.loads(payload.value) == {"text": "", "mood": "happy", "to": None}
    event.value = "ping"  # the skeleton was the row's own: the next event replaces it
    assert payload.value == "null"

    join(ann, "room:lobby", wait_until)
    event.value = "chat"
    payload.value = json.dumps({"text": "hi", "mood": "sad"})  # typed by the user: kept from now on
    event.value = "ping"
    event.value = "chat"
    assert json.loads(payload.value) == {"text": "hi", "mood": "sad"}
    part(ann, "lihil-console-hub-send").click()
    wait_until(lambda: "{&quot;said&quot;:&quot;hi&quot;,&quot;mood&quot;:&quot;sad&quot;}" in log_text(ann),
               what=f"the broadcast of the filled-in chat: {log_text(ann)!r}")


def test_a_topic_no_channel_serves_offers_every_event_of_the_hub(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_hub("/rooms", Room, Game)
    view = console("/rooms", playground=pg, sessions=())
    ann = open_panel(view, "ann", wait_until)
    part(ann, "lihil-console-hub-topic").value = "lobby"
    assert sorted(part(ann, "lihil-console-hub-event").options) == ["chat", "move", "ping"]


def test_a_route_card_shows_its_routes_asyncapi_document(pg: Playground) -> None:
    pg.mount_hub("/rooms", Room, Game)
    card = route_card(pg, "/rooms")
    (link,) = [w for w in walk(card) if "lihil-route-asyncapi" in getattr(w, "_dom_classes", ())]
    link.click()
    assert link.description == "Hide AsyncAPI"
    (shown,) = [w for w in walk(card) if isinstance(w, widgets.HTML) and "lihil-asyncapi" in w.value]
    assert "Room on room:{name}" in shown.value and "Game on game:{id}" in shown.value
    assert 'download="asyncapi.yaml"' in shown.value
    link.click()
    assert link.description == "AsyncAPI" and shown.value == "" and shown.layout.display == "none"
    card.close()
