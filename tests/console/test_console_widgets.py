"""The console driven through its widgets' Python API (clicks, values) against a real playground server.

Every assertion is on what a user would see: the rendered log rows, the status line, notes, exported files,
and the widget traffic that would reach the page.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

import pytest

from lihil_notebook.playground import Playground
from lihil_notebook.server import capture
from lihil_notebook.ui.cards import route_card
from lihil_notebook.ui.console import Console, console
from lihil_notebook.ui.console.session_panel import SessionPanel
from lihil_notebook.ui.style import SUBMIT_MARK
from tests.console.comm_traffic import CommTraffic, Waiter, css_classes, opened
from tests.console.console_panels import connected, press_connect
from tests.console.console_routes import echo, handshake_info, make_chat, make_flood, noisy, typed


def log_text(panel: SessionPanel) -> str:
    return "".join(panel.log_view.rows)


def test_connect_send_and_see_the_echo(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until)
    assert panel.connect_button.description == "Disconnect"
    assert panel.session is not None and pg.ws_url("/echo", token=False) in panel.url.value

    panel.input.value = "hello there"
    panel.send_button.click()

    wait_until(lambda: log_text(panel).count("hello there") == 2, what="the sent row and its echo")
    rows = panel.log_view.rows
    assert "lihil-log-sent" in rows[-2] and "→" in rows[-2] and "11 B" in rows[-2]
    assert "lihil-log-received" in rows[-1] and "←" in rows[-1]
    assert panel.input.value == ""  # sent from the compose box: the box is cleared
    assert [label for label, _ in panel.history.options][1:] == ["text: hello there"]

    panel.history.value = 0  # pick it from the history: back in the compose box, ready to resend
    assert panel.input.value == "hello there" and panel.history.label == "history"


def test_enter_in_the_compose_box_sends_and_shift_enter_keeps_a_newline(
    pg: Playground, wait_until: Waiter
) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until)

    # What the page's key handler does: Enter appends the submit mark; Shift+Enter is a plain newline.
    panel.input.value = "first line\nsecond line"
    panel.input.value = panel.input.value + SUBMIT_MARK
    wait_until(
        lambda: any(e.kind == "text" and e.direction == "received" for e in panel.entries()), what="echo"
    )
    assert panel.input.value == ""
    sent = [e.data for e in panel.entries() if e.direction == "sent"]
    assert sent == ["first line\nsecond line"]

    # Keystrokes typed after Enter but before the kernel saw it stay in the box as the next draft.
    panel.input.value = "one" + SUBMIT_MARK + "two" + SUBMIT_MARK + "thr"
    assert panel.input.value == "thr"
    wait_until(lambda: [e.data for e in panel.entries() if e.direction == "sent"][-2:] == ["one", "two"])


def test_a_submission_that_cannot_be_sent_stays_in_the_compose_box(pg: Playground) -> None:
    pg.mount_ws("/echo", echo)
    panel = console("/echo", playground=pg).panels[0]
    panel.input.value = "not yet" + SUBMIT_MARK
    assert panel.input.value == "not yet"
    assert "cannot send: not connected yet — press Connect" in panel.compose_note.value


def test_json_is_validated_before_sending_and_pretty_printed(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until)
    panel.mode.value = "json"

    panel.input.value = '{"op": "join", "room": }'
    panel.send_button.click()
    assert (
        "json: not valid JSON" in panel.compose_note.value and "line 1, column 24" in panel.compose_note.value
    )
    assert panel.input.value == '{"op": "join", "room": }'  # kept for fixing
    assert not [e for e in panel.entries() if e.direction == "sent"]

    panel.input.value = '{"op": "join", "room": "lobby"}'
    panel.send_button.click()
    assert panel.compose_note.value == ""
    wait_until(
        lambda: log_text(panel).count("&quot;room&quot;: &quot;lobby&quot;") == 2, what="pretty JSON rows"
    )
    assert "{\n  &quot;op&quot;: &quot;join&quot;," in panel.log_view.rows[-1]


@pytest.mark.parametrize(("mode", "text"), [("hex", "68 69 ff"), ("base64", "aGn/")])
def test_binary_frames_from_hex_or_base64_show_as_hex(
    pg: Playground, wait_until: Waiter, mode: str, text: str
) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until)
    panel.mode.value = mode
    panel.input.value = text
    panel.send_button.click()
    wait_until(lambda: any(e.data == b"hi\xff" and e.direction == "received" for e in panel.entries()))
    wait_until(lambda: "68 69 ff" in panel.log_view.rows[-1] and "3 B" in panel.log_view.rows[-1])

    panel.input.value = "zz"
    panel.send_button.click()
    assert f"{mode}:" in panel.compose_note.value


def test_two_named_sessions_chat_in_one_room(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/chat/{room}", make_chat())
    view = console("/chat/lobby?user=ann", playground=pg, sessions=["ann"], connect=True)
    ann = view.panels[0]
    wait_until(lambda: "● open" in ann.status.value, what="ann to connect")

    view.query_fields["user"].value = "bob"
    view.session_name.value = "bob"
    view.add_session_button.click()
    bob = view.panels[1]
    assert (
        bob.session is not None and bob.session.name == "bob" and bob.session.path == "/chat/lobby?user=bob"
    )
    wait_until(lambda: "● open" in bob.status.value, what="bob to connect")
    assert len(view.sessions_box.children) == 2
    assert all("lihil-console-session" in css_classes(panel) for panel in view.panels)

    ann.input.value = "hi bob"
    ann.send_button.click()
    wait_until(lambda: "ann: hi bob" in log_text(bob), what="ann's message in bob's log")
    wait_until(lambda: "ann: hi bob" in log_text(ann), what="ann's own broadcast")


def test_form_fills_path_parameters_and_query_and_names_bad_input(pg: Playground) -> None:
    pg.mount_ws("/chat/{room}", make_chat())
    view = console("/chat/lobby?user=ann&extra=1", playground=pg)
    assert view.route_picker.value == "/chat/{room}"
    assert view.path.value == "/chat/{room}"
    assert view.path_fields["room"].value == "lobby"
    assert view.query_fields["user"].value == "ann"
    assert view.query.value == "extra=1"
    assert view.target().path == "/chat/lobby?user=ann&extra=1"
    assert html.escape(pg.ws_url("/chat/lobby?user=ann&extra=1", token=False)) in view.target_url.value

    view.path_fields["room"].value = "a b/c"
    assert view.target().path.startswith("/chat/a%20b%2Fc?")

    view.path_fields["room"].value = ""
    with pytest.raises(ValueError, match="path parameter 'room'"):
        view.target()
    assert "path parameter &#x27;room&#x27;" in view.target_url.value

    view.path_fields["room"].value = "lobby"
    view.headers.value = "x-token: abc\nnot a header"
    with pytest.raises(ValueError, match="headers, line 2: expected 'Name: value'"):
        view.target()
    panel = view.panels[0]
    panel.connect_button.click()
    assert "headers, line 2" in panel.compose_note.value and panel.session is None


def test_handshake_headers_and_subprotocols(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/info", handshake_info)
    view = console("/info", playground=pg)
    view.headers.value = "x-token: secret-1"
    view.subprotocols.value = "chat.v2, chat.v1"
    panel = view.panels[0]
    panel.connect_button.click()
    wait_until(lambda: "token=secret-1" in log_text(panel), what="the header echoed by the handler")
    wait_until(
        lambda: "subprotocol chat.v2" in panel.status.value, what="the accepted subprotocol in the status"
    )


def test_disconnect_with_code_and_reason_then_reconnect(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until)
    panel.close_code.value = 1234
    panel.connect_button.click()
    assert "close code: expected 1000 or 3000–4999" in panel.compose_note.value
    assert panel.session is not None and panel.session.state == "open"

    panel.close_code.value = 4000
    panel.close_reason.value = "done for today"
    panel.connect_button.click()
    wait_until(lambda: "✕ closed 4000 · done for today" in panel.status.value, what="the closed status")
    assert panel.connect_button.description == "Reconnect"
    wait_until(lambda: "lihil-log-kind-close" in panel.log_view.rows[-1])

    first = panel.session
    panel.connect_button.click()
    wait_until(lambda: "● open" in panel.status.value, what="the reconnect")
    assert panel.session is not first and panel.session.path == "/echo"


def test_removing_a_panel_closes_its_session(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    view, panel = connected(pg, "/echo", wait_until)
    session = panel.session
    panel.remove_button.click()
    assert view.panels == [] and view.sessions_box.children == ()
    wait_until(
        lambda: session is not None and session.state == "closed", what="the removed panel's session to close"
    )


def test_stopping_the_server_shows_closed_sessions_without_a_server_loop(
    pg: Playground, wait_until: Waiter
) -> None:
    pg.mount_ws("/echo", echo)
    view, panel = connected(pg, "/echo", wait_until)
    pg.stop()  # the pump's loop is gone: the flush runs in the thread that asked for it
    wait_until(
        lambda: "✕ closed 1001" in panel.status.value, what="the closed status after the server stopped"
    )
    assert "server stopped" in view.target_url.value
    panel.connect_button.click()  # Reconnect starts the server again
    wait_until(lambda: "● open" in panel.status.value, what="the reconnect on the restarted server")


def test_ping_shows_the_round_trip_time(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until)
    panel.ping_button.click()
    wait_until(
        lambda: "ping " in panel.status.value and " ms" in panel.status.value, what="rtt in the status"
    )
    assert any("lihil-log-kind-pong" in row for row in panel.log_view.rows)


def test_filter_by_text_and_direction_clear_and_export(
    pg: Playground, wait_until: Waiter, tmp_path: Path
) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until, export_dir=tmp_path)
    for word in ("apple", "banana", "cherry"):
        panel.send(word)
    wait_until(lambda: log_text(panel).count("cherry") == 2, what="all echoes")

    panel.filter_text.value = "BANANA"
    wait_until(lambda: len(panel.log_view) == 2, what="only banana rows")
    assert all("banana" in row for row in panel.log_view.rows)

    panel.filter_text.value = ""
    panel.direction_toggles["sent"].value = False
    panel.direction_toggles["event"].value = False
    wait_until(lambda: len(panel.log_view) == 3, what="only received rows")
    assert all("lihil-log-received" in row for row in panel.log_view.rows)

    panel.clear_button.click()
    wait_until(lambda: len(panel.log_view) == 0, what="an empty view")
    panel.send("after the clear")
    wait_until(lambda: len(panel.log_view) == 1, what="the echo after the clear")

    panel.export_button.click()
    assert "Exported 2 entries" in panel.export_note.value and "download" in panel.export_note.value
    exported = sorted(tmp_path.glob("lihil-*.jsonl"))
    assert len(exported) == 1
    lines = [json.loads(line) for line in exported[0].read_text().splitlines()]
    assert [(line["direction"], line["data"]) for line in lines] == [
        ("sent", "after the clear"),
        ("received", "after the clear"),
    ]
    assert len(panel.session.log) > 2 if panel.session else False  # the session keeps everything


def test_server_prints_and_tracebacks_reach_the_log(pg: Playground, wait_until: Waiter) -> None:
    # pytest swaps sys.stdout between test phases, dropping the routed stream the server installed at start.
    capture.install()
    pg.mount_ws("/noisy", noisy)
    _view, panel = connected(pg, "/noisy", wait_until)
    wait_until(lambda: "handler says hello" in log_text(panel), what="the handler's print")
    panel.send("now")
    wait_until(lambda: "RuntimeError: boom on &#x27;now&#x27;" in log_text(panel), what="the traceback")
    wait_until(lambda: "✕ closed 1011" in panel.status.value, what="close 1011")
    assert any("lihil-log-kind-server-error" in row and "Traceback" in row for row in panel.log_view.rows)


def test_redefined_route_marks_open_sessions_stale(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    view, panel = connected(pg, "/echo", wait_until)
    wait_until(lambda: "v1" in view.route_picker.label)
    pg.mount_ws("/echo", echo)
    wait_until(lambda: "stale handler" in panel.status.value, what="the stale notice in the status")
    assert any("lihil-log-kind-stale" in row for row in panel.log_view.rows)
    wait_until(lambda: "v2" in view.route_picker.label, what="the route picker to show the new version")


def test_route_picker_follows_the_playground(pg: Playground, wait_until: Waiter) -> None:
    view = console(playground=pg)
    assert [value for _, value in view.route_picker.options] == [None]
    pg.mount_ws("/late", echo)
    wait_until(lambda: "/late" in [value for _, value in view.route_picker.options], what="the new route")
    view.route_picker.value = "/late"
    assert view.path.value == "/late"
    pg.unmount("/late")
    wait_until(
        lambda: "/late" not in [value for _, value in view.route_picker.options], what="the route to go"
    )
    assert view.route_picker.value is None


def test_bad_handshake_parameter_is_shown_as_denied(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/typed", typed)
    _view, panel = press_connect(pg, "/typed?count=many")  # the console stays referenced
    wait_until(lambda: "✕ refused · HTTP 400" in panel.status.value, what="the refused handshake")
    assert "count" in panel.status.value and panel.status.value.count("HTTP 400") == 1
    assert "1006" not in panel.status.value + log_text(panel)
    denied = [row for row in panel.log_view.rows if "lihil-log-kind-denied" in row]
    assert len(denied) == 1 and "&quot;param&quot;: &quot;count&quot;" in denied[0]  # the problem, pretty


def test_route_card_opens_a_console_and_follows_redefinition(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    card = route_card(pg, "/echo")
    assert "● live" in card.info.value and pg.ws_url("/echo", token=False) in card.info.value
    card.open_button.click()
    assert card.open_button.description == "Close console"
    (shown,) = card.console_slot.children
    assert isinstance(shown, Console) and shown.path.value == "/echo"

    pg.mount_ws("/echo", echo)
    wait_until(lambda: "replaced by v2" in card.info.value, what="the old card to say it was replaced")
    card.open_button.click()
    assert card.console_slot.children == ()


def test_a_flood_is_batched_bounded_and_incremental(
    pg: Playground, wait_until: Waiter, comm_traffic: CommTraffic
) -> None:
    count, shown = 3000, 100
    pg.mount_ws("/flood", make_flood(count))
    view, panel = connected(pg, "/flood", wait_until, max_entries=shown)
    started = time.monotonic()
    flushes_before = view.stats["flushes"]
    panel.send("go")
    wait_until(lambda: "message 2999" in log_text(panel), timeout=30, what="the last flood message on screen")
    elapsed = time.monotonic() - started

    assert len(panel.log_view) == shown
    assert ">message 2999</pre>" in panel.log_view.rows[-1]
    assert f">message {count - shown}</pre>" in panel.log_view.rows[0]
    # Batching: the pump never flushes faster than its rate, however fast messages come.
    assert view.stats["flushes"] - flushes_before <= elapsed * 15 + 3
    # Incremental: chunk widgets are recycled, so the traffic is bounded by what is new, not by the log length.
    chunks = log_ids = opened(comm_traffic, "lihil-log-chunk")  # every chunk ever made: none is closed
    log_bytes = sum(m.nbytes for m in comm_traffic.updates(log_ids))
    row_bytes = len(panel.log_view.rows[-1])
    naive = row_bytes * shown * count / 2  # re-sending the visible log for every message
    assert log_bytes < row_bytes * (count + 10 * shown), (log_bytes, naive)
    assert len(chunks) <= shown // panel.log_view.chunk_size + 2
