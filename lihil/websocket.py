"""``WebSocketRoute``: one async handler per path, and the lifecycle of each connection.

A connection goes: read and validate the handshake's path/query/header/cookie values (refuse the handshake with a
problem+json denial if any is bad) -> resolve dependencies -> run the handler -> close.

* The handler raises after accept: the client gets close 1011, then the exception propagates out of the ASGI app
  (the server logs it; Starlette's TestClient re-raises it). Nothing is sent after the close.
* The handler returns without closing: the framework closes with 1000, so no client is left hanging.
* The client already left: closing is a quiet no-op, so a resource factory's ``await ws.close()`` after ``yield``
  is always safe.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, cast

from ididi import Graph
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .errors import NotSupportedError
from .problems import PROBLEM_CONTENT_TYPE, InvalidRequestErrors, ValidationProblem, problem_body
from .routing import MiddlewareFactory, RouteBase, build_middleware_chain
from .signature import EndpointSignature, close_resources, parse_signature

WebSocketHandler = Callable[..., Coroutine[Any, Any, Any]]

DENIAL_STATUS = 400
"""HTTP status of a handshake refused because of bad path/query/header/cookie values."""
POLICY_VIOLATION = 1008
"""Close code used instead of a denial response where the server cannot send one."""


class WebSocketRoute(RouteBase):
    """A path served by one async WebSocket handler.

    >>> route = WebSocketRoute("/chat/{room}")
    >>> @route.endpoint          # or @route.ws_handler (the older name)
    ... async def chat(ws: WebSocket, room: str, user: str = "anon"): ...

    Registering another handler replaces the first. Once the route is part of an app that serves, the new handler
    is checked at once and used from the next connection on; connections already open keep the one they started with.
    """

    def __init__(
        self, path: str = "", *, graph: Graph | None = None, middlewares: list[MiddlewareFactory] | None = None
    ) -> None:
        super().__init__(path, graph=graph, middlewares=middlewares)
        self._func: WebSocketHandler | None = None
        self._props: dict[str, Any] = {}
        self._endpoint: WebSocketEndpoint | None = None
        self._app: ASGIApp | None = None

    def __repr__(self) -> str:
        handler = f"WebSocketEndpoint({self.path!r} {self._func!r})" if self._func else "None"
        return f"WebSocketRoute({self.path!r}, {handler})"

    # --- registering the handler --------------------------------------------------------------------------------

    def endpoint(self, func: WebSocketHandler | None = None, **props: Any) -> Any:
        """Register ``func`` as this route's handler (replacing any previous one) and return it unchanged."""
        if func is None or not inspect.iscoroutinefunction(func):
            name = getattr(func, "__qualname__", repr(func))
            raise NotSupportedError(
                f"sync function is not supported for websocket: {self!r} got {name}; declare it with `async def`"
            )
        if self.is_setup:
            # Build the new endpoint fully before swapping it in, so a bad handler changes nothing.
            self._install(func, props, self.graph)
        self._func, self._props = func, props
        self.serves = True
        return func

    ws_handler = endpoint

    @property
    def handler(self) -> WebSocketHandler | None:
        return self._func

    @property
    def sig(self) -> EndpointSignature:
        """The parsed signature of the current handler (reads it now if the route is not set up yet)."""
        if self._endpoint is not None:
            return self._endpoint.sig
        if self._func is None:
            raise RuntimeError(f"{self!r} has no handler")
        return parse_signature(self._func, path_keys=self.path_keys, graph=self.graph, websocket=True,
                               where=f"WebSocketRoute({self.path!r})")

    def copy_endpoints_from(self, other: WebSocketRoute) -> None:
        if other._func is not None:
            self.endpoint(other._func, **other._props)

    # --- setup and serving ----------------------------------------------------------------------------------------

    def setup(self, graph: Graph | None = None, workers: Any = None) -> None:
        if self._func is None:
            raise RuntimeError(f"Empty {self!r} without any registered endpoint")
        if graph is not None:
            self.graph = graph
        self._install(self._func, self._props, self.graph)
        self.is_setup = True

    def _install(self, func: WebSocketHandler, props: dict[str, Any], graph: Graph) -> None:
        sig = parse_signature(func, path_keys=self.path_keys, graph=graph, websocket=True,
                              where=f"WebSocketRoute({self.path!r})")
        endpoint = WebSocketEndpoint(self.path, func, sig, graph)
        app = build_middleware_chain(self.middle_factories, endpoint, repr(self))
        self._endpoint, self._app = endpoint, app  # one assignment each: readers see old or new, never half

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:
            if self._func is None:
                raise RuntimeError(f"WebSocketRoute({self.path}) not setup")
            self.setup()  # lazily, e.g. a handler registered after the route was included
            app = self._app
            assert app is not None
        await app(scope, receive, send)


UNSUPPORTED_DATA = 1003
"""Close code for a message of the wrong kind: a binary frame where text was expected, or the reverse."""


