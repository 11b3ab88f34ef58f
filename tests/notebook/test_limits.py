"""Every cost a caller can impose is bounded: request bodies, handshakes that never finish, over-long request lines,
sessions closed while connecting, big messages piling up in logs, a handler that blocks the loop."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lihil import Request, WebSocket
from lihil_notebook import Playground, ServerSettings
from tests.notebook.edge_support import raw_request, read_answer, ws_handshake
from tests.notebook.playground_support import WAIT, wait_for

MiB = 1024 * 1024


@pytest.fixture
def limited() -> Iterator[Playground]:
    pg = Playground(settings=ServerSettings(max_body_size=1 * MiB, handshake_timeout=0.5, ws_max_size=64 * 1024,
                                            blocked_loop_warning=0.2))
    pg.start()
    yield pg
    pg.stop()


def port(pg: Playground) -> int:
    assert pg.port is not None
    return pg.port


# --- HTTP bodies ------------------------------------------------------------------------------------------------


def mount_upload(pg: Playground, seen: list[int]) -> None:
    async def upload(request: Request) -> str:
        body = await request.body()
        seen.append(len(body))
        return f"{len(body)} bytes"

    pg.mount_http("/upload", upload, "POST")


def test_a_declared_oversize_body_gets_413_before_anything_is_read(limited: Playground) -> None:
    seen: list[int] = []
    mount_upload(limited, seen)
    with socket.create_connection(("127.0.0.1", port(limited)), timeout=WAIT) as sock:
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {200 * MiB}\r\n"
                     f"Authorization: Bearer {limited.token}\r\n\r\n".encode())
        answer = read_answer(sock)  # answered with not one byte of the 200 MiB sent
    assert answer.status == 413
    assert f"{200 * MiB} bytes" in answer.json()["detail"] and "max_body_size" in answer.json()["detail"]
    assert seen == []
    assert raw_request(port(limited), "POST", "/upload", {}, b"x" * 1000, token=limited.token).status == 200
    assert seen == [1000]


def test_a_streamed_body_is_counted_and_cut_off_at_the_limit(limited: Playground) -> None:
    seen: list[int] = []
    mount_upload(limited, seen)
    chunk = b"y" * (256 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port(limited)), timeout=WAIT) as sock:
        sock.sendall("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                     f"Authorization: Bearer {limited.token}\r\n\r\n".encode())
        try:
            while sent < 20 * MiB:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        answer = read_answer(sock)
    assert answer.status == 413 and "while it was being read" in answer.json()["detail"]
    assert sent < 20 * MiB, "the server stopped reading at the limit"
    assert seen == [], "the handler never ran"
    assert limited.routes[0].errors == [], "not the handler's error"


# --- handshakes ----------------------------------------------------------------------------------------------------


def test_a_handler_that_never_accepts_is_cancelled_and_the_client_gets_503(limited: Playground) -> None:
    cancelled: list[bool] = []

    async def undecided(ws: WebSocket) -> None:
        try:
            await asyncio.Event().wait()  # neither accept() nor a refusal
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    limited.mount_ws("/undecided", undecided)
    started = time.monotonic()
    answer = ws_handshake(port(limited), "/undecided", token=limited.token)
    assert answer.status == 503 and time.monotonic() - started < WAIT
    assert "handshake_timeout=0.5" in answer.json()["detail"]
    assert cancelled == [True]
    route = wait_for(lambda: next((r for r in limited.routes if r.errors), None), "the route's error")
    assert "did not accept or refuse the handshake" in route.errors[-1]


@pytest.mark.parametrize(("target", "headers", "status"), [
    ("/x?" + "q" * (20 * 1024), {}, 414),
    ("/x", {"X-Big": "h" * (20 * 1024)}, 431),
])
def test_over_long_http_requests_get_a_prompt_4xx(limited: Playground, target: str, headers: dict[str, str],
                                                   status: int) -> None:
    answer = raw_request(port(limited), "GET", target, headers, token=limited.token)
    assert answer.status == status and "max_header_size" in answer.json()["detail"]


@pytest.mark.parametrize(("target", "headers", "status"), [
    ("/ws?" + "q" * (9 * 1024), {}, 414),
    ("/ws", {"X-Big": "h" * (9 * 1024)}, 431),
    ("/ws", {f"X-H{i}": "v" for i in range(200)}, 431),
])
def test_over_long_handshakes_get_a_prompt_4xx(limited: Playground, target: str, headers: dict[str, str],
                                               status: int) -> None:
    # uvicorn's websockets-sansio would leave these hanging; the playground's protocol answers them.
    assert ws_handshake(port(limited), target, headers, token=limited.token).status == status


def test_sessions_closed_while_connecting_are_closed_at_once(limited: Playground) -> None:
    async def undecided(ws: WebSocket) -> None:
        await asyncio.Event().wait()

    limited.mount_ws("/undecided", undecided)
    sessions = [limited.connect_nowait("/undecided") for _ in range(200)]
    for session in sessions:
        session.close_nowait()
    assert [s.state for s in sessions] == ["closed"] * 200
    wait_for(lambda: all(s.log and s.log[-1].data == "closed while connecting (the attempt was cancelled)"
                         for s in sessions), "each session's log to say so")
    # Server side, a handler that never looks at its connection cannot see the client leave: handshake_timeout
    # (0.5 s here) ends each attempt.
    wait_for(lambda: limited.routes[0].open_connections == 0, "the server to see every attempt go")
    late = limited.connect_nowait("/undecided")
    late.close()  # the blocking close too
    assert late.closed


# --- messages --------------------------------------------------------------------------------------------------------


def test_an_oversize_message_closes_1009_naming_the_limit(limited: Playground) -> None:
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(text)

    limited.mount_ws("/echo", echo)
    session = limited.connect("/echo")
    session.send("z" * (128 * 1024))
    wait_for(lambda: session.closed, "the session to be closed")
    assert session.close_code == 1009 and "65536 bytes" in session.close_reason


RSS_SCRIPT = textwrap.dedent("""
    import gc, json, psutil
    from lihil import WebSocket
    from lihil_notebook import Playground

    pg = Playground()
    pg.start()
    MESSAGE = b"m" * (1024 * 1024)

    async def big(ws: WebSocket) -> None:
        await ws.accept()
        for _ in range(40):
            await ws.send_bytes(MESSAGE)
        async for _ in ws.iter_bytes():
            pass

    pg.mount_ws("/big", big)
    warm = pg.connect("/big")  # one round first, so the baseline includes the server's own working set
    for _ in range(40):
        warm.receive()
    warm.close()
    gc.collect()
    before = psutil.Process().memory_info().rss
    for _ in range(20):
        session = pg.connect("/big")
        for _ in range(40 if READ else 1):
            session.receive(timeout=10)
        session.close()  # the handler's 40 messages were all sent before: they are in the log or the inbox
    gc.collect()
    after = psutil.Process().memory_info().rss
    print(json.dumps({"growth_mib": (after - before) / 2**20, "budget_mib": pg._sessions.budget.total / 2**20}))
    pg.stop()
