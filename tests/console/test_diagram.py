"""``diagram(*sessions)``: the SVG of a conversation, read back as XML and checked as a reader would see it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest

from lihil_notebook import diagram
from lihil_notebook.client.log import LogEntry
from lihil_notebook.playground import Playground
from tests.console.comm_traffic import Waiter
from tests.console.console_routes import make_chat

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class FakeSession:
    name: str
    path: str
    log: list[LogEntry] = field(default_factory=list)

    def add(self, at: float, direction: str, kind: str, data: str | bytes | None, size: int = 0) -> None:
        self.log.append(LogEntry(at, direction, kind, data, size))  # type: ignore[arg-type]


def rows(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if "lihil-diagram-row" in g.get("class", "")]


def texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def arrow(row: ET.Element) -> tuple[float, float]:
    line = next(row.iter(f"{SVG}line"))
    return float(line.get("x1", 0)), float(line.get("x2", 0))


def test_lifelines_arrows_in_time_order_with_labels_codes_and_errors_in_red() -> None:
    ann, bob = FakeSession("ann", "/chat/lobby?user=ann"), FakeSession("bob", "/chat/lobby?user=bob")
    ann.add(1.0, "event", "open", "connected")
    bob.add(2.0, "event", "open", "connected")
    ann.add(3.0, "sent", "text", "hello <everyone> & " + "x" * 100, 120)
    ann.add(3.1, "received", "text", "ann: hello", 10)
    bob.add(3.2, "received", "text", "ann: hello", 10)
    bob.add(4.0, "sent", "binary", b"\x00\xff", 2)
    bob.add(5.0, "event", "server-error", "Traceback ...\nRuntimeError: boom")
    bob.add(5.1, "received", "close", "1011 internal error")
    ann.add(6.0, "sent", "close", "1000 bye")

    svg = diagram(ann, bob).svg
    root = ET.fromstring(svg)  # well-formed, escaped
    lifelines = [g for g in root.iter(f"{SVG}g") if "lihil-diagram-lifeline" in g.get("class", "")]
    assert [texts(g)[0] for g in lifelines] == ["server", "ann", "bob"]
    assert "/chat/lobby" in texts(lifelines[0])[1]

    drawn = rows(svg)
    kinds = [g.get("class", "").split("lihil-diagram-kind-")[1].split()[0] for g in drawn]
    assert kinds == ["open", "open", "text", "text", "text", "binary", "server-error", "close", "close"]
    ys = [float(next(g.iter(f"{SVG}line")).get("y1", 0)) for g in drawn if list(g.iter(f"{SVG}line"))]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)  # one row each, top to bottom in time order

    server_x, ann_x, bob_x = (float(next(g.iter(f"{SVG}line")).get("x1", 0)) for g in lifelines)
    assert arrow(drawn[2]) == (ann_x, server_x)  # ann sends to the server...
    assert arrow(drawn[3]) == (server_x, ann_x) and arrow(drawn[4]) == (server_x, bob_x)  # ...which fans out
    label = texts(drawn[2])[-1]
    assert label.startswith("hello <everyone> & x") and label.endswith("…") and len(label) <= 36
    assert "⟨2 B⟩ 00 ff" in texts(drawn[5])[-1]
    assert "close 1011 internal error" in texts(drawn[7])[-1] and "close 1000 bye" in texts(drawn[8])[-1]
    error = drawn[6]
    assert "lihil-diagram-error" in error.get("class", "") and "RuntimeError: boom" in texts(error)[-1]
    assert next(error.iter(f"{SVG}line")).get("stroke") == "#c5221f"
    for row in drawn:  # every arrow's label fits over its arrow (12 px monospace, about 7.3 px a character)
        lines = list(row.iter(f"{SVG}line"))
        if lines:
            start, end = arrow(row)
            assert len(texts(row)[-1]) * 7.3 <= abs(end - start) + 7.3, texts(row)[-1]
    assert diagram(ann)._repr_svg_().startswith("<svg")


def test_a_long_conversation_draws_the_newest_rows_and_says_how_many_it_left_out() -> None:
    talk = FakeSession("ann", "/echo")
    for number in range(50):
        talk.add(float(number), "sent", "text", f"m{number}", 2)
    picture = diagram(talk, max_rows=10)
    drawn = rows(picture.svg)
    assert [texts(g)[-1] for g in drawn] == [f"m{n}" for n in range(40, 50)]
    assert picture.rows_dropped == 40 and "40 earlier rows not drawn (max_rows=10)" in picture.svg
    with pytest.raises(ValueError, match="max_rows"):
        diagram(talk, max_rows=0)


def test_a_real_chat_fans_out_one_message_to_every_member(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/chat/{room}", make_chat())
    ann = pg.connect("/chat/den?user=ann", name="ann")
    bob = pg.connect("/chat/den?user=bob", name="bob")
    ann.send("hi all")
    assert ann.receive() == bob.receive() == "ann: hi all"
    ann.close()
    bob.close()
    labels = [texts(g)[-1] for g in rows(diagram(ann, bob).svg)]
    assert labels.count("ann: hi all") == 2 and labels.count("hi all") == 1
    assert labels.index("hi all") < labels.index("ann: hi all")


def test_hub_envelopes_read_topic_event_payload_with_joins_exits_and_replies_matched_by_ref() -> None:
    def frame(**fields: object) -> str:
        return json.dumps(fields, separators=(",", ":"))

    ann = FakeSession("ann", "/rooms")
    ann.add(1.0, "sent", "text", frame(topic="room:lobby", event="join", payload=None, ref="1", join_ref="1"))
    ann.add(1.1, "received", "text", frame(topic="room:lobby", event="reply", ref="1", join_ref="1",
                                          payload={"status": "ok", "response": {"topic": "room:lobby"}}))
    ann.add(2.0, "sent", "text", frame(topic="room:lobby", event="chat", payload={"text": "hi " + "x" * 80},
                                       ref="2", join_ref="1"))
    ann.add(2.1, "received", "text", frame(topic="room:lobby", event="chat", payload={"said": "hi"}, ref=None))
    ann.add(3.0, "sent", "text", frame(topic="room:lobby", event="chat", payload="bad", ref="3", join_ref="1"))
    ann.add(3.1, "received", "text", frame(topic="room:lobby", event="reply", ref="3", join_ref="1", payload={
        "status": "error", "error": {"code": "invalid_payload", "message": "Invalid payload", "detail": {}}}))
    ann.add(4.0, "sent", "text", frame(topic="room:lobby", event="exit", payload=None, ref="4", join_ref="1"))
    ann.add(5.0, "sent", "text", "plain text, not an envelope", 28)

    drawn = rows(diagram(ann, label_chars=60).svg)
    labels = [texts(g)[-1] for g in drawn]
    assert labels[0] == "join room:lobby" and "lihil-diagram-hub-join" in drawn[0].get("class", "")
    assert labels[1].startswith("reply to join #1: ok") and "lihil-diagram-hub-reply" in drawn[1].get("class", "")
    assert labels[2].startswith('room:lobby · chat · {"te') and labels[2].endswith("…")  # cut to fit its arrow
    assert labels[3].startswith('room:lobby · chat · {"sa')
    assert "".join(next(drawn[3].iter(f"{SVG}title")).itertext()) == 'room:lobby · chat · {"said":"hi"}'  # on hover
    assert arrow(drawn[3]) == arrow(drawn[2])[::-1]  # the broadcast comes back from the server
    assert labels[5].startswith("reply to chat #3: error")
    assert "error invalid_payload — Invalid payload" in "".join(next(drawn[5].iter(f"{SVG}title")).itertext())
    assert "lihil-diagram-error" in drawn[5].get("class", "")
    assert next(drawn[5].iter(f"{SVG}line")).get("stroke") == "#c5221f"  # error replies in red
    assert "lihil-diagram-error" not in drawn[1].get("class", "")
    assert labels[6] == "exit room:lobby" and "lihil-diagram-hub-exit" in drawn[6].get("class", "")
    assert "lihil-diagram-hub" not in drawn[7].get("class", "") and labels[7].startswith("plain text")


def test_each_diagram_has_its_own_marker_ids_and_labels_fit_their_column() -> None:
    """Issue 21 trap 3: two diagrams on one page must not share arrowhead ids; a label of ``label_chars`` is whole."""
    ann = FakeSession("ann", "/echo")
    text = "a label thirty-four characters long"
    ann.add(1.0, "sent", "text", text, len(text))
    first, second = diagram(ann), diagram(ann)
    markers = [[m.get("id") for m in ET.fromstring(d.svg).iter(f"{SVG}marker")] for d in (first, second)]
    assert not set(markers[0]) & set(markers[1])
    for d, own in zip((first, second), markers, strict=True):
        used = {line.get("marker-end", "")[5:-1] for line in ET.fromstring(d.svg).iter(f"{SVG}line")} - {""}
        assert used <= set(own)
    assert text in texts(rows(first.svg)[0])
    assert diagram(ann, ids="fixed").svg == diagram(ann, ids="fixed").svg  # one view's redraws compare equal
