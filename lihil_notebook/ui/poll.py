"""Update modes: widgets updated from the server thread ("push"), or pulled by the front end ("poll").

JupyterLab, Notebook 7 and VS Code show widget changes made from any thread. Google Colab does not deliver them
until the kernel next handles a message from the page (googlecolab/colabtools#3373). In "poll" mode the page
asks instead: a hidden :class:`PollTicker` sends a comm message every ``interval_ms`` while it is ``active``, and
the kernel applies pending changes in the handler of that message, on its main thread. :func:`update_mode`
picks "poll" automatically in Colab.
"""

from __future__ import annotations

import importlib.util
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anywidget
import traitlets

UpdateMode = Literal["push", "poll"]
UPDATE_MODES = ("auto", "push", "poll")
POLL_INTERVAL_MS = 150
"""How often the front end asks for updates while a session (or a tunnelled socket) is open."""


def update_mode(updates: str) -> UpdateMode:
    """``"push"`` or ``"poll"`` for the ``updates`` argument ("auto": poll in Google Colab, else push)."""
    if updates not in UPDATE_MODES:
        raise ValueError(f"updates: expected one of {', '.join(map(repr, UPDATE_MODES))}, got {updates!r}")
    if updates == "auto":
        return "poll" if in_colab() else "push"
    return "poll" if updates == "poll" else "push"


def in_colab() -> bool:
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


class PollTicker(anywidget.AnyWidget):
    """Invisible; while ``active`` the page asks every ``interval_ms`` and ``on_poll()`` runs on the main thread."""

    _esm = Path(__file__).parent / "static" / "poll.js"
    active = traitlets.Bool(False).tag(sync=True)
    interval_ms = traitlets.Int(POLL_INTERVAL_MS).tag(sync=True)

    def __init__(self, on_poll: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.polls = 0
        self._on_poll = on_poll
        self.on_msg(self._handle)

    def _handle(self, _: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("op") == "poll":
            self.polls += 1
            self._on_poll()


class PollingPump:
    """The console's UI pump in "poll" mode: the same interface as :class:`~.console.UiPump` (``request``,
    ``flushes``, ``errors``), but flushes run only in answer to the page's polls, on the kernel's main thread.

    ``active()`` says whether polling is needed (a session connecting or open). The ticker starts when a change is
    requested from the main thread (a Connect click) and stops after ``IDLE_POLLS`` polls with nothing live.
    """

    IDLE_POLLS = 3

    def __init__(self, flush: Callable[[], None], *, active: Callable[[], bool]) -> None:
        self.flushes = 0
        self.errors: list[str] = []
        self.ticker = PollTicker(self.poll)
        self._flush, self._active = flush, active
        self._dirty = False
        self._idle = 0
        self._lock = threading.Lock()

    def request(self) -> None:
        """Note that something changed; the next poll shows it. Thread-safe and cheap."""
        self._dirty = True
        if threading.current_thread() is threading.main_thread():
            self._idle = 0
            self.ticker.active = True

    def poll(self) -> None:
        """Apply what changed since the last poll (the ticker calls this on the main thread)."""
        with self._lock:
            if self._dirty:
                self._dirty = False
                self.flushes += 1
                try:
                    self._flush()
                except Exception:  # keep polling; the console shows what went wrong
                    self.errors = [*self.errors[-4:], traceback.format_exc()]
            if self._dirty or self._active():
                self._idle = 0
            else:
                self._idle += 1
            self.ticker.active = self._idle < self.IDLE_POLLS
