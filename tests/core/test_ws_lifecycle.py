"""WebSocket lifecycle where real lihil 0.2.41 is broken: bad input, raising handlers, missing close, teardown.

Checked three ways: Starlette's TestClient, a raw ASGI driver (exact messages), and real uvicorn on 127.0.0.1
under every WebSocket implementation uvicorn ships, with a `websockets` client.
"""

import base64
import json
import logging
import os
import socket
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus

from lihil import Annotated, AsyncResource, Ignore, Lihil, Param, WebSocket, WebSocketRoute, use
from lihil.vendors import TestClient, WebSocketDisconnect
from tests.core.core_support import (
    WS_IMPLS,
    LogRecorder,
    RecordingApp,
    ServerThread,
    denied,
    drive_websocket,
    refused_status,
    ws_connect,
)

# uvicorn's legacy `websockets` implementation warns from its server thread on every connection.
pytestmark = pytest.mark.filterwarnings("ignore:remove second argument of ws_handler:DeprecationWarning")

RECV_TIMEOUT = 5.0
SEED_CONNECTIONS = 5
BAD_URL = "/bad/0?tags=1&tags=x"
BAD_PARAMS = {("path", "n"), ("query", "tags"), ("header", "x-token"), ("cookie", "session-id")}


def bad_headers() -> dict[str, str]:
    """A fresh dict each time: Starlette's TestClient adds its handshake headers to the dict it is given."""
    return {"cookie": "session-id=not-a-number"}


# uvicorn's websockets-sansio logs this ERROR after *every* denial response, whichever app sends it (plain
# Starlette too): it never marks the handshake complete after a denial. Upstream fix: Kludex/uvicorn PR #3138.
UVICORN_SANSIO_DENIAL_NOISE = "ASGI callable returned without completing handshake."


def unexpected(logs: LogRecorder, impl: str) -> list[logging.LogRecord]:
    return [
        r
        for r in logs.records
        if not (impl == "websockets-sansio" and r.getMessage() == UVICORN_SANSIO_DENIAL_NOISE)
    ]


class LifecycleApp:
    """One app with every route these tests need, and what its factories observed."""

    def __init__(self) -> None:
        self.teardowns: list[str] = []
        self.lihil = Lihil(*self._routes())
        self.recorder = RecordingApp(self.lihil)

    def _routes(self) -> list[WebSocketRoute]:
        teardowns = self.teardowns

        bad = WebSocketRoute("/bad/{n}")

        @bad.endpoint
        async def strict(
            ws: WebSocket,
            n: Annotated[int, Param(ge=1)],
            tags: list[int],
            token: Annotated[str, Param("header", alias="x-token")],
            session: Annotated[int, Param("cookie", alias="session-id")] = 0,
        ) -> None:
            await ws.accept()
            await ws.close()

        async def guarded(ws: Ignore[WebSocket]) -> Ignore[AsyncResource[WebSocket]]:
            await ws.accept()
            try:
                yield ws
            finally:
                teardowns.append("guarded")

        raising = WebSocketRoute("/raise")

        @raising.endpoint
        async def boom(ws: Annotated[WebSocket, use(guarded, reuse=False)]) -> None:
            await ws.send_text("before")
            raise RuntimeError("boom after accept")

        returning = WebSocketRoute("/return")

        @returning.endpoint
        async def no_close(ws: WebSocket) -> None:
            await ws.accept()
            await ws.send_text("bye")

        # The seed's factory, counting teardowns that got past `close()`.
        async def ws_factory(ws: Ignore[WebSocket]) -> Ignore[AsyncResource[WebSocket]]:
            await ws.accept()
            yield ws
            await ws.close()
            teardowns.append("seed")

        seed = WebSocketRoute("/seed/{session_id}")

        @seed.endpoint
        async def ws_handler(
            ws: Annotated[WebSocket, use(ws_factory, reuse=False)], session_id: str, max_users: int
        ) -> None:
            assert session_id == "session123" and max_users == 5
            await ws.send_text("Hello, world!")

        seed_wait = WebSocketRoute("/seed-wait/{session_id}")

        @seed_wait.endpoint
        async def waits_for_client(
            ws: Annotated[WebSocket, use(ws_factory, reuse=False)], session_id: str, max_users: int
        ) -> None:
            await ws.send_text("Hello, world!")
            message = await ws.receive()  # returns once the client has gone: teardown's close comes after
            assert message["type"] == "websocket.disconnect"

        return [bad, raising, returning, seed, seed_wait]


