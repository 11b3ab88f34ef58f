"""What the playground raises on purpose. Each message says what was asked, where, and what was expected."""

from __future__ import annotations

import os
import traceback
import types
from typing import Any


class PlaygroundError(Exception):
    """Base class of every error lihil_notebook raises on purpose."""


class RouteDefinitionError(PlaygroundError, ValueError):
    """A route could not be mounted (bad path, no handler, a sync handler, a bad parameter...).

    Raised before anything changes: the route table is exactly as it was.
    """


class ServerStartError(PlaygroundError, OSError):
    """The server could not start (the port is in use, the host cannot be bound, startup timed out)."""


class ServerNotRunningError(PlaygroundError, RuntimeError):
    """Something needs the server's event loop while the server is stopped."""


class SessionError(PlaygroundError, ConnectionError):
    """A client session could not do what was asked.

    In IPython the traceback stops at the user's own line: the playground's frames below it (threads, futures, the
    session's plumbing) say nothing about the cause, which the message names.
    """

    def _render_traceback_(self) -> list[str]:  # IPython's hook for an exception's own traceback
        tb = _without_playground_frames(self.__traceback__)
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython calls this hook, so it is there
            get_ipython = None
        shell = get_ipython() if get_ipython is not None else None
        if shell is None:
            return "".join(traceback.format_exception(type(self), self, tb)).splitlines()
        return list(shell.InteractiveTB.structured_traceback(type(self), self, tb))


class SessionConnectError(SessionError):
    """Connecting failed: the handshake was denied (``status``, ``problem``), refused, or timed out."""

    def __init__(self, message: str, *, url: str, status: int | None = None, problem: Any = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.problem = problem


class SessionClosedError(SessionError):
    """The session is closed; ``code`` and ``reason`` are the close frame's (1006 when there was none).

    ``handler_error``: when the route's handler (running in this same kernel) raised, its exception — the message
    names it and the line it came from."""

    def __init__(self, message: str, *, code: int | None, reason: str,
                 handler_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.handler_error = handler_error


_PLAYGROUND = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _without_playground_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """``tb`` without the frames of lihil_notebook's own modules (a new chain; the exception keeps its own)."""
    kept = []
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PLAYGROUND):
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for entry in reversed(kept):
        chain = types.TracebackType(chain, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return chain
