"""Sessions in the console: each has its own target, and reconnecting keeps the conversation (issue 12, 3 and 5)."""

from __future__ import annotations

from lihil_notebook.playground import Playground
from lihil_notebook.ui.console import console
from lihil_notebook.ui.console.session_panel import SessionPanel
from tests.console.comm_traffic import Waiter
from tests.console.console_panels import connected, press_connect
from tests.console.console_routes import echo, make_chat, typed


def opened(panel: SessionPanel, wait_until: Waiter) -> None:
    wait_until(lambda: "● open" in panel.status.value, what=f"open; status {panel.status.value!r}")


def test_a_session_added_by_name_connects_as_itself_and_keeps_its_own_target(
    pg: Playground, wait_until: Waiter
) -> None:
    pg.mount_ws("/chat/{room}", make_chat())
    view = console("/chat/lobby?user=ann", playground=pg, sessions=["ann"])
    ann = view.panels[0]
    assert ann.target_field.value == "/chat/lobby?user=ann"
    ann.connect_button.click()
    opened(ann, wait_until)
    view.session_name.value = "bob"
    view.add_session_button.click()
    bob = view.panels[1]
    assert bob.target_field.value == "/chat/lobby?user=bob"
    opened(bob, wait_until)
    ann.send("hello")
    wait_until(lambda: any(e.data == "ann: hello" for e in bob.entries()), what="bob to hear ann")

    # A connected panel keeps its target when the console's form changes; one that never connected follows it.
    view.add_session("carol")
    view.query.value = "extra=1"
    assert ann.target_field.value == "/chat/lobby?user=ann"
    assert view.panels[2].target_field.value.endswith("extra=1")


def test_reconnecting_keeps_the_log_with_a_separator_and_no_stale_notice(
    pg: Playground, wait_until: Waiter
) -> None:
    pg.mount_ws("/echo", echo)
    _view, panel = connected(pg, "/echo", wait_until)  # the console stays referenced
    panel.send("before")
    wait_until(lambda: "before" in "".join(panel.log_view.rows[-1:]), what="the echo")
    pg.mount_ws("/echo", echo)  # redefined: the open session is stale
    wait_until(lambda: "stale handler" in panel.status.value, what="the stale notice")
    panel.connect_button.click()  # Disconnect
    wait_until(lambda: "closed 1000" in panel.status.value, what="the close")
    panel.connect_button.click()  # Reconnect
    wait_until(lambda: "● open" in panel.status.value and "stale" not in panel.status.value, what="reopen")
    rows = panel.log_view.rows
    before = next(i for i, r in enumerate(rows) if "before" in r)
    separator = next(i for i, r in enumerate(rows) if "lihil-log-kind-separator" in r and "connecting again" in r)
    opened_again = max(i for i, r in enumerate(rows) if "lihil-log-kind-open" in r)
    assert before < separator < opened_again
    assert [e.kind for e in panel.entries()].count("open") == 2  # the export has both connections too

    panel.clear()  # clearing forgets the earlier connections too
    wait_until(lambda: not any("before" in r for r in panel.log_view.rows), what="the clear")


def test_reconnect_uses_the_parameter_the_user_fixed_and_says_no_reconnected_for_a_refusal(
    pg: Playground, wait_until: Waiter
) -> None:
    pg.mount_ws("/typed", typed)
    view, panel = press_connect(pg, "/typed?count=abc")
    wait_until(lambda: "refused" in panel.status.value, what="the refusal")
    panel.send("hi")
    assert "press Reconnect" in panel.compose_note.value  # the button reads Reconnect now
    view.query_fields["count"].value = "2"  # the field fills the session's one target
    assert panel.target_field.value == "/typed?count=2"
    panel.connect_button.click()
    wait_until(lambda: any(e.data == "2" for e in panel.entries()), what="the handler's reply to count=2")
    wait_until(lambda: "○ closed 1000" in panel.status.value, what="a normal close, not a red one")
    assert not any("reconnected" in row for row in panel.log_view.rows)


def test_remove_session_has_an_undo(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    view = console("/echo", playground=pg, sessions=["ann", "bob"])
    bob = view.panels[1]
    bob.connect_button.click()
    opened(bob, wait_until)
    bob.remove_button.click()
    assert view.panels == [view.panels[0]] and bob not in view.sessions_box.children
    wait_until(lambda: bob.session is not None and bob.session.state == "closed", what="bob closed")
    assert "bob" in view.undo.text.value
    view.undo.button.click()
    assert view.panels[-1] is bob and bob in view.sessions_box.children
    assert view.undo.widget.layout.display == "none"
