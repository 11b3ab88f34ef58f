"""Things a session panel does over time: repeated sends and auto-reconnect with back-off.

Both run on the playground's server loop (``loop.call_later``), never sleep on the kernel's thread, and are bounded
by named settings. Their widgets follow the console's rule of one writer: the user's clicks (main thread) only
change the state and ask for a refresh; what the widgets show is written by :meth:`refresh`, which the UI pump
calls on the server thread.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Callable, Sequence

import ipywidgets as widgets

from ..style import button

MAX_REPEAT = 10_000
"""Default largest number of sends one "Repeat" may make."""
MIN_REPEAT_INTERVAL_MS = 10
"""Default shortest interval between repeated sends, in milliseconds."""
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
"""Default back-off of auto-reconnect, in seconds: one delay per attempt, the last one repeated."""
MAX_RECONNECTS = 20
"""Default number of reconnect attempts in a row before auto-reconnect gives up (a success starts again)."""


class Repeater:
    """Send one message every ``every`` ms, ``times`` times, with a Stop (CSS ``lihil-console-repeat*``).

    ``send(message)`` sends one (on the server loop; returns False when it could not, which stops the run);
    ``message()`` reads the compose box on the main thread when Repeat is pressed, or raises ``ValueError``.
    """

    def __init__(
        self,
        call_soon: Callable[[Callable[[], None]], None],
        message: Callable[[], str | bytes],
        send: Callable[[str | bytes], bool],
        request_refresh: Callable[[], None],
        note: Callable[[str], None],
        *,
        max_times: int = MAX_REPEAT,
        min_interval_ms: int = MIN_REPEAT_INTERVAL_MS,
    ) -> None:
        self.max_times, self.min_interval_ms = max_times, min_interval_ms
        self.sent = 0
        self.total = 0
        self._call_soon, self._message, self._send = call_soon, message, send
        self._request_refresh, self._note = request_refresh, note
        self._handle: asyncio.TimerHandle | None = None
        self._running = False
        self._lock = threading.Lock()
        self.every = widgets.BoundedIntText(value=1000, min=min_interval_ms, max=3_600_000,
                                            layout=widgets.Layout(width="72px"), tooltip="every N milliseconds")
        self.every.add_class("lihil-console-repeat-every")
        self.times = widgets.BoundedIntText(value=10, min=1, max=max_times, layout=widgets.Layout(width="64px"),
                                            tooltip="how many times")
        self.times.add_class("lihil-console-repeat-times")
        self.button = button("Repeat", "lihil-console-repeat", lambda _: self._on_click())
        self.progress = widgets.HTML("")
        self.progress.add_class("lihil-console-repeat-progress")

    @property
    def widgets(self) -> Sequence[widgets.Widget]:
        return [self.button, _label("every"), self.every, _label("ms,"), self.times, _label("times"), self.progress]

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> bool:
        """Start repeating the compose box's message; False (with a note) if it cannot be encoded or sent."""
        try:
            message = self._message()
        except ValueError as error:
            self._note(str(error))
            return False
        interval = max(self.min_interval_ms, self.every.value) / 1000
        with self._lock:
            self._running, self.sent, self.total = True, 0, min(self.times.value, self.max_times)
        self._call_soon(lambda: self._tick(message, interval))
        self._request_refresh()
        return True

    def stop(self) -> None:
        with self._lock:
            self._running = False
            handle, self._handle = self._handle, None
        if handle is not None:
            self._call_soon(handle.cancel)
        self._request_refresh()

    def refresh(self) -> None:
        """Show whether a run is going and how far it got. UI pump only."""
        label = "Stop" if self._running else "Repeat"
        if self.button.description != label:
            self.button.description = label
        text = ""
        if self.total:
            text = f"{self.sent} of {self.total} sent" + ("" if self._running or self.sent == self.total else
                                                         " · stopped")
        if self.progress.value != text:
            self.progress.value = html.escape(text)

    def _tick(self, message: str | bytes, interval: float) -> None:  # server loop
        with self._lock:
            if not self._running:
                return
            if not self._send(message):
                self._running = False
            else:
                self.sent += 1
                if self.sent >= self.total:
                    self._running = False
                else:
                    self._handle = asyncio.get_running_loop().call_later(interval, self._tick, message, interval)
        self._request_refresh()

    def _on_click(self) -> None:
        if self._running:
            self.stop()
        else:
            self.start()


class Reconnector:
    """Auto-reconnect (CSS ``lihil-console-auto-reconnect``), off by default: when the server closes the
    session or a connect fails, connect again after the next delay of ``delays``; a session that opens resets
    the back-off; ``max_attempts`` failures in a row give up. :attr:`pending` says what is planned, for the
    status line."""

    def __init__(
        self,
        call_soon: Callable[[Callable[[], None]], None],
        reconnect: Callable[[], None],
        request_refresh: Callable[[], None],
        *,
        delays: Sequence[float] = RECONNECT_DELAYS,
        max_attempts: int = MAX_RECONNECTS,
    ) -> None:
        if not delays or min(delays) <= 0:
            raise ValueError(f"reconnect delays: expected positive seconds, got {list(delays)}")
        self.delays, self.max_attempts = tuple(delays), max_attempts
        self.attempt = 0
        self.pending = ""
        self._call_soon, self._reconnect, self._request_refresh = call_soon, reconnect, request_refresh
        self._handle: asyncio.TimerHandle | None = None
        self.toggle = widgets.Checkbox(value=False, description="auto-reconnect", indent=False,
                                       layout=widgets.Layout(width="auto"))
        self.toggle.add_class("lihil-console-auto-reconnect")
        self.toggle.observe(self._on_toggle, names="value")

    def opened(self) -> None:
        """The session opened: the back-off starts over. Server loop."""
        self.attempt = 0
        self.pending = ""

    def lost(self) -> None:
        """The session ended without the user asking (a server close, a failed connect). Server loop."""
        if not self.toggle.value or self._handle is not None:
            return
        if self.attempt >= self.max_attempts:
            self.pending = f"auto-reconnect gave up after {self.attempt} attempts"
            return
        delay = self.delays[min(self.attempt, len(self.delays) - 1)]
        self.attempt += 1
        self.pending = f"reconnecting in {delay:g} s (attempt {self.attempt} of {self.max_attempts})"
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire)
        self._request_refresh()

    def cancel(self) -> None:
        handle, self._handle = self._handle, None
        self.pending = ""
        if handle is not None:
            self._call_soon(handle.cancel)
        self._request_refresh()

    def _fire(self) -> None:
        self._handle = None
        self.pending = f"reconnecting (attempt {self.attempt} of {self.max_attempts})…"
        self._reconnect()

    def _on_toggle(self, change: dict[str, object]) -> None:
        if not change["new"]:
            self.cancel()


def _label(text: str) -> widgets.HTML:
    view = widgets.HTML(f"<span class='lihil-console-label'>{html.escape(text)}</span>")
    view.add_class("lihil-console-label")
    return view
