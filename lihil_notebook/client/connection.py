"""The seam under a :class:`~.session.Session`: what it needs of a WebSocket connection, whatever carries it.

One owner. A session's connection belongs to one event loop, the *owner loop*: the loop the playground serves on
(the server thread's loop over TCP; the kernel's own loop in-process). Every method below is called on that loop
only, and every callback is made on it; a cell on another thread or loop reaches the connection through the
session, which hands the work to the owner loop (:mod:`.loop_calls`). Nothing here is thread-safe, and nothing
needs to be.

A transport provides two things:

* a :class:`Dialer`: ``await dial(url, headers=..., subprotocols=..., token=..., timeout=..., max_size=...,
  close_timeout=...)`` returns an open :class:`Connection`, or raises :class:`DialFailed` (an HTTP refusal, a
  timeout, a refused TCP connection) and nothing else. ``token`` (the playground's, or None) goes where
  :func:`place_token` puts it; ``url`` as given is the one to show in errors (it never carries the token);
* the :class:`Connection` itself. It delivers nothing until :meth:`Connection.start` is called (the session logs
  "open" first); what arrives before waits. After ``start(on_message, on_closed)``:

  - ``on_message(message, size)`` — each whole message, in order: ``str`` for text, ``bytes`` for binary, with the
    payload's size in bytes; fragmented messages are joined and text is valid UTF-8 (else the transport fails the
    connection with 1007, as the protocol says);
  - ``on_closed(code, reason, by_us)`` — exactly once, when the connection is over: the close code to show (1006
    when no close frame came), the reason, and whether this side started the closing (``close()``, or a failure
    such as 1007/1009 detected here). Nothing is delivered after it.

  ``send(message)`` writes one message (text for ``str``, binary for ``bytes``) in call order: an ``async def``, or
  a plain method returning a finished future when it wrote at once (the session then needs no task). ``ping()``
  resolves to the round-trip time once the pong comes; ``close(code, reason)`` starts the closing handshake and
  returns once the connection is closed (``on_closed`` has been called by then). ``send`` and ``ping`` raise :class:`ConnectionLost`
  once the connection is closing or closed. ``subprotocol`` is what the server accepted.

Implementations: :class:`~.websockets_connection.WebsocketsConnection` (``websockets``' asyncio client over TCP);
the in-process transport provides its own over an in-memory ASGI connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from ..errors import SessionConnectError
from ..wire import TOKEN_QUERY

Message = str | bytes
OnMessage = Callable[[Message, int], None]
OnClosed = Callable[[int, str, bool], None]


class ConnectionLost(Exception):
    """The connection is closing or closed: nothing more can be sent on it."""


class Connection(Protocol):
    """A WebSocket client connection, used on its owner loop only (see the module's docstring)."""

    subprotocol: str | None

    def start(self, on_message: OnMessage, on_closed: OnClosed) -> None: ...

    def send(self, message: Message) -> Awaitable[None]: ...

    async def ping(self) -> float: ...

    async def close(self, code: int, reason: str) -> None: ...


class Dialer(Protocol):
    """Opens a :class:`Connection` on the owner loop (see the module's docstring)."""

    def __call__(self, url: str, *, headers: Mapping[str, str], subprotocols: Sequence[str], token: str | None,
                 timeout: float, max_size: int, close_timeout: float) -> Awaitable[Connection]: ...


def place_token(url: str, headers: Mapping[str, str], token: str | None) -> tuple[str, dict[str, str]]:
    """The URL and headers to dial with: the token as ``Authorization: Bearer``, unless the user sends their own
    Authorization header — then as the query parameter, which the server takes out before the handler sees it."""
    headers = dict(headers)
    if token is not None:
        if any(name.lower() == "authorization" for name in headers):
            url += ("&" if "?" in url else "?") + urlencode({TOKEN_QUERY: token})
        else:
            headers["Authorization"] = f"Bearer {token}"
    return url, headers


class DialFailed(SessionConnectError):
    """The handshake failed; ``kind`` is the log entry it makes ("denied" for an HTTP refusal, else "error").

    Internal: what a cell sees is a plain :class:`~lihil_notebook.errors.SessionConnectError` with the same text."""

    def __init__(self, message: str, *, kind: str, text: str, url: str, status: int | None = None,
                 problem: Any = None, log_text: str | None = None) -> None:
        super().__init__(message, url=url, status=status, problem=problem)
        self.kind, self.text = kind, text
        self.log_text = log_text or text  # for a refusal: the status line and the problem JSON, pretty

    def public(self) -> SessionConnectError:
        """The documented error, with the same message and details (``pg.connect`` raises this one)."""
        return SessionConnectError(str(self), url=self.url, status=self.status, problem=self.problem)