def assert_problem(body: bytes | bytearray | str, content_type: str) -> None:
    assert content_type.startswith("application/problem+json")
    problem = json.loads(body)
    assert {"type", "title", "status", "detail", "instance"} <= problem.keys()
    assert "type_" not in problem
    assert problem["status"] == 400
    assert {(d["location"], d["param"]) for d in problem["detail"]} == BAD_PARAMS
    assert all(isinstance(d["message"], str) and d["message"] for d in problem["detail"])


def close_code_after(server: ServerThread, path: str, text: str) -> int:
    """Connect, expect `text`, then the server's close frame (within RECV_TIMEOUT): return its code."""
    with ws_connect(server.ws_url(path)) as ws:
        assert ws.recv(timeout=RECV_TIMEOUT) == text
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=RECV_TIMEOUT)
    assert closed.value.rcvd is not None, "no close frame from the server"
    return closed.value.rcvd.code


# --- bad input -------------------------------------------------------------------------------------------


def test_bad_input_denied_with_problem_json_via_testclient() -> None:
    with TestClient(LifecycleApp().lihil) as client:
        refusal = denied(client, BAD_URL, headers=bad_headers())
    assert refusal.status_code == 400
    assert_problem(refusal.content, refusal.headers["content-type"])


@pytest.mark.anyio
async def test_bad_input_denial_is_the_only_asgi_response() -> None:
    conn = await drive_websocket(
        LifecycleApp().lihil, "/bad/0", query_string=b"tags=1&tags=x", headers=[(b"cookie", b"session-id=x")]
    )
    assert conn.exception is None
    assert conn.types == ["websocket.http.response.start", "websocket.http.response.body"]
    assert conn.sent[0]["status"] == 400
    headers = {k.decode().lower(): v.decode() for k, v in conn.sent[0]["headers"]}
    assert_problem(conn.sent[1]["body"], headers["content-type"])


@pytest.mark.anyio
async def test_bad_input_without_denial_support_closes_1008_before_accept() -> None:
    conn = await drive_websocket(LifecycleApp().lihil, "/bad/0", query_string=b"tags=x", denial_support=False)
    assert conn.exception is None
    assert conn.types == ["websocket.close"]
    assert conn.sent[0]["code"] == 1008
    assert conn.sent[0].get("reason")


@pytest.mark.parametrize("impl", WS_IMPLS)
def test_bad_input_denied_over_uvicorn(
    impl: str, serve: Callable[..., ServerThread], logs: LogRecorder
) -> None:
    app = LifecycleApp()
    server = serve(app.recorder, ws=impl)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(server.ws_url(BAD_URL), additional_headers=bad_headers())
    response = refused.value.response
    assert response.status_code == 400
    assert_problem(response.body or b"", response.headers["content-type"])
    [conn] = app.recorder.wait_finished(1)
    assert conn.exception is None
    conn.assert_nothing_after_close()
    server.stop()
    assert unexpected(logs, impl) == [], logs.describe()


# --- handler raises after accept -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_raise_after_accept_closes_1011_and_nothing_follows() -> None:
    app = LifecycleApp()
    conn = await drive_websocket(app.lihil, "/raise")
    assert isinstance(conn.exception, RuntimeError)
    assert str(conn.exception) == "boom after accept"
    assert conn.types == ["websocket.accept", "websocket.send", "websocket.close"]
    assert conn.sent[2]["code"] == 1011
    conn.assert_nothing_after_close()
    assert app.teardowns == ["guarded"]


def test_raise_after_accept_reaches_testclient() -> None:
    app = LifecycleApp()
    client = TestClient(app.lihil)
    with (
        client,
        pytest.raises(RuntimeError, match="boom after accept"),
        client.websocket_connect("/raise") as ws,
    ):
        assert ws.receive_text() == "before"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1011
    assert app.teardowns == ["guarded"]


@pytest.mark.parametrize("impl", WS_IMPLS)
def test_raise_after_accept_over_uvicorn(
    impl: str, serve: Callable[..., ServerThread], logs: LogRecorder
) -> None:
    app = LifecycleApp()
    server = serve(app.recorder, ws=impl)
    assert close_code_after(server, "/raise", "before") == 1011
    [conn] = app.recorder.wait_finished(1)
    assert isinstance(conn.exception, RuntimeError)
    conn.assert_nothing_after_close()
    server.stop()
    assert app.teardowns == ["guarded"]
    logged = [r for r in logs.records if r.levelno >= logging.ERROR and r.exc_info]
    assert logged, "the handler's exception must be logged"
    assert any("boom after accept" in str(r.exc_info[1]) for r in logged if r.exc_info)


