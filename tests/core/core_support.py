"""Test kit for the core suite: a real uvicorn server in a thread, an ASGI recorder, a raw ASGI driver.

Everything here talks to the app only through ASGI, the way a server does, so the tests check what a
user of `lihil` sees on the wire. Every wait has a named timeout; nothing sleeps to synchronise.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import uvicorn
from starlette.testclient import WebSocketDenialResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from lihil import WebSocket, WebSocketRoute

#: Every WebSocket implementation uvicorn ships; lifecycle tests run under each one.
WS_IMPLS = ("websockets-sansio", "websockets", "wsproto")

ASGIApp = Callable[..., Any]
Message = dict[str, Any]


class ServerThread:
    """uvicorn serving `app` on a pre-bound 127.0.0.1 socket, in a daemon thread with its own loop.

    Use as a context manager. `start_timeout` bounds the wait for `server.started`; `stop_timeout` bounds each
    join at shutdown; `graceful_shutdown_timeout` bounds how long uvicorn waits for open connections.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        ws: str = "websockets-sansio",
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        graceful_shutdown_timeout: int = 2,
        root_path: str = "",
    ) -> None:
        self.app = app
        self.ws = ws
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.config = uvicorn.Config(
            app,
            ws=ws,
            lifespan="on",
            log_level="warning",
            # No dictConfig: uvicorn's loggers keep propagating to the root, where the tests listen.
            log_config=None,
            loop="asyncio",
            timeout_graceful_shutdown=graceful_shutdown_timeout,
            root_path=root_path,  # uvicorn --root-path: the prefix a proxy strips off
        )
        self.server = uvicorn.Server(self.config)
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{ws}", daemon=True)

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> ServerThread:
        with warnings.catch_warnings():
            # uvicorn warns on import of its legacy `websockets` implementation; we test it on purpose.
            warnings.simplefilter("ignore")
            self.config.load()
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"uvicorn ({self.ws}) exited before starting") from self.failure
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"uvicorn ({self.ws}) did not start within {self.start_timeout}s")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(self.stop_timeout)
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(self.stop_timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"uvicorn ({self.ws}) did not stop within {2 * self.stop_timeout}s")

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self._sock])
        except BaseException as exc:  # SystemExit(3) on startup failure: keep it for the error message
            self.failure = exc
        finally:
            self._sock.close()


def ws_connect(url: str, *, open_timeout: float = 5.0, **kwargs: Any) -> ClientConnection:
    """A `websockets` sync client with bounded waits and no proxy lookup."""
    return connect(url, open_timeout=open_timeout, close_timeout=2.0, proxy=None, **kwargs)


def refused_status(url: str) -> int:
    """The HTTP status with which the server at ``url`` refuses the WebSocket handshake (fails if it accepts)."""
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(url)
    return refused.value.response.status_code


@dataclass
class Connection:
    """What one ASGI websocket connection did: the messages the app sent and how the app call ended."""

    path: str
    sent: list[Message] = field(default_factory=list)
    exception: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def types(self) -> list[str]:
        return [m["type"] for m in self.sent]

    def close_message(self) -> Message | None:
        return next((m for m in self.sent if m["type"] == "websocket.close"), None)

    def assert_nothing_after_close(self) -> None:
        """ASGI forbids any message after `websocket.close` or the last denial body."""
        for i, message in enumerate(self.sent):
            final = message["type"] == "websocket.close" or (
                message["type"] == "websocket.http.response.body" and not message.get("more_body", False)
            )
            if final:
                assert self.sent[i + 1 :] == [], f"ASGI messages after {message}: {self.sent[i + 1 :]}"


class RecordingApp:
    """Wraps an ASGI app; records, per websocket connection, every message the app sends and its exception.

    Safe to read from the test thread while a server thread serves. The wrapped app's exception is
    re-raised unchanged, so the server reacts exactly as it would without the recorder.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.connections: list[Connection] = []
        self._changed = threading.Condition()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        conn = Connection(scope["path"])
        with self._changed:
            self.connections.append(conn)

        async def recording_send(message: Message) -> None:
            conn.sent.append(dict(message))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except BaseException as exc:
            conn.exception = exc
            raise
        finally:
            conn.done.set()
            with self._changed:
                self._changed.notify_all()

    def wait_finished(self, count: int, *, timeout: float = 5.0) -> list[Connection]:
        """Wait until `count` connections have finished their app call; return them."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: sum(c.done.is_set() for c in self.connections) >= count, timeout=timeout
            )
        assert ok, f"only {sum(c.done.is_set() for c in self.connections)}/{count} connections finished"
        return [c for c in self.connections if c.done.is_set()]


class LogRecorder(logging.Handler):
    """Collects log records (WARNING and above by default) from any thread."""

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def describe(self) -> str:
        return "\n".join(f"{r.name} {r.levelname}: {r.getMessage()} {r.exc_info!r}" for r in self.records)


@contextmanager
def recording_logs(names: Iterable[str] = ("", "uvicorn", "lihil", "websockets")) -> Iterator[LogRecorder]:
    """Record warnings and errors from the root logger and from loggers that may not propagate to it.

    A record may appear twice (once per logger it passes); tests only ask "anything?" and "which?".
    """
    recorder = LogRecorder()
    loggers = [logging.getLogger(n) for n in names]
    for logger in loggers:
        logger.addHandler(recorder)
    try:
        yield recorder
    finally:
        for logger in loggers:
            logger.removeHandler(recorder)


async def drive_websocket(
    app: ASGIApp,
    path: str,
    *,
    query_string: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
    client_messages: Sequence[Message] = (),
    denial_support: bool = True,
    timeout: float = 5.0,
) -> Connection:
    """Run one websocket connection against `app` as a minimal ASGI server would, and record it.

    The client sends `websocket.connect`, then `client_messages` one per `receive()`; after that `receive()`
    waits until the app closes (then reports `websocket.disconnect`). `denial_support` controls whether the
    scope advertises the `websocket.http.response` extension. The whole call is bounded by `timeout`.
    """
    conn = Connection(path)
    pending = [{"type": "websocket.connect"}, *client_messages]
    closed = anyio.Event()
    scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query_string,
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "state": {},
        "extensions": {"websocket.http.response": {}} if denial_support else {},
    }

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await closed.wait()
        return {"type": "websocket.disconnect", "code": 1000, "reason": ""}

    async def send(message: Message) -> None:
        conn.sent.append(dict(message))
        if message["type"] == "websocket.close" or (
            message["type"] == "websocket.http.response.body" and not message.get("more_body", False)
        ):
            closed.set()

    with anyio.fail_after(timeout):
        try:
            await app(scope, receive, send)
        except Exception as exc:
            conn.exception = exc
    conn.done.set()
    return conn


def denied(client: Any, url: str, **kwargs: Any) -> WebSocketDenialResponse:
    """Connect with Starlette's TestClient and return the HTTP denial the app answered with."""
    try:
        with client.websocket_connect(url, **kwargs):
            pass
    except WebSocketDenialResponse as refusal:
        return refusal
    raise AssertionError(f"{url} was accepted; expected a denial response")


def hello_route(path: str, greeting: str) -> WebSocketRoute:
    """A WebSocketRoute whose handler accepts, sends `greeting` and closes."""
    route = WebSocketRoute(path)

    async def hello(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(greeting)
        await ws.close()

    route.endpoint(hello)
    return route
