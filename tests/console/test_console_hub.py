"""The console speaking the hub protocol, driven through its widgets (values, clicks, CSS classes) against a real
playground serving a real hub: join, chips, send an event, replies matched by ref, errors in red, raw frames."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import ipywidgets as widgets

from lihil import ChannelBase, Topic
from lihil_notebook import diagram
from lihil_notebook.playground import Playground
from lihil_notebook.ui.console import Console, console
from lihil_notebook.ui.console.session_panel import SessionPanel
from tests.console.comm_traffic import Waiter
from tests.console.console_routes import echo

SVG = "{http://www.w3.org/2000/svg}"


class Room(ChannelBase):
    topic = Topic("room:{name}")

    async def on_chat(self, payload: dict[str, Any]) -> None:
        await self.publish({"said": payload["text"]}, event="chat")

    async def on_ask(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"answer": payload["q"] * 2}


def part(root: widgets.Widget, css: str) -> Any:
    """The one widget under ``root`` with CSS class ``css`` (what a user finds on the page)."""
    found = [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]
    assert len(found) == 1, f"{css}: {len(found)} found"
    return found[0]


def walk(widget: widgets.Widget) -> list[widgets.Widget]:
    out = [widget]
    for child in getattr(widget, "children", ()):
        out += walk(child)
    return out


def hub_row_of(panel: SessionPanel) -> Any:
    return part(panel, "lihil-console-hub")


def log_text(panel: SessionPanel) -> str:
    """The log as the page shows it: the rendered rows of every chunk."""
    return "".join(chunk.value for chunk in part(panel, "lihil-log-rows").children)


def chips(panel: SessionPanel) -> list[str]:
    return [w.description for w in walk(part(panel, "lihil-console-hub-topics"))
            if "lihil-console-hub-chip" in w._dom_classes]


def open_panel(view: Console, name: str, wait_until: Waiter) -> SessionPanel:
    panel = view.add_session(name)
    part(panel, "lihil-console-connect").click()
    wait_until(lambda: "● open" in part(panel, "lihil-console-status").value, what=f"{name} to open")
    return panel


def join(panel: SessionPanel, topic: str, wait_until: Waiter) -> None:
    part(panel, "lihil-console-hub-topic").value = topic
    part(panel, "lihil-console-hub-join").click()
    wait_until(lambda: topic in chips(panel), what=f"{topic}'s chip; log {log_text(panel)!r}")


def send_event(panel: SessionPanel, event: str, payload: str) -> None:
    part(panel, "lihil-console-hub-event").value = event
    part(panel, "lihil-console-hub-payload").value = payload
    part(panel, "lihil-console-hub-send").click()


def test_the_route_picker_offers_hubs_and_a_hub_panel_shows_the_hub_row(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_hub("/rooms", Room)
    pg.mount_ws("/echo", echo)
    view = console(playground=pg, sessions=())
    picker = part(view, "lihil-console-route")
    assert "/rooms" in [value for _, value in picker.options]
    assert any("/rooms" in label and "hub Room" in label for label, _ in picker.options)
    picker.value = "/rooms"
    assert part(view, "lihil-console-path").value == "/rooms"
    hub_panel = open_panel(view, "ann", wait_until)
    assert hub_row_of(hub_panel).layout.display == ""

    picker.value = "/echo"  # a plain WebSocket route: no hub row, the plain compose box as before
    plain = open_panel(view, "bob", wait_until)
    assert hub_row_of(plain).layout.display == "none"
    part(plain, "lihil-console-input").value = '{"topic":"x","event":"y"}'
    part(plain, "lihil-console-send").click()
    wait_until(lambda: log_text(plain).count("&quot;topic&quot;") == 2, what="the echo, shown as plain frames")
    assert "lihil-log-hub" not in log_text(plain)


def test_join_send_and_see_the_broadcast_in_both_logs_with_the_reply_matched_by_ref(
    pg: Playground, wait_until: Waiter
) -> None:
    pg.mount_hub("/rooms", Room)
    view = console("/rooms", playground=pg, sessions=())
    ann, bob = open_panel(view, "ann", wait_until), open_panel(view, "bob", wait_until)
    join(ann, "room:lobby", wait_until)
    join(bob, "room:lobby", wait_until)
    assert "room:lobby · reply to join #1: ok · " in log_text(ann)

    send_event(ann, "chat", '{"text": "hi all"}')
    for panel in (ann, bob):
        wait_until(lambda p=panel: 'room:lobby · chat · {"said":"hi all"}'.replace('"', "&quot;") in log_text(p),
                   what=f"the broadcast in {panel.name_input.value}'s log: {log_text(panel)!r}")
    sent = [e for e in ann.entries() if e.direction == "sent"]
    refs = [json.loads(str(e.data))["ref"] for e in sent]
    assert refs == ["1", "2"] and len(set(refs)) == len(refs)  # a fresh ref per request
    assert json.loads(str(sent[1].data))["join_ref"] == "1"  # later requests carry the join's ref

    send_event(ann, "ask", '{"q": 21}')
    wait_until(lambda: "room:lobby · reply to ask #3: ok · {&quot;answer&quot;:42}" in log_text(ann),
               what=f"the ok reply matched to ask #3: {log_text(ann)!r}")


def test_error_replies_are_red_invalid_json_is_not_sent_and_chips_exit(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_hub("/rooms", Room)
    view = console("/rooms", playground=pg, sessions=())
    ann = open_panel(view, "ann", wait_until)
    join(ann, "room:lobby", wait_until)

    send_event(ann, "chat", '{"text": ')
    note = part(ann, "lihil-console-hub-note").value
    assert "payload: not valid JSON" in note and "nothing was sent" in note and "lihil-note-error" in note

    send_event(ann, "chat", '"not an object"')  # valid JSON, the wrong type for the handler: the hub refuses it
    wait_until(lambda: "reply to chat #2: error invalid_payload" in log_text(ann),
               what=f"the error reply: {log_text(ann)!r}")
    sent = [str(e.data) for e in ann.entries() if e.direction == "sent"]  # frames go out in order: the bad JSON
    assert [json.loads(frame)["ref"] for frame in sent] == ["1", "2"], sent  # would sit between these two
    row = next(r for r in log_text(ann).split("</div>") if "reply to chat #2" in r)
    assert "lihil-log-hub-error" in row  # the class the stylesheet paints red
    assert ".lihil-log-hub-error" in view.children[0].value  # ...in the console's stylesheet

    part(ann, "lihil-console-frames").value = True  # the raw frames stay available
    wait_until(lambda: "&quot;status&quot;: &quot;error&quot;" in log_text(ann) and "lihil-log-hub" not in log_text(ann),
               what="the raw frames")
    part(ann, "lihil-console-frames").value = False

    part(ann, "lihil-console-hub-topic").value = "elsewhere"
    part(ann, "lihil-console-hub-chip").click()  # a chip picks its topic...
    assert part(ann, "lihil-console-hub-topic").value == "room:lobby" and chips(ann) == ["room:lobby"]
    part(ann, "lihil-console-hub-exit").click()  # ...and its × exits it
    wait_until(lambda: chips(ann) == [], what="the chip to go after the exit's ok reply")
    assert "room:lobby · reply to exit #3: ok" in log_text(ann)
    send_event(ann, "chat", '{"text": "gone"}')
    assert "join room:lobby first" in part(ann, "lihil-console-hub-note").value


def test_a_hub_conversation_diagram_labels_arrows_with_topic_and_event(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_hub("/rooms", Room)
    view = console("/rooms", playground=pg, sessions=())
    ann, bob = open_panel(view, "ann", wait_until), open_panel(view, "bob", wait_until)
    join(ann, "room:lobby", wait_until)
    join(bob, "room:lobby", wait_until)
    send_event(ann, "chat", '"bad"')
    wait_until(lambda: "error invalid_payload" in log_text(ann), what="the error reply")
    assert ann.session is not None and bob.session is not None
    root = ET.fromstring(diagram(ann.session, bob.session).svg)
    hub_rows = [g for g in root.iter(f"{SVG}g") if "lihil-diagram-hub" in g.get("class", "")]
    labels = ["".join(list(g.iter(f"{SVG}text"))[-1].itertext()) for g in hub_rows]
    assert labels.count("join room:lobby") == 2
    error = next(g for g in hub_rows if "error" in "".join(list(g.iter(f"{SVG}text"))[-1].itertext()))
    assert "lihil-diagram-error" in error.get("class", "")
