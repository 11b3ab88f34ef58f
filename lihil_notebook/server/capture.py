"""Per-connection ``print()``: ``sys.stdout``/``sys.stderr`` proxies that dispatch on a context variable.

A handler's ``print`` runs on the server thread while some unrelated cell may be running; ipykernel would show the
text in that cell. ``contextlib.redirect_stdout`` cannot help: it swaps ``sys.stdout`` for the whole process, so
the running cell's own prints would vanish into the handler's log. Instead ``sys.stdout`` becomes a thin proxy that
asks a :class:`~contextvars.ContextVar` where the text goes. The server sets that variable for each connection
(contextvars are per task, and copied into the tasks and worker threads a handler starts), so text written while
serving a connection goes to that connection's sink and everything else goes where it always went.
"""

from __future__ import annotations

import sys
import threading
from contextvars import ContextVar
from typing import Any, Protocol, TextIO


class OutputSink(Protocol):
    """Where a connection's printed text goes."""

    def write_output(self, text: str) -> None: ...


output_sink: ContextVar[OutputSink | None] = ContextVar("lihil_notebook_output_sink", default=None)
"""The sink of the connection being served in this context; None outside any connection."""

_install_lock = threading.Lock()
_MARK = "_lihil_notebook_routed_stream"


class RoutedStream:
    """Stands in for ``sys.stdout``/``sys.stderr``: text goes to the current connection's sink, else to ``target``."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        setattr(self, _MARK, True)

    @property
    def target(self) -> TextIO:
        return self._target

    def write(self, text: str) -> int:
        sink = output_sink.get()
        if sink is None:
            return self._target.write(text)
        sink.write_output(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if output_sink.get() is None:
            self._target.flush()

    def __getattr__(self, name: str) -> Any:
        # Everything else (encoding, isatty, fileno, ipykernel's own attributes) is the real stream's.
        return getattr(self._target, name)


def install() -> None:
    """Put routed proxies in front of ``sys.stdout`` and ``sys.stderr`` (idempotent, cheap when already there).

    Called as each connection starts, so a stream swapped in later (pytest's capture, a ``%%capture`` cell) gets
    a proxy of its own in front of it.
    """
    if getattr(sys.stdout, _MARK, False) and getattr(sys.stderr, _MARK, False):
        return
    with _install_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not getattr(stream, _MARK, False):
                setattr(sys, name, RoutedStream(stream))


def uninstall() -> None:
    """Give ``sys.stdout``/``sys.stderr`` back their real streams, if our proxies are still the ones installed."""
    with _install_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if getattr(stream, _MARK, False):
                setattr(sys, name, stream.target)


def is_installed() -> bool:
    return bool(getattr(sys.stdout, _MARK, False))