class Connection(WebSocket):
    """The ``WebSocket`` a handler gets: Starlette's, with two differences.

    * ``close()`` is safe to call again or after the client has gone.
    * A message of the wrong kind — binary where ``receive_text()`` / ``iter_text()`` / ``receive_json()``
      expects text, or text where ``receive_bytes()`` / ``iter_bytes()`` / ``receive_json(mode="binary")``
      expects binary — closes the connection with 1003 and a reason such as "expected a text message, got
      binary", then raises ``WebSocketDisconnect(1003, reason)``: the handler ends as if the client had closed
      (``iter_*`` simply stop), where Starlette's class would raise ``KeyError: 'text'`` from the handler.
    """

    # receive_text and receive_bytes run once per message: each is spelled out in full (no helper call) and
    # the wrong kind of message is the only path that costs more than Starlette's.

    async def receive_text(self) -> str:
        if self.application_state != WebSocketState.CONNECTED:
            return await super().receive_text()  # Starlette's own error for "accept first" / "closed"
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))
        text = message.get("text")
        if text is None:
            await self._refuse("text", "binary")
        return cast(str, text)

    async def receive_bytes(self) -> bytes:
        if self.application_state != WebSocketState.CONNECTED:
            return await super().receive_bytes()
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))
        data = message.get("bytes")
        if data is None:
            await self._refuse("binary", "text")
        return cast(bytes, data)

    async def receive_json(self, mode: str = "text") -> Any:
        if mode not in ("text", "binary") or self.application_state != WebSocketState.CONNECTED:
            return await super().receive_json(mode)
        if mode == "text":
            return json.loads(await self.receive_text())
        return json.loads((await self.receive_bytes()).decode("utf-8"))

    async def _refuse(self, expected: str, got: str) -> NoReturn:
        """Close with 1003, then end the handler the way a client's close would."""
        reason = f"expected a {expected} message, got {got}"
        await self.close(UNSUPPORTED_DATA, reason)
        raise WebSocketDisconnect(UNSUPPORTED_DATA, reason)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        if WebSocketState.DISCONNECTED in (self.application_state, self.client_state):
            return
        if self.application_state == WebSocketState.RESPONSE:
            return
        try:
            await super().close(code, reason)
        except WebSocketDisconnect:
            pass  # the peer is gone; there is nobody to tell


# It is the ``WebSocket`` a handler annotates: errors name it so ("'WebSocket' object has no attribute 'send_txt'").
Connection.__name__ = Connection.__qualname__ = "WebSocket"


class WebSocketEndpoint:
    """Serves one connection with one handler."""

    def __init__(self, path: str, func: WebSocketHandler, sig: EndpointSignature, graph: Graph) -> None:
        self.path, self.func, self.sig, self.graph = path, func, sig, graph

    def __repr__(self) -> str:
        return f"WebSocketEndpoint({self.path!r} {self.func!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ws = Connection(scope, receive, send)
        values, problems = self.sig.read(ws)
        if problems:
            await deny(ws, problems)
            return

        if self.sig.scoped:
            async with self.graph.ascope() as resolver:
                failure = await self._run(ws, values, resolver)
        else:
            failure = await self._run(ws, values, self.graph)
        if failure is not None:
            raise failure
        if ws.application_state is not WebSocketState.DISCONNECTED:
            await ws.close(1000)

    async def _run(self, ws: Connection, values: dict[str, Any], resolver: Any) -> Exception | None:
        """Run the handler; return (not raise) its exception, after closing 1011 and finishing resources.

        Resources finish normally even after a failure: factories run their code after `yield`.
        """
        failure: Exception | None = None
        resources: list[Any] = []
        try:
            kwargs = await self.sig.arguments(resolver, values, ws, resources)
            await self.func(**kwargs)
        except WebSocketDisconnect:
            pass  # the client left; that is how most conversations end
        except Exception as exc:
            failure = exc
            await fail(ws)
        if resources:
            await close_resources(resources)
        return failure


async def fail(ws: WebSocket) -> None:
    """Tell the client the server failed: close 1011 once accepted, a 500 refusal before (a close before accept
    would read as 403 Forbidden)."""
    if ws.application_state == WebSocketState.CONNECTING and "websocket.http.response" in ws.scope.get("extensions", {}):
        await send_denial(ws.send, 500, b"Internal Server Error", b"text/plain; charset=utf-8")
    else:
        await ws.close(1011, "Internal Server Error")


async def send_denial(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    """Refuse a handshake with an HTTP response (the ASGI ``websocket.http.response`` extension)."""
    await send({
        "type": "websocket.http.response.start", "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "websocket.http.response.body", "body": body})


async def deny(ws: WebSocket, problems: list[ValidationProblem]) -> None:
    """Refuse the handshake, naming every bad parameter."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        body = problem_body(problems, ws.url.path, DENIAL_STATUS)
        await send_denial(ws.send, DENIAL_STATUS, body, PROBLEM_CONTENT_TYPE.encode())
    else:
        reason = InvalidRequestErrors(problems).summary()
        await ws.close(POLICY_VIOLATION, _fit_close_reason(reason))


def _fit_close_reason(reason: str, limit: int = 123) -> str:
    """A close reason may hold at most 123 UTF-8 bytes."""
    encoded = reason.encode()
    if len(encoded) <= limit:
        return reason
    return encoded[: limit - 3].decode(errors="ignore") + "..."
