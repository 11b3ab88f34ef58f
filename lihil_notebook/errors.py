"""What the playground raises on purpose. Each message says what was asked, where, and what was expected."""

from __future__ import annotations

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
    """A client session could not do what was asked."""


class SessionConnectError(SessionError):
    """Connecting failed: the handshake was denied (``status``, ``problem``), refused, or timed out."""

    def __init__(self, message: str, *, url: str, status: int | None = None, problem: Any = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.problem = problem


class SessionClosedError(SessionError):
    """The session is closed; ``code`` and ``reason`` are the close frame's (1006 when there was none)."""

    def __init__(self, message: str, *, code: int | None, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
