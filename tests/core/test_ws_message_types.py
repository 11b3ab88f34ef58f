"""A handler that reads text and gets a binary frame (or the reverse) closes the connection with 1003.

Starlette's own `WebSocket` raises `KeyError: 'text'` from inside the handler there (issue 12, item 4). The
`WebSocket` lihil hands to a handler closes with 1003 (unsupported data) and a reason that says what was
expected and what came, then ends the handler the way a client's close would: `iter_text()` stops,
`receive_text()` raises `WebSocketDisconnect`, and nothing is logged as an error.
"""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosedError

from lihil import Lihil, WebSocket, WebSocketRoute
from lihil.vendors import TestClient, WebSocketDisconnect
from tests.core.core_support import WS_IMPLS, LogRecorder, RecordingApp, ServerThread, ws_connect

pytestmark = pytest.mark.filterwarnings("ignore:remove second argument of ws_handler:DeprecationWarning")

TEXT_EXPECTED = "expected a text message, got binary"
BINARY_EXPECTED = "expected a binary message, got text"


class TypedApp:
    """Routes that read one kind of message each; `ended` records how each handler finished."""

    def __init__(self) -> None:
        self.ended: list[str] = []
        ended = self.ended
        iter_text, recv_text = WebSocketRoute("/iter-text"), WebSocketRoute("/receive-text")
        iter_bytes, recv_bytes = WebSocketRoute("/iter-bytes"), WebSocketRoute("/receive-bytes")
        json_text, json_binary = WebSocketRoute("/json-text"), WebSocketRoute("/json-binary")

        @iter_text.endpoint
        async def echo_text(ws: WebSocket) -> None:
            await ws.accept()
            async for text in ws.iter_text():
                await ws.send_text(text)
            ended.append("iter_text returned")

        @recv_text.endpoint
        async def one_text(ws: WebSocket) -> None:
            await ws.accept()
            try:
                await ws.receive_text()
            except WebSocketDisconnect as gone:
                ended.append(f"receive_text: {gone.code} {gone.reason}")
                raise

        @iter_bytes.endpoint
        async def echo_bytes(ws: WebSocket) -> None:
            await ws.accept()
            async for data in ws.iter_bytes():
                await ws.send_bytes(data)
            ended.append("iter_bytes returned")

        @recv_bytes.endpoint
        async def one_bytes(ws: WebSocket) -> None:
            await ws.accept()
            try:
                await ws.receive_bytes()
            except WebSocketDisconnect as gone:
                ended.append(f"receive_bytes: {gone.code} {gone.reason}")
                raise

        @json_text.endpoint
        async def json_in_text(ws: WebSocket) -> None:
            await ws.accept()
            await ws.send_json(await ws.receive_json())

        @json_binary.endpoint
        async def json_in_binary(ws: WebSocket) -> None:
            await ws.accept()
            await ws.send_json(await ws.receive_json(mode="binary"))

        self.lihil = Lihil(iter_text, recv_text, iter_bytes, recv_bytes, json_text, json_binary)
        self.recorder = RecordingApp(self.lihil)


def _closed_by_server(client: TestClient, path: str, send_binary: bool) -> WebSocketDisconnect:
    with client.websocket_connect(path) as ws:
        if send_binary:
            ws.send_bytes(b"\x00\x01")
        else:
            ws.send_text("hello")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    return closed.value


@pytest.mark.parametrize(
    ("path", "send_binary", "reason"),
    [
        ("/iter-text", True, TEXT_EXPECTED),
        ("/receive-text", True, TEXT_EXPECTED),
        ("/json-text", True, TEXT_EXPECTED),
        ("/iter-bytes", False, BINARY_EXPECTED),
        ("/receive-bytes", False, BINARY_EXPECTED),
        ("/json-binary", False, BINARY_EXPECTED),
    ],
)
def test_wrong_message_type_closes_1003_under_testclient(path: str, send_binary: bool, reason: str) -> None:
    app = TypedApp()
    with TestClient(app.recorder) as client:  # raise_server_exceptions: a KeyError would surface here
        closed = _closed_by_server(client, path, send_binary)
    assert (closed.code, closed.reason) == (1003, reason)
    [conn] = app.recorder.wait_finished(1)
    assert conn.exception is None
    assert conn.close_message() == {"type": "websocket.close", "code": 1003, "reason": reason}
    conn.assert_nothing_after_close()


def test_handlers_end_the_way_a_client_close_ends_them() -> None:
    app = TypedApp()
    with TestClient(app.lihil) as client:
        for path, send_binary in [("/iter-text", True), ("/receive-text", True),
                                  ("/iter-bytes", False), ("/receive-bytes", False)]:
            _closed_by_server(client, path, send_binary)
    assert app.ended == [
        "iter_text returned",
        f"receive_text: 1003 {TEXT_EXPECTED}",
        "iter_bytes returned",
        f"receive_bytes: 1003 {BINARY_EXPECTED}",
    ]


def test_right_message_types_still_work() -> None:
    app = TypedApp()
    with TestClient(app.lihil) as client:
        with client.websocket_connect("/iter-text") as ws:
            ws.send_text("a")
            assert ws.receive_text() == "a"
        with client.websocket_connect("/iter-bytes") as ws:
            ws.send_bytes(b"b")
            assert ws.receive_bytes() == b"b"
        with client.websocket_connect("/json-binary") as ws:
            ws.send_json({"n": 1}, mode="binary")
            assert ws.receive_json() == {"n": 1}


@pytest.mark.parametrize("impl", WS_IMPLS)
def test_binary_to_a_text_handler_over_a_real_server(impl: str, logs: LogRecorder) -> None:
    app = TypedApp()
    with ServerThread(app.recorder, ws=impl) as server:
        with ws_connect(server.ws_url("/iter-text")) as conn:
            conn.send("first")
            assert conn.recv(timeout=5) == "first"
            conn.send(b"\xff\x00")
            with pytest.raises(ConnectionClosedError) as closed:
                conn.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1003, TEXT_EXPECTED)

        with ws_connect(server.ws_url("/receive-bytes")) as conn:
            conn.send("not bytes")
            with pytest.raises(ConnectionClosedError) as closed:
                conn.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1003, BINARY_EXPECTED)
        finished = app.recorder.wait_finished(2)
    assert [c.exception for c in finished] == [None, None]
    assert app.ended == ["iter_text returned", f"receive_bytes: 1003 {BINARY_EXPECTED}"]
    assert logs.records == [], logs.describe()
