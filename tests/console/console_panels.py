"""Open a console on a real playground and press Connect on its first session, for the console tests."""

from __future__ import annotations

from lihil_notebook.playground import Playground
from lihil_notebook.ui.console import Console, console
from lihil_notebook.ui.console.session_panel import SessionPanel
from tests.console.comm_traffic import Waiter


def press_connect(pg: Playground, path: str, **options: object) -> tuple[Console, SessionPanel]:
    """A console on ``path`` (``options`` to ``console``) with Connect pressed on its first session panel."""
    view = console(path, playground=pg, **options)  # type: ignore[arg-type]
    panel = view.panels[0]
    panel.connect_button.click()
    return view, panel


def connected(
    pg: Playground, path: str, wait_until: Waiter, **options: object
) -> tuple[Console, SessionPanel]:
    """:func:`press_connect`, then wait until the session shows open."""
    view, panel = press_connect(pg, path, **options)
    wait_until(lambda: "● open" in panel.status.value, what=f"{path} to open; status {panel.status.value!r}")
    return view, panel
