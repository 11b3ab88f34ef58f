"""What a connection may cost before any check has run: the connection cap, the header-read and idle timeouts.

The edge (:mod:`.edge`) checks requests; these bounds hold before there is a request to check. Without them a
client could hold sockets that never send a complete request head ("slowloris"), or simply open sockets and keep
them idle, until the kernel — which this server lives in — has no file descriptor left for its own work.

:func:`guarded_http` makes uvicorn's h11 protocol class with three bounds, all in :class:`~.thread.ServerSettings`:

* ``max_connections``: open connections (HTTP and WebSocket, counted by uvicorn's own server state) beyond it are
  answered ``503`` with ``Connection: close`` and closed at once, so each costs a descriptor only for an instant.
  The effective cap is also at most half the process's descriptor limit (``RLIMIT_NOFILE``), so the kernel keeps
  descriptors to live on.
* ``header_timeout``: a request head (request line and headers) must be complete within this many seconds of its
  first byte (or of the connection being made); otherwise the client gets ``408`` and the connection is closed.
* ``idle_timeout``: uvicorn's own ``timeout_keep_alive``: a keep-alive connection idle that long is closed.

WebSocket connections are bounded by the handshake timeout (:mod:`.limits`), the message size and the write buffer
(:mod:`.ws_protocol`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


def _answer(status: int, title: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection."""
    body = json.dumps({"type": f"http-{status}", "title": title, "status": status, "detail": detail}).encode()
    return (f"HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


def effective_cap(max_connections: int) -> int:
    """``max_connections``, but at most half the descriptors this process may open."""
    try:
        import resource  # Unix only
    except ImportError:
        return max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return max_connections
    return max(1, min(max_connections, soft // 2))


def guarded_http(max_connections: int, header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the connection cap and the header-read timeout (see the module docstring)."""
    cap = effective_cap(max_connections)
    refused = _answer(503, "Service Unavailable", f"this playground serves at most {cap} connections at once "
                                "(ServerSettings(max_connections=...)); try again when one has closed")
    timed_out = _answer(408, "Request Timeout", f"the request head was not complete within {header_timeout} s "
                                    "(ServerSettings(header_timeout=...))")

    class GuardedH11Protocol(H11Protocol):
        _refused = False
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            if len(self.server_state.connections) >= cap:
                self._refused = True
                transport.write(refused)
                transport.close()
                return
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if not self._refused:
                super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            waiting_for_head = self.cycle is None or self.cycle.response_complete
            if waiting_for_head and self._head_timer is None:
                self._arm()  # the first byte of the next request on a kept-alive connection
            super().data_received(data)
            upgraded = self.transport.get_protocol() is not self
            if upgraded or (self.cycle is not None and not self.cycle.response_complete):
                self._disarm()  # the head is complete (or the connection is a WebSocket now)

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(header_timeout, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return
            if self.cycle is None or self.cycle.response_complete:  # no answer under way: ours is the 408
                self.transport.write(timed_out)
                self.transport.close()

    return GuardedH11Protocol