""")


@pytest.mark.parametrize("read", [True, False], ids=["read", "unread"])
def test_closed_sessions_of_large_messages_do_not_keep_their_memory(read: bool) -> None:
    """20 sessions that each received 40 x 1 MiB and were closed held 811 MiB before the byte caps."""
    script = f"READ = {read}\n" + RSS_SCRIPT
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["budget_mib"] <= 64 + 1, figures  # total_log_bytes: what the logs and inboxes hold
    assert figures["growth_mib"] < 200, figures  # RSS, allocator slack included (was 811 MiB)


# --- a blocked loop -------------------------------------------------------------------------------------------------


def test_a_handler_blocking_the_loop_is_reported_with_its_line(limited: Playground) -> None:
    async def sleepy(ws: WebSocket) -> None:
        await ws.accept()
        async for _ in ws.iter_text():
            time.sleep(0.8)  # the mistake: blocks every connection
            await ws.send_text("woke")

    limited.mount_ws("/sleepy", sleepy)
    session = limited.connect("/sleepy")
    session.send("go")
    assert session.receive(timeout=WAIT) == "woke"
    line = wait_for(lambda: next((x for x in limited.server_log if "blocked" in x), None), "the report")
    assert "sleepy() (route /sleepy)" in line and "time.sleep(0.8)" in line and "test_limits.py, line" in line
    assert "await asyncio.sleep" in line and "asyncio.to_thread" in line
    warning = wait_for(lambda: next((e for e in session.log if e.kind == "server-warning"), None), "the warning")
    assert "sleepy()" in str(warning.data)
    assert any("blocked" in e for e in limited.routes[0].errors)
    wait_for(lambda: any("running again" in x for x in limited.server_log), "the all-clear")


def test_client_triggered_failures_are_not_logged_as_errors(limited: Playground) -> None:
    async def typed(ws: WebSocket, n: int) -> None:
        await ws.accept()
        await ws.close()

    limited.mount_ws("/typed", typed)
    for _ in range(5):
        assert ws_handshake(port(limited), "/typed?n=oops", token=limited.token).status == 400  # a denied parameter
        ws_handshake(port(limited), "/typed", {"Origin": "http://evil.example"})  # refused by the edge
        with socket.create_connection(("127.0.0.1", port(limited))) as sock:  # a client that vanishes
            sock.sendall(b"GET /typed?n=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert raw_request(port(limited), "GET", "/nothing", {}, token=limited.token).status == 404
    wait_for(lambda: limited.access.log.count == 5, "the refusals to be counted")
    noisy = [line for line in limited.server_log if "Traceback" in line or "Exception" in line or "ERROR" in line
             or "without completing handshake" in line]
    assert noisy == []


def test_restart_keeps_the_port(limited: Playground) -> None:
    before = limited.port
    limited.restart()
    assert limited.port == before




def test_a_restart_that_cannot_keep_the_port_says_so(limited: Playground) -> None:
    from lihil_notebook.playground import PortMovedWarning

    before = limited.port
    assert before is not None
    limited.stop()
    with socket.socket() as squatter:  # another program takes the port while the playground is stopped
        squatter.bind(("127.0.0.1", before))
        squatter.listen()
        with pytest.warns(PortMovedWarning, match=f"port {before} was taken"):
            limited.start()
        assert limited.port != before
        assert any(f"port {before} was taken" in line for line in limited.server_log)
