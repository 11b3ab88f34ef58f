"""Bounded before any check (issue 20, findings 6 and 7): idle and slow sockets cannot take the kernel's file
descriptors, and a client that sends pings without reading the pongs cannot grow the server's memory.

Finding 6 runs the playground in a subprocess whose descriptor limit is lowered (``RLIMIT_NOFILE`` 256), as a
kernel's is by its soft limit: more idle sockets than that are opened against it; a valid request must still be
answered at once (503 naming ``max_connections`` while the cap is full), the process must still open files, and
once ``header_timeout`` has passed the idle sockets are closed and requests are served again.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lihil import WebSocket
from lihil_notebook import Playground
from tests.notebook.edge_support import read_answer, ws_handshake
from tests.notebook.playground_support import WAIT, wait_for

REPO = Path(__file__).resolve().parents[2]
LIMITED_KERNEL = """
import dataclasses, json, os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from lihil_notebook import Playground
from lihil_notebook.server.thread import ServerSettings
settings = ServerSettings()
if hasattr(settings, "header_timeout"):
    settings = dataclasses.replace(settings, header_timeout=4.0)
pg = Playground(settings=settings)
pg.mount_http("/ping", lambda: "pong")
pg.start()
print(json.dumps({"port": pg.port, "token": pg.token}), flush=True)
for line in sys.stdin:
    try:
        with open(os.devnull) as anything:
            print("opened", flush=True)
    except OSError as error:
        print(f"error {error}", flush=True)
"""


@pytest.fixture
def limited_kernel() -> Iterator[tuple[subprocess.Popen[str], int, str | None]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-c", LIMITED_KERNEL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env=env)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the playground in the subprocess did not start"
        started = json.loads(process.stdout.readline())
        yield process, started["port"], started["token"]
    finally:
        process.kill()
        process.wait(WAIT)


def ask_to_open_a_file(process: subprocess.Popen[str]) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("open\n")
    process.stdin.flush()
    ready, _, _ = select.select([process.stdout], [], [], WAIT)
    return process.stdout.readline().strip() if ready else "no answer"


def get_ping(port: int, token: str | None) -> tuple[int, str] | None:
    """GET /ping with the token; (status, body), or None when nothing came back within WAIT seconds."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
            sock.sendall(f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode())
            answer = read_answer(sock)
            return answer.status, answer.body.decode()
    except (OSError, AssertionError):
        return None


def test_idle_sockets_cannot_take_the_kernels_descriptors(
        limited_kernel: tuple[subprocess.Popen[str], int, str | None]) -> None:
    process, port, token = limited_kernel
    idle = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(400)]
    try:
        answered = get_ping(port, token)
        assert answered is not None, "a valid request got no answer"
        status, body = answered
        assert status == 503 and "max_connections" in body, answered  # refused at once while the cap is full
        assert ask_to_open_a_file(process) == "opened"  # the kernel still has descriptors of its own
        # The idle sockets are closed after header_timeout; then requests are served again.
        wait_for(lambda: get_ping(port, token) == (200, '"pong"'), "the idle sockets to be closed", timeout=20)
        held = idle[0]
        held.settimeout(WAIT)
        assert held.recv(100).startswith((b"HTTP/1.1 408", b"HTTP/1.1 503"))
    finally:
        for sock in idle:
            sock.close()


def test_a_slow_request_head_is_cut_off(pg: Playground) -> None:
    pg.stop()
    slow = Playground(settings=pg.settings.__class__(header_timeout=1.0))
    slow.start()
    try:
        assert slow.port is not None
        with socket.create_connection(("127.0.0.1", slow.port), timeout=WAIT) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sent = 0
            try:
                while time.monotonic() - started < 8:  # a header line every 0.2 s, never the blank line
                    sock.sendall(f"X-Slow-{sent}: 1\r\n".encode())
                    sent += 1
                    readable, _, _ = select.select([sock], [], [], 0.2)
                    if readable:
                        break
            except OSError:
                pass
            answer = read_answer(sock)
            assert answer.status == 408 and "header_timeout" in answer.json()["detail"]
            assert time.monotonic() - started < 5
    finally:
        slow.stop()


def test_an_idle_kept_alive_connection_is_closed(pg: Playground) -> None:
    pg.stop()
    idle = Playground(settings=pg.settings.__class__(idle_timeout=1.0))
    idle.mount_http("/ping", lambda: "pong")
    idle.start()
    try:
        assert idle.port is not None
        with socket.create_connection(("127.0.0.1", idle.port), timeout=WAIT) as sock:
            sock.sendall(f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {idle.token}\r\n\r\n"
                         .encode())
            assert read_answer(sock).status == 200
            started = time.monotonic()
            assert sock.recv(100) == b"", "closed by the server"
            assert time.monotonic() - started < 3
    finally:
        idle.stop()


# --- pings without reading the pongs -----------------------------------------------------------------------------

PING = bytes([0x89, 0x80 | 125]) + b"\0\0\0\0" + b"p" * 125  # masked (with a zero mask), 125 bytes of payload
SEND_AT_MOST = 64 * 1024 * 1024  # far beyond what the kernel buffers of a loopback connection hold


def test_pings_without_reading_the_pongs_stop_the_server_reading(pg: Playground) -> None:
    async def waits(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive()

    pg.mount_ws("/waits", waits)
    assert pg.port is not None
    sock = socket.create_connection(("127.0.0.1", pg.port), timeout=WAIT)
    try:
        request = (f"GET /waits HTTP/1.1\r\nHost: 127.0.0.1:{pg.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   f"Authorization: Bearer {pg.token}\r\n\r\n")
        sock.sendall(request.encode())
        assert read_answer(sock).status == 101
        sock.setblocking(False)
        burst, sent = PING * 512, 0
        while sent < SEND_AT_MOST:
            _, writable, _ = select.select([], [sock], [], 2.0)
            if not writable:
                break  # the server stopped reading: nothing more gets through
            try:
                sent += sock.send(burst)
            except BlockingIOError:
                continue
        assert sent < SEND_AT_MOST, f"the server read {sent} bytes of pings without the pongs being read"
        # The server and its other clients are fine.
        assert ws_handshake(pg.port, "/waits", token=pg.token).status == 101
    finally:
        sock.close()
    wait_for(lambda: pg.routes[0].open_connections <= 1, "the flooding connection to close")
