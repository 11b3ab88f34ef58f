"""What one request may cost the kernel: the body size of an HTTP request, the time a WebSocket handshake may take.

Both are enforced in the ASGI receive/send path, in front of the app, so no handler and no framework code has to
remember them:

* ``max_body_size``: a ``Content-Length`` over the limit is answered 413 before anything is read; a body that
  streams in (chunked) is counted as it arrives and the request is answered 413 the moment it passes the limit
  (Starlette's ``request.body()`` would otherwise buffer it all in memory).
* ``handshake_timeout``: a WebSocket handler that neither accepts nor denies the handshake in time is cancelled, the
  client gets a 503 problem+json response instead of waiting forever, and ``on_timeout`` (the route's errors) is
  told why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The request body passed ``max_body_size`` while it was being read."""


class LimitedRequest:
    """One request through ``app`` with the limits applied (and ``set_cookie`` added to an HTTP response)."""

    __slots__ = ("_app", "_cookie", "_handshake_timeout", "_max_body_size", "_on_timeout")

    def __init__(
        self, app: ASGIApp, *, max_body_size: int, handshake_timeout: float,
        on_timeout: Callable[[Scope, str], None], set_cookie: bytes | None,
    ) -> None:
        self._app, self._on_timeout, self._cookie = app, on_timeout, set_cookie
        self._max_body_size, self._handshake_timeout = max_body_size, handshake_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self._websocket(scope, receive, send)

    # --- HTTP: the body ------------------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._max_body_size
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _problem(send, 413, f"the request body is {declared} bytes; this playground accepts at most "
                                      f"{limit} (ServerSettings(max_body_size=...))", scope)
            return
        started = overflow = False
        seen = 0
        cookie = self._cookie

        async def counting_receive() -> Message:
            nonlocal seen, overflow
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    overflow = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if overflow:
                return  # the app's own answer to the error (lihil's 500): ours is the 413 below
            if message["type"] == "http.response.start":
                started = True
                if cookie is not None:
                    message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        try:
            await self._app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _problem(send, 413, f"the request body passed {limit} bytes while it was being read; this "
                                          "playground accepts at most that (ServerSettings(max_body_size=...))", scope)

    # --- WebSocket: the handshake ----------------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        timeout = self._handshake_timeout
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        state = {"decided": False, "timed_out": False}

        def expire() -> None:
            if not state["decided"] and task is not None:
                state["timed_out"] = True
                task.cancel()

        timer = loop.call_later(timeout, expire)

        def deciding_send(message: Message) -> Awaitable[None]:
            # A plain function handing back send's own awaitable: after the handshake every message passes
            # through here, and this adds no coroutine of its own to the per-message path.
            if not state["decided"] and message["type"] in (
                    "websocket.accept", "websocket.close", "websocket.http.response.start"):
                state["decided"] = True
                timer.cancel()
            return send(message)

        try:
            await self._app(scope, receive, deciding_send)
        except asyncio.CancelledError:
            if not state["timed_out"] or task is None:
                raise
            task.uncancel()
            text = (f"the handler did not accept or refuse the handshake within handshake_timeout={timeout} s, so "
                    "it was cancelled and the client was answered 503; call `await ws.accept()` (or raise to "
                    "refuse) before waiting on anything else")
            self._on_timeout(scope, text)
            await _deny(scope, send, 503, text)
        finally:
            timer.cancel()


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _body(status: int, detail: str, scope: Scope) -> tuple[list[tuple[bytes, bytes]], bytes]:
    title = {413: "Content Too Large", 503: "Service Unavailable"}.get(status, "Error")
    problem: dict[str, Any] = {"type": f"http-{status}", "title": title, "status": status, "detail": detail,
                               "instance": scope.get("root_path", "") + scope["path"]}
    body = msgspec.json.encode(problem)
    return [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")], body


async def _problem(send: Send, status: int, detail: str, scope: Scope) -> None:
    headers, body = _body(status, detail, scope)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _deny(scope: Scope, send: Send, status: int, detail: str) -> None:
    headers, body = _body(status, detail, scope)
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1013, "reason": "handshake timeout"})
