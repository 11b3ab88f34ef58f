"""``LocalClient``: lihil's in-process HTTP test client — call an app, a route or one endpoint, no server.

>>> client = LocalClient()
>>> result = await client.call_app(app, "GET", "/users/{user_id}", path_params={"user_id": 1})
>>> result.status_code, await result.json()

Where it differs from Starlette's ``TestClient``: it is ``async`` (await it from an async test or a notebook
cell), it can call a single ``Route`` or ``Endpoint`` without an app, and it speaks HTTP only. Use ``TestClient``
for WebSockets.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import quote, urlencode
from uuid import uuid4

import msgspec
from ididi import Graph

from .errors import LihilError
from .http import Endpoint, Route

HTTPMethod = Literal["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
ASGICallable = Callable[..., Any]
FormValue = str | bytes | tuple[str, bytes] | tuple[str, bytes, str]


class RequestResult:
    """What the app answered: ``status_code``, ``headers`` (lower-case names; the last of repeated ones) and the
    body, read with ``await body()``, ``text()``, ``json()`` or chunk by chunk with ``stream()``,
    ``stream_text()`` and ``stream_json()`` (one JSON value per line)."""

    def __init__(self, status_code: int, headers: Mapping[str, str], body_chunks: Sequence[bytes] = ()) -> None:
        self.status_code = status_code
        self.headers = dict(headers)
        self.body_chunks = list(body_chunks)

    def __repr__(self) -> str:
        return f"RequestResult(status_code={self.status_code}, headers={self.headers!r})"

    async def body(self) -> bytes:
        return b"".join(self.body_chunks)

    async def text(self) -> str:
        return (await self.body()).decode(self.charset)

    async def json(self) -> Any:
        return msgspec.json.decode(await self.body())

    async def stream(self) -> AsyncIterator[bytes]:
        """The body as the app sent it, one ``http.response.body`` message per chunk."""
        for chunk in self.body_chunks:
            yield chunk

    async def stream_text(self) -> AsyncIterator[str]:
        async for chunk in self.stream():
            yield chunk.decode(self.charset)

    async def stream_json(self) -> AsyncIterator[Any]:
        """Line-delimited JSON: each non-empty line of the body is one value (lines may span chunks)."""
        pending = ""
        async for text in self.stream_text():
            pending += text
            *lines, pending = pending.split("\n")
            for line in lines:
                if line.strip():
                    yield msgspec.json.decode(line)
        if pending.strip():
            yield msgspec.json.decode(pending)

    @property
    def charset(self) -> str:
        """The ``charset=`` of the content type; UTF-8 if none is given."""
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip("\"'")
        return "utf-8"

    @property
    def is_chunked(self) -> bool:
        return self.headers.get("transfer-encoding", "").lower() == "chunked"

    @property
    def is_streaming(self) -> bool:
        """True for a chunked response or one the app sent in several body messages."""
        return self.is_chunked or len(self.body_chunks) > 1


class LocalClient:
    """Calls ASGI apps, ``Route`` objects and ``Endpoint`` objects in-process, over plain ASGI messages.

    ``headers`` are sent with every request (plus ``user-agent: lihil-test-client``). Routes and endpoints called
    without an app are set up with ``graph`` (a fresh one by default), into which their own graph is merged.
    ``max_thread_workers`` is accepted for lihil compatibility; sync handlers run in Starlette's thread pool.
    """

    def __init__(
        self,
        *,
        client_type: Literal["http"] = "http",
        headers: dict[str, str] | None = None,
        graph: Graph | None = None,
        max_thread_workers: int | None = None,
    ) -> None:
        if client_type != "http":
            raise ValueError(f"LocalClient(client_type={client_type!r}): only 'http' is supported; "
                             "use lihil.vendors.TestClient for WebSockets")
        self.client_type = client_type
        self.base_headers: dict[str, str] = {"user-agent": "lihil-test-client", **(headers or {})}
        self._graph = graph or Graph(self_inject=False)
        self.max_thread_workers = max_thread_workers

    def update_headers(self, headers: dict[str, str]) -> None:
        self.base_headers.update(headers)

    # --- one request ------------------------------------------------------------------------------------------------

    async def request(
        self,
        app: ASGICallable,
        method: str,
        path: str,
        path_params: dict[str, Any] | None = None,
        query_string: bytes | str | None = None,
        query_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        multi_headers: list[tuple[str, str]] | None = None,
        body: Any = None,
        stream: bool = False,
    ) -> RequestResult:
        """Send one request to ``app`` (no lifespan) and collect its response.

        ``path_params`` fill the ``{name}`` placeholders of ``path`` and are given to the app as
        ``scope["path_params"]``. ``query_params`` are URL-encoded (a list value repeats the key) after
        ``query_string`` (bytes or str, already encoded). ``body``: bytes are sent as they are, anything else is encoded as JSON (a ``str``
        becomes a JSON string). ``stream`` is accepted for lihil compatibility: the chunks are always kept, so
        ``stream()`` works on every result.
        """
        params = {name: str(value) for name, value in (path_params or {}).items()}
        for name, value in params.items():
            path = path.replace(f"{{{name}}}", value)
        query = query_string.encode() if isinstance(query_string, str) else query_string or b""
        if query_params:
            encoded = urlencode(query_params, doseq=True).encode()
            query = query + b"&" + encoded if query else encoded

        raw = _encode_body(body)
        sent_headers = {**self.base_headers, **(headers or {})}
        if body is not None and not isinstance(body, bytes | bytearray):
            sent_headers.setdefault("content-type", "application/json")
        asgi_headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in sent_headers.items()]
        asgi_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in multi_headers or ()]
        if raw and not any(k == b"content-length" for k, _ in asgi_headers):
            asgi_headers.append((b"content-length", str(len(raw)).encode()))

        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
            "method": method.upper(), "scheme": "http", "path": path, "raw_path": quote(path).encode(),
            "root_path": "", "query_string": query, "headers": asgi_headers, "client": ("127.0.0.1", 12345),
            "server": ("testserver", 80), "path_params": params, "state": {}, "extensions": {},
        }
        status: int | None = None
        response_headers: dict[str, str] = {}
        chunks: list[bytes] = []
        finished = asyncio.Event()
        request_sent = False

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await finished.wait()  # the client "disconnects" once the response is complete
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    response_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                if chunk := message.get("body", b""):
                    chunks.append(bytes(chunk))
                if not message.get("more_body", False):
                    finished.set()

        try:
            await app(scope, receive, send)
        finally:
            finished.set()
        if status is None:
            raise LihilError(f"LocalClient: {app!r} returned without sending a response to {method.upper()} {path}")
        return RequestResult(status, response_headers, chunks)

    # --- apps, routes, endpoints ------------------------------------------------------------------------------------

    async def call_app(
        self,
        app: ASGICallable,
        method: str,
        path: str,
        path_params: dict[str, Any] | None = None,
        query_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> RequestResult:
        """Start ``app``'s lifespan, send one request, then shut the lifespan down, as a server would.

        A lifespan that fails raises :class:`~lihil.errors.LihilError` with the app's traceback text.
        """
        async with self._lifespan(app):
            return await self.request(app, method, path, path_params=path_params, query_params=query_params,
                                      headers=headers, body=body)

    async def send_app_lifespan(self, app: ASGICallable) -> None:
        """Run ``app``'s lifespan startup then shutdown (sets a Lihil app up); a failure raises ``LihilError``."""
        async with self._lifespan(app):
            pass

    async def call_route(
        self,
        route: Route,
        method: str,
        path_params: dict[str, Any] | None = None,
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> RequestResult:
        """Set ``route`` up with this client's graph and send it one request at its own path."""
        self._setup(route)
        return await self.request(route, method, route.path, path_params=path_params, query_params=query_params,
                                  headers=headers, body=body)

    async def call_endpoint(
        self,
        ep: Endpoint,
        path_params: dict[str, Any] | None = None,
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> RequestResult:
        """Send one request straight to ``ep`` (its route's middlewares are skipped)."""
        return await self.request(ep, ep.method, ep.path, path_params=path_params, query_params=query_params,
                                  headers=headers, body=body)

    async def make_endpoint(
        self, f: Callable[..., Any], method: HTTPMethod = "GET", path: str = "", **props: Any
    ) -> Endpoint:
        """``f`` as an endpoint of a new route at ``path``, set up with this client's graph."""
        route = Route(path, graph=self._graph, **props)
        route.add_endpoint(method, func=f)
        route.setup(graph=self._graph)
        return route.get_endpoint(method)

    async def submit_form(
        self,
        app: ASGICallable,
        form_data: dict[str, FormValue | list[FormValue]],
        method: HTTPMethod | None = None,
        path: str | None = None,
        path_params: dict[str, Any] | None = None,
        query_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> RequestResult:
        """Send ``form_data`` as ``multipart/form-data``: a str or bytes is a field, a ``(filename, data)`` or
        ``(filename, data, content_type)`` tuple is a file, a list repeats the field. ``app`` is anything
        ``__call__`` accepts."""
        boundary = f"lihil-form-{uuid4().hex}"
        body = _multipart(form_data, boundary)
        sent = {**(headers or {}), "content-type": f"multipart/form-data; boundary={boundary}"}
        return await self(app, method=method, path=path, path_params=path_params, query_params=query_params,
                          body=body, headers=sent)

    async def __call__(
        self,
        app: ASGICallable | Route | Endpoint,
        method: str | None = None,
        path: str | None = None,
        path_params: dict[str, Any] | None = None,
        query_params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> RequestResult:
        """Call an ``Endpoint`` (its own method and path), a ``Route`` (``method`` needed) or an ASGI app
        (``method`` and ``path`` needed)."""
        if isinstance(app, Endpoint):
            return await self.call_endpoint(app, path_params=path_params, query_params=query_params, body=body,
                                            headers=headers)
        if isinstance(app, Route):
            if not method:
                raise TypeError(f"LocalClient({app!r}): a route needs the method to call, e.g. method='GET'")
            return await self.call_route(app, method, path_params=path_params, query_params=query_params,
                                         body=body, headers=headers)
        if _is_asgi_app(app):
            if not method or not path:
                raise TypeError(f"LocalClient({app!r}): an app needs method and path, e.g. method='GET', path='/'")
            return await self.call_app(app, method, path, path_params=path_params, query_params=query_params,
                                       headers=headers, body=body)
        raise TypeError(f"LocalClient: expected an ASGI app, a Route or an Endpoint, got {type(app).__name__}")

    # --- helpers ------------------------------------------------------------------------------------------------

    def _setup(self, route: Route) -> None:
        if route.graph is not self._graph:
            self._graph.merge(route.graph)
        route.setup(graph=self._graph)

    @asynccontextmanager
    async def _lifespan(self, app: ASGICallable) -> AsyncIterator[None]:
        """Run ``app``'s lifespan around the body of the ``with``, over ASGI lifespan messages."""
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def send(message: dict[str, Any]) -> None:
            await replies.put(message)

        await inbox.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.4"}, "state": {}}
        task = asyncio.ensure_future(app(scope, inbox.get, send))
        reply = await _first(replies, task)
        if reply is None:  # the app raised without a word: it has no lifespan, as ASGI allows
            task.exception()  # retrieved: asyncio would otherwise log it as never retrieved
            yield
            return
        if reply["type"] == "lifespan.startup.failed":
            cause = (await asyncio.gather(task, return_exceptions=True))[0]
            raise LihilError(reply.get("message", "lifespan startup failed")) from (
                cause if isinstance(cause, BaseException) else None)
        try:
            yield
        finally:
            await inbox.put({"type": "lifespan.shutdown"})
            reply = await _first(replies, task)
            outcome = (await asyncio.gather(task, return_exceptions=True))[0]
            if reply is not None and reply["type"] == "lifespan.shutdown.failed":
                raise LihilError(reply.get("message", "lifespan shutdown failed"))
            if isinstance(outcome, BaseException):
                raise outcome


async def _first(replies: asyncio.Queue[dict[str, Any]], task: asyncio.Future[Any]) -> dict[str, Any] | None:
    """The app's next lifespan message, or None if its lifespan call ended first."""
    getter = asyncio.ensure_future(replies.get())
    await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    return None


def _is_asgi_app(app: Any) -> bool:
    # An `async def app(scope, receive, send)` function, or an object with an `async def __call__`.
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__)


def _encode_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return msgspec.json.encode(body)


def _multipart(form_data: Mapping[str, FormValue | list[FormValue]], boundary: str) -> bytes:
    parts: list[bytes] = []
    for name, values in form_data.items():
        for value in values if isinstance(values, list) else [values]:
            disposition = f'form-data; name="{_quoted(name)}"'
            head = ""
            if isinstance(value, tuple):
                filename, data, *content_type = value
                disposition += f'; filename="{_quoted(filename)}"'
                head = f"Content-Type: {content_type[0] if content_type else 'application/octet-stream'}\r\n"
            else:
                data = value.encode() if isinstance(value, str) else value
            parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{head}\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")
