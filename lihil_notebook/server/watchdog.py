"""``LoopWatchdog``: notices when a handler blocks the server loop, and says which handler, where, and what to do.

A handler that calls ``time.sleep(2.5)`` or computes for seconds freezes *every* connection of the playground (and
the notebook's own sessions and console, which live on the same loop); without this nothing tells the user why.

A small daemon thread asks the loop to answer a heartbeat (``call_soon_threadsafe``) every ``threshold / 2``
seconds. When an answer is ``threshold`` late, it samples the server thread's stack (``sys._current_frames``),
finds the innermost frame of the user's code and the handler it runs in, and reports once per stall:
``"the server loop was blocked ≥ 0.5 s by echo (route /echo/{room}) at Cell In[5], line 4: time.sleep(2.5); use
await asyncio.sleep(...) ..."``. When the loop answers again, the stall's length is reported too. The thread costs
one wake-up per half threshold; it stops with the server.
"""

from __future__ import annotations

import asyncio
import linecache
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType

from .connections import is_plumbing, label

ADVICE = ("in a handler, wait with `await asyncio.sleep(...)`, and run blocking or CPU-heavy work with "
          "`await asyncio.to_thread(fn, ...)`")


class LoopWatchdog:
    """Watches ``loop`` (run by ``thread``); ``report(text, handler_code)`` gets each stall, ``handler_code`` being
    the code object of the outermost user function on the stack (a route's handler, or None)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        threshold: float,
        report: Callable[[str, CodeType | None], None],
        describe_handler: Callable[[CodeType], str | None] = lambda code: None,
    ) -> None:
        if threshold <= 0:
            raise ValueError(f"blocked_loop_warning: expected a positive number of seconds, got {threshold}")
        self._loop, self._server_thread, self.threshold = loop, thread, threshold
        self._report, self._describe = report, describe_handler
        self._stop = threading.Event()
        self._answered = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lihil-playground-watchdog", daemon=True)
        self.stalls = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(self.threshold + 1.0)

    def _watch(self) -> None:
        period = self.threshold / 2
        while not self._stop.wait(period):
            if not self._server_thread.is_alive():
                return
            self._answered.clear()
            sent = time.monotonic()
            try:
                self._loop.call_soon_threadsafe(self._answered.set)
            except RuntimeError:  # the loop is closed
                return
            if self._answered.wait(self.threshold) or self._stop.is_set():
                continue
            self.stalls += 1
            text, code = self._describe_stall()
            self._report(text, code)
            while not self._answered.wait(period):  # one report per stall, then wait for the loop to come back
                if self._stop.is_set() or not self._server_thread.is_alive():
                    return
            self._report(f"the server loop is running again after {time.monotonic() - sent:.1f} s", code)

    def _describe_stall(self) -> tuple[str, CodeType | None]:
        frame = sys._current_frames().get(self._server_thread.ident or -1)
        user_frames = _user_frames(frame)
        head = f"the server loop was blocked for more than {self.threshold:g} s"
        if not user_frames:
            return f"{head} (not in a handler of this notebook); {ADVICE}", None
        inner = user_frames[-1]
        # The handler: the outermost frame that runs a mounted handler's code, else the outermost user frame.
        outer = next((f for f in user_frames if self._describe(f.f_code)), user_frames[0])
        handler = self._describe(outer.f_code) or f"{outer.f_code.co_name}()"
        line = linecache.getline(inner.f_code.co_filename, inner.f_lineno).strip()
        where = f"{label(inner.f_code.co_filename)}, line {inner.f_lineno}" + (f": {line}" if line else "")
        return f"{head} by {handler} at {where}; {ADVICE}", outer.f_code


def _user_frames(frame: FrameType | None) -> list[FrameType]:
    """The stack's frames of user code (not asyncio, uvicorn, lihil, ...), outermost first."""
    frames = []
    while frame is not None:
        if not is_plumbing(frame.f_code.co_filename):
            frames.append(frame)
        frame = frame.f_back
    return frames[::-1]
