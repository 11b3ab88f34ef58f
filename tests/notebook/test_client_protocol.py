"""What clients do wrong at the WebSocket level, on the playground's real uvicorn: one INFO line each, never an
ERROR with a traceback; and a refusal before accept keeps its reason (a hub's ``allow_if``, a handler's close)."""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Iterator

import pytest

from lihil import ChannelBase, Lihil, Topic, WebSocket, WebSocketRoute
from lihil.socket import ISocket
from lihil_notebook import Playground, SessionConnectError
from lihil_notebook.server.thread import ServerSettings, ServerThread, bind_socket
from tests.notebook.edge_support import WS_HEADERS, raw_request
from tests.notebook.playground_support import WAIT, wait_for

MAX_SIZE = 1024


class Records(logging.Filter):
    """Every record uvicorn logs, seen before the playground diverts it into the server's log."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen.append(record)
        return True

    def closes(self) -> list[logging.LogRecord]:
        return [r for r in self.seen if " closed " in r.getMessage()]


@pytest.fixture
def served() -> Iterator[tuple[ServerThread, Records]]:
    route = WebSocketRoute("/echo")

    @route.endpoint
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        while True:
            await ws.send_text(await ws.receive_text())

    records = Records()
    logger = logging.getLogger("uvicorn.error")
    level = logger.level
    logger.setLevel(logging.DEBUG)  # everything uvicorn says: a client's error must not show up at any level above INFO
    logger.filters.insert(0, records)  # first: the playground's own filter diverts its records out of logging
    server = ServerThread(Lihil(route), bind_socket("127.0.0.1", 0), ServerSettings(ws_max_size=MAX_SIZE))
    server.start()
    try:
        yield server, records
    finally:
        server.stop()
        logger.removeFilter(records)
        logger.setLevel(level)


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame (written by hand: the point is to send what no library would)."""
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x80 | opcode])
    head += bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack("!H", size)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def opened(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    head = "".join(f"{k}: {v}\r\n" for k, v in WS_HEADERS.items())
    sock.sendall(f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def close_frame_from(sock: socket.socket) -> tuple[int, str]:
    data = b""
    while len(data) < 2 or len(data) < 2 + data[1]:
        chunk = sock.recv(4096)
        assert chunk, f"closed without a close frame; got {data!r}"
        data += chunk
    assert data[0] == 0x88, data
    return struct.unpack("!H", data[2:4])[0], data[4:2 + data[1]].decode()


def one_info_line(records: Records) -> str:
    wait_for(records.closes, "the server logs the client's close", WAIT)
    assert [r for r in records.seen if r.levelno >= logging.WARNING or r.exc_info] == []
    [line] = records.closes()
    assert line.levelno == logging.INFO and not line.exc_info
    return line.getMessage()


@pytest.mark.parametrize(("sent", "code", "says"), [
    (frame(0x1, b"\xff\xfe not utf-8"), 1007, "closed 1007 (invalid frame payload data): invalid UTF-8 in a text message"),
    (frame(0x3, b"x"), 1002, "closed 1002 (protocol error): invalid opcode"),
    (frame(0x2, b"x" * (MAX_SIZE + 1)), 1009,
     f"closed 1009 (message too big): frame with {MAX_SIZE + 1} bytes exceeds limit of {MAX_SIZE} bytes"),
], ids=["invalid-utf8", "bad-opcode", "oversize"])
def test_a_clients_protocol_error_is_one_info_line_with_code_reason_and_address(
    served: tuple[ServerThread, Records], sent: bytes, code: int, says: str,
) -> None:
    server, records = served
    with opened(server.port) as sock:
        client = "{}:{}".format(*sock.getsockname())
        sock.sendall(sent)
        assert close_frame_from(sock)[0] == code
    assert one_info_line(records) == f'{client} - "WebSocket /echo" {says}'


def test_a_client_vanishing_mid_frame_is_one_info_line(served: tuple[ServerThread, Records]) -> None:
    server, records = served
    with opened(server.port) as sock:
        client = "{}:{}".format(*sock.getsockname())
        sock.sendall(frame(0x1, b"hello, anyone there?")[:8])  # the head and a few bytes, then gone
    assert one_info_line(records) == (f'{client} - "WebSocket /echo" closed 1006 (abnormal closure): '
                                      "the client went away without a close frame")


def test_a_normal_conversation_logs_no_close_line(served: tuple[ServerThread, Records]) -> None:
    server, records = served
    with opened(server.port) as sock:
        sock.sendall(frame(0x1, "héllo".encode()))
        assert sock.recv(64) == b"\x81\x06" + "héllo".encode()
        sock.sendall(frame(0x8, struct.pack("!H", 1000)))
        assert close_frame_from(sock)[0] == 1000
    assert records.closes() == []


# --- a refusal before accept keeps its reason -------------------------------------------------------------------


class Room(ChannelBase):
    topic = Topic("room:{name}")


async def who_are_you(socket: ISocket) -> None:
    await socket.allow_if(bool(socket.query_params.get("user")), reason="say who you are: ?user=NAME")


TOKEN = "t0k3n-for-the-refusal-tests"


@pytest.fixture
def pg() -> Iterator[Playground]:
    instance = Playground(token=TOKEN)
    instance.start()
    yield instance
    instance.stop()


def test_a_hubs_refusal_reaches_the_client_with_its_reason(pg: Playground) -> None:
    pg.mount_hub("/rooms", Room, on_connect=who_are_you)
    with pytest.raises(SessionConnectError) as refused:
        pg.connect("/rooms", name="nobody")
    assert "HTTP 403 Forbidden — say who you are: ?user=NAME" in str(refused.value)
    assert refused.value.problem == {"title": "Forbidden", "status": 403, "detail": "say who you are: ?user=NAME",
                                     "close_code": 4403}
    assert pg.connect("/rooms?user=dan", name="dan").state == "open"


def test_any_close_before_accept_answers_403_with_the_code_and_reason(pg: Playground) -> None:
    async def shy(ws: WebSocket) -> None:
        await ws.close(4001, "not today")

    async def silent(ws: WebSocket) -> None:
        await ws.close()

    pg.mount_ws("/shy", shy)
    pg.mount_ws("/silent", silent)
    headers = {**WS_HEADERS, "Authorization": f"Bearer {TOKEN}"}
    port = pg.port
    assert port is not None
    answer = raw_request(port, "GET", "/shy", headers)
    assert (answer.status, answer.headers["content-type"]) == (403, "application/problem+json")
    assert answer.json() == {"title": "Forbidden", "status": 403, "detail": "not today", "close_code": 4001}
    answer = raw_request(port, "GET", "/silent", headers)
    assert answer.json()["detail"] == "the app closed the connection with code 1000 before accepting it"
