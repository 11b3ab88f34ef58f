"""The console in poll mode (what Colab gets automatically): the view changes only when the page polls, on the
thread that handles the poll, and polling stops once nothing is live."""

from __future__ import annotations

import threading

import pytest

from lihil_notebook.playground import Playground
from lihil_notebook.ui.console import console
from lihil_notebook.ui.poll import PollingPump, update_mode
from tests.console.comm_traffic import Waiter, from_front_end
from tests.console.console_routes import echo


def test_poll_mode_flushes_only_in_answer_to_the_pages_polls(pg: Playground, wait_until: Waiter) -> None:
    pg.mount_ws("/echo", echo)
    view = console("/echo", playground=pg, updates="poll")
    assert isinstance(view.pump, PollingPump) and view.pump.ticker in view.children
    ticker, panel = view.pump.ticker, view.panels[0]
    flushed_on: list[str] = []  # the threads that change what the page shows
    panel.status.observe(lambda _: flushed_on.append(threading.current_thread().name), names="value")

    panel.connect_button.click()
    assert ticker.active  # the click (main thread) starts the page's polling
    wait_until(lambda: panel.session is not None and panel.session.state == "open", what="the session to open")
    wait_until(lambda: any(e.kind == "open" for e in panel.session.log), what="the open entry")  # type: ignore[union-attr]
    assert view.pump.flushes == 0 and "● open" not in panel.status.value  # nothing moves without a poll

    from_front_end(ticker, {"op": "poll"})
    assert "● open" in panel.status.value
    panel.input.value = "hi by poll"
    panel.send_button.click()
    wait_until(lambda: sum(e.kind == "text" for e in panel.session.log) == 2, what="the echo")  # type: ignore[union-attr]
    from_front_end(ticker, {"op": "poll"})
    assert "".join(panel.log_view.rows).count("hi by poll") == 2
    assert set(flushed_on) == {threading.current_thread().name}  # the polling thread, never the server's

    panel.session.close()  # type: ignore[union-attr]
    for _ in range(PollingPump.IDLE_POLLS + 1):
        from_front_end(ticker, {"op": "poll"})
    assert not ticker.active  # nothing live: the page stops asking
    assert "closed" in panel.status.value


def test_update_mode_names_the_parameter() -> None:
    assert update_mode("push") == "push" and update_mode("poll") == "poll"
    assert update_mode("auto") == "push"  # not in Colab
    with pytest.raises(ValueError, match=r"updates: expected one of 'auto', 'push', 'poll', got 'sometimes'"):
        console("/echo", updates="sometimes")
