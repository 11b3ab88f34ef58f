"""Dialling the playground: a ``websockets`` client handshake with the session's headers and the playground's
token, and what a failed handshake means (:class:`~lihil_notebook.errors.SessionConnectError`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from ..errors import SessionConnectError
from ..wire import TOKEN_QUERY
from .connection import SessionConnection
from .log import denial_log_text, describe_denial
from .tunnel import redacting_logger


class DialFailed(SessionConnectError):
    """The handshake failed; ``kind`` is the log entry it makes ("denied" for an HTTP refusal, else "error")."""

    def __init__(self, message: str, *, kind: str, text: str, url: str, status: int | None = None,
                 problem: object = None, log_text: str | None = None) -> None:
        super().__init__(message, url=url, status=status, problem=problem)
        self.kind, self.text = kind, text
        self.log_text = log_text or text  # for a refusal: the status line and the problem JSON, pretty


async def dial(
    url: str, *, headers: Mapping[str, str], subprotocols: Sequence[str], token: str | None, timeout: float,
    max_size: int, close_timeout: float,
) -> SessionConnection:
    """Open the connection. The token goes as ``Authorization: Bearer`` unless the user sends their own
    Authorization header — then as the query parameter, which the server takes out before the handler sees it.
    Raises :class:`DialFailed`."""
    shown, headers = url, dict(headers)
    if token is not None:
        if any(name.lower() == "authorization" for name in headers):
            url += ("&" if "?" in url else "?") + urlencode({TOKEN_QUERY: token})
        else:
            headers["Authorization"] = f"Bearer {token}"
    try:
        connection = await connect(
            url, additional_headers=headers, subprotocols=[Subprotocol(p) for p in subprotocols] or None,
            open_timeout=timeout,
            proxy=None,  # 127.0.0.1 must never go through an HTTP(S)_PROXY from the environment
            logger=redacting_logger(),  # DEBUG logs the handshake's headers: never the token
            ping_interval=None, max_size=max_size, close_timeout=close_timeout, compression=None,
            create_connection=SessionConnection,
        )
    except InvalidStatus as exc:
        status, problem, text = describe_denial(exc)
        raise DialFailed(f"{shown}: the server refused the handshake: {text}", kind="denied", text=text, url=shown,
                         status=status, problem=problem, log_text=denial_log_text(exc, problem)) from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        what = "timed out" if isinstance(exc, TimeoutError) else f"failed: {exc}"
        text = f"connecting to {shown} {what}"  # the URL shown never carries the token
        raise DialFailed(text, kind="error", text=text, url=shown) from exc
    return cast(SessionConnection, connection)  # built by create_connection
