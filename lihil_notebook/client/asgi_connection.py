"""The in-process transport of a session: a :class:`~.connection.Connection` that calls the ASGI app directly.

No socket, no frames: the session's owner loop (the kernel's own, in-process) runs the app's WebSocket call as a
task, with ASGI messages passed through two queues. What the protocol would do on the wire is done here in its
ASGI form: the handshake is the app's ``websocket.accept`` (or its denial, a ``websocket.http.response`` the edge
and lihil send), a message is ``websocket.receive``/``websocket.send``, closing is ``websocket.disconnect`` one way
and ``websocket.close`` the other. A ping has no frame to carry it: its round trip is one turn of the loop.

Used by :class:`~lihil_notebook.server.inprocess.InProcessServer` (``dial_asgi(app)``), which owns the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from .connection import ConnectionLost, DialFailed, Message, OnClosed, OnMessage, place_token

ASGIApp = Callable[..., Any]


def dial_asgi(app: ASGIApp) -> Callable[..., Any]:
    """A :class:`~.connection.Dialer` that opens connections to ``app`` in this process."""

    async def dial(url: str, *, headers: Mapping[str, str], subprotocols: Sequence[str], token: str | None,
                   timeout: float, max_size: int, close_timeout: float) -> AsgiConnection:
        dialled, headers = place_token(url, headers, token)
        connection = AsgiConnection(app, dialled, headers, subprotocols, max_size, close_timeout)
        try:
            await asyncio.wait_for(connection.handshake(), timeout)
        except TimeoutError:
            connection.abort()
            text = f"connecting to {url} timed out"
            raise DialFailed(text, kind="error", text=text, url=url) from None
        except _Denied as denied:
            raise DialFailed(f"{url}: the server refused the handshake: {denied.text}", kind="denied",
                             text=denied.text, url=url, status=denied.status, problem=denied.problem,
                             log_text=denied.log_text) from None
        return connection

    return dial


async def asgi_get(app: ASGIApp, path: str, headers: Mapping[str, str]) -> tuple[int, str, bytes]:
    """GET ``path`` (with its query) from ``app`` in this process: (status, content type, body)."""
    parts = urlsplit(path)
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": parts.path or "/", "raw_path": (parts.path or "/").encode(),
             "query_string": parts.query.encode(), "root_path": "", "client": ("in-process", 0), "server": None,
             "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()],
             "state": {}}
    started: dict[str, Any] = {}
    body: list[bytes] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # nothing more comes: a disconnect would be the next event
        raise AssertionError("unreachable")

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            started.update(event)
        elif event["type"] == "http.response.body":
            body.append(event.get("body", b""))

    await app(scope, receive, send)
    content_type = dict(started.get("headers", [])).get(b"content-type", b"").decode("latin-1")
    return int(started.get("status", 500)), content_type, b"".join(body)


def websocket_scope(url: str, headers: Mapping[str, str], subprotocols: Sequence[str]) -> dict[str, Any]:
    """The ASGI scope of a WebSocket handshake to ``url`` (``ws://…/path?query``), as a server would build it."""
    parts = urlsplit(url)
    raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
    if subprotocols:
        raw.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
    return {"type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
            "scheme": "ws", "path": parts.path or "/", "raw_path": (parts.path or "/").encode(),
            "query_string": parts.query.encode(), "root_path": "", "headers": raw,
            "client": ("in-process", 0), "server": None, "subprotocols": list(subprotocols),
            "extensions": {"websocket.http.response": {}}, "state": {}}


class AsgiConnection:
    """One WebSocket call into the app, on the owner loop (see the module's docstring)."""

    def __init__(self, app: ASGIApp, url: str, headers: Mapping[str, str], subprotocols: Sequence[str],
                 max_size: int, close_timeout: float) -> None:
        self.subprotocol: str | None = None
        self._max_size, self._close_timeout = max_size, close_timeout
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._accepted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._on_message: OnMessage | None = None
        self._on_closed: OnClosed | None = None
        self._early: list[Message] = []  # sent by the app before start()
        self._ending: tuple[int, str, bool] | None = None  # set once: the close, before or after start()
        self._denial: list[dict[str, Any]] = []
        self._task = asyncio.get_running_loop().create_task(self._run(app, websocket_scope(url, headers,
                                                                                           subprotocols)))

    # --- the Connection interface ---------------------------------------------------------------------------------

    async def handshake(self) -> None:
        self._to_app.put_nowait({"type": "websocket.connect"})
        await self._accepted

    def start(self, on_message: OnMessage, on_closed: OnClosed) -> None:
        self._on_message, self._on_closed = on_message, on_closed
        early, self._early = self._early, []
        for message in early:
            on_message(message, _size(message))
        if self._ending is not None:
            on_closed(*self._ending)

    async def send(self, message: Message) -> None:
        if self._ending is not None or self._task.done():
            raise ConnectionLost
        event = {"type": "websocket.receive", "text" if isinstance(message, str) else "bytes": message}
        self._to_app.put_nowait(event)
        await asyncio.sleep(0)  # let the app see it in order with what this loop does next

    async def ping(self) -> float:
        if self._ending is not None:
            raise ConnectionLost
        started = time.perf_counter()
        await asyncio.sleep(0)
        return time.perf_counter() - started

    async def close(self, code: int, reason: str) -> None:
        if self._ending is None:
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
            self._end(code, reason, True)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._task), self._close_timeout)
        if not self._task.done():
            self._task.cancel()

    def abort(self) -> None:
        self._task.cancel()

    # --- the app's side -------------------------------------------------------------------------------------------

    async def _run(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self._to_app.get, self._from_app)
        except Exception as exc:
            self._fail_handshake(500, f"the app raised {exc!r}")
            self._end(1011, "the server raised", False)
        finally:
            if not self._accepted.done():
                self._fail_handshake(403, "the app closed the connection during the handshake")
            self._end(1006, "", False)

    async def _from_app(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "websocket.accept":
            self.subprotocol = event.get("subprotocol")
            if not self._accepted.done():
                self._accepted.set_result(None)
        elif kind == "websocket.send":
            message: Message = event["text"] if event.get("text") is not None else event.get("bytes") or b""
            if _size(message) > self._max_size:
                self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1009})
                self._end(1009, f"message over {self._max_size} bytes", True)
            elif self._ending is None:
                self._deliver(message)
        elif kind == "websocket.close":
            if not self._accepted.done():
                self._fail_handshake(403, event.get("reason") or "the server closed the handshake")
            else:
                self._end(event.get("code", 1000), event.get("reason") or "", False)
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": event.get("code", 1000)})
        elif kind == "websocket.http.response.start":
            self._denial.append(event)
        elif kind == "websocket.http.response.body":
            self._denial.append(event)
            if not event.get("more_body"):
                start, *bodies = self._denial
                self._deny(start["status"], b"".join(b.get("body", b"") for b in bodies))
        await asyncio.sleep(0)

    def _deliver(self, message: Message) -> None:
        if self._on_message is None:
            self._early.append(message)
        else:
            self._on_message(message, _size(message))

    def _end(self, code: int, reason: str, by_us: bool) -> None:
        if self._ending is not None:
            return
        self._ending = (code, reason, by_us)
        if self._on_closed is not None:
            self._on_closed(code, reason, by_us)

    def _deny(self, status: int, body: bytes) -> None:
        problem: Any = None
        with contextlib.suppress(ValueError):
            problem = json.loads(body) if body else None
        text = _status_line(status)
        if isinstance(problem, dict):
            detail = problem.get("detail")
            if isinstance(detail, list):
                text += " — " + "; ".join(f"{d.get('location')} {d.get('param')!r}: {d.get('message')}"
                                          for d in detail if isinstance(d, dict))
            elif detail:
                text += f" — {detail}"
        elif body:
            text += " — " + body[:300].decode(errors="replace")
        log_text = _status_line(status) + ("\n" + json.dumps(problem, indent=2, ensure_ascii=False) if problem is not None
                                       else ("\n" + body[:2000].decode(errors="replace") if body else ""))
        if not self._accepted.done():
            self._accepted.set_exception(_Denied(status, problem, text, log_text))
        self._ending = self._ending or (1006, "", False)

    def _fail_handshake(self, status: int, text: str) -> None:
        if not self._accepted.done():
            self._accepted.set_exception(_Denied(status, None, f"HTTP {status} — {text}", f"HTTP {status}\n{text}"))


class _Denied(Exception):
    def __init__(self, status: int, problem: Any, text: str, log_text: str) -> None:
        super().__init__(text)
        self.status, self.problem, self.text, self.log_text = status, problem, text, log_text


def _status_line(status: int) -> str:
    with contextlib.suppress(ValueError):
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    return f"HTTP {status}"


def _size(message: Message) -> int:
    return len(message.encode()) if isinstance(message, str) else len(message)