# --- handler returns without closing --------------------------------------------------------------------


@pytest.mark.anyio
async def test_return_without_close_gets_close_1000() -> None:
    conn = await drive_websocket(LifecycleApp().lihil, "/return")
    assert conn.exception is None
    assert conn.types == ["websocket.accept", "websocket.send", "websocket.close"]
    assert conn.sent[2]["code"] == 1000


@pytest.mark.parametrize("impl", WS_IMPLS)
def test_return_without_close_over_uvicorn(
    impl: str, serve: Callable[..., ServerThread], logs: LogRecorder
) -> None:
    app = LifecycleApp()
    server = serve(app.recorder, ws=impl)
    assert close_code_after(server, "/return", "bye") == 1000
    app.recorder.wait_finished(1)
    server.stop()
    assert logs.records == [], logs.describe()


# --- the seed's factory teardown after the client has gone ----------------------------------------------


def handshake_then_drop(port: int, path: str, *, timeout: float = RECV_TIMEOUT) -> bytes:
    """Open a WebSocket by hand, read the handshake response, then drop the TCP connection (no close frame)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0]


def client_waits_for_server_close(server: ServerThread, path: str) -> None:
    with ws_connect(server.ws_url(path)) as ws:
        assert ws.recv(timeout=RECV_TIMEOUT) == "Hello, world!"
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=RECV_TIMEOUT)


def client_closes_after_text(server: ServerThread, path: str) -> None:
    with ws_connect(server.ws_url(path)) as ws:
        assert ws.recv(timeout=RECV_TIMEOUT) == "Hello, world!"


def client_drops_connection(server: ServerThread, path: str) -> None:
    assert handshake_then_drop(server.port, path).startswith(b"HTTP/1.1 101")


SEED_CASES: dict[str, tuple[str, Callable[[ServerThread, str], None]]] = {
    "server-closes-first": ("/seed", client_waits_for_server_close),
    "client-closes-right-away": ("/seed", client_closes_after_text),
    "client-closed-before-teardown": ("/seed-wait", client_closes_after_text),
    "client-dropped-before-teardown": ("/seed-wait", client_drops_connection),
}


@pytest.mark.parametrize("case", SEED_CASES)
@pytest.mark.parametrize("impl", WS_IMPLS)
def test_seed_teardown_close_is_harmless(
    impl: str, case: str, serve: Callable[..., ServerThread], logs: LogRecorder
) -> None:
    prefix, client = SEED_CASES[case]
    app = LifecycleApp()
    server = serve(app.recorder, ws=impl)
    for _ in range(SEED_CONNECTIONS):
        client(server, f"{prefix}/session123?max_users=5")
    connections = app.recorder.wait_finished(SEED_CONNECTIONS)
    server.stop()  # flushes anything uvicorn would log after the app returned
    assert [c.exception for c in connections] == [None] * SEED_CONNECTIONS
    for conn in connections:
        conn.assert_nothing_after_close()
    assert app.teardowns == ["seed"] * SEED_CONNECTIONS
    assert logs.records == [], logs.describe()


# --- a failure before accept is a server error, not "forbidden" ---------------------------------------------


def _app_failing_before_accept() -> Lihil:
    route = WebSocketRoute("/early")

    async def broken_factory(ws: Ignore[WebSocket]) -> Ignore[AsyncResource[WebSocket]]:
        raise LookupError("database is down")
        yield ws  # pragma: no cover - makes this an async generator

    @route.endpoint
    async def early(ws: Annotated[WebSocket, use(broken_factory)]) -> None:
        await ws.accept()  # pragma: no cover

    return Lihil(route)


@pytest.mark.anyio
async def test_failure_before_accept_is_a_500_refusal() -> None:
    conn = await drive_websocket(_app_failing_before_accept(), "/early")
    assert isinstance(conn.exception, LookupError)
    assert conn.types == ["websocket.http.response.start", "websocket.http.response.body"]
    assert conn.sent[0]["status"] == 500


@pytest.mark.parametrize("impl", WS_IMPLS)
def test_failure_before_accept_over_uvicorn(impl: str, serve: Callable[..., ServerThread]) -> None:
    server = serve(_app_failing_before_accept(), ws=impl)
    assert refused_status(server.ws_url("/early")) == 500
    server.stop()
