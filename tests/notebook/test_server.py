"""ServerThread and the Playground's server lifecycle, on real sockets: start, stop, failures, ports, hosts."""

from __future__ import annotations

import asyncio
import socket
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from lihil import Lihil, Route, WebSocket
from lihil_notebook import ExposedServerWarning, Playground, ServerNotRunningError, ServerStartError
from lihil_notebook.server.thread import ServerThread, bind_socket
from tests.notebook.playground_support import WAIT, port_is_free, server_threads, wait_for


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def hello_app() -> Lihil:
    route = Route("/hello")
    route.get(lambda: {"hello": "world"})
    return Lihil(route)


def test_server_thread_serves_then_stops_leaving_no_thread_or_port() -> None:
    server = ServerThread(hello_app(), bind_socket("127.0.0.1", 0))
    server.start()
    assert server_threads() == [server.thread] and server.thread.daemon
    assert http_get(f"http://127.0.0.1:{server.port}/hello") == (200, '{"hello":"world"}')

    assert server.stop()
    assert server_threads() == []
    assert port_is_free(server.port)
    assert server.stop(), "stop() is idempotent"


def test_a_failing_startup_is_a_clear_error_not_a_hang() -> None:
    @asynccontextmanager
    async def broken(app: Lihil) -> AsyncIterator[None]:
        raise RuntimeError("the database is down")
        yield

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = ServerThread(Lihil(lifespan=broken), sock)
    with pytest.raises(ServerStartError, match="failed to start") as caught:
        server.start()  # uvicorn raises SystemExit(3) in the thread; start() must notice the thread ended
    assert "the database is down" in str(caught.value)
    assert server_threads() == [] and port_is_free(port)


def test_binding_a_port_in_use_names_the_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {port} is already in use on 127.0.0.1"):
            bind_socket("127.0.0.1", port)


def test_stop_closes_connections_even_when_the_handler_ignores_them(pg: Playground,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    async def stubborn(ws: WebSocket) -> None:
        await ws.accept()
        await asyncio.sleep(3600)  # never reads: a graceful close alone would wait for it forever

    pg.mount_ws("/stubborn", stubborn)
    port = pg.port
    assert port is not None
    with connect(pg.ws_url("/stubborn"), proxy=None) as client:
        wait_for(lambda: pg.routes[0].open_connections == 1, "the server to serve the connection")
        pg.stop()
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=3.0)  # the bound the issue sets: closed within 3 s
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert server_threads() == [] and port_is_free(port)
    # uvicorn complains about the cancelled handler; that goes to the playground's log, not to stderr
    assert any("Cancel" in line for line in pg.server_log)
    assert "Cancel" not in capfd.readouterr().err


def test_routes_survive_stop_and_start_and_the_port_is_kept(pg: Playground) -> None:
    async def hello(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")

    pg.mount_ws("/hello", hello)
    port = pg.port
    pg.stop()
    assert not pg.is_running and pg.port is None
    with pytest.raises(ConnectionRefusedError):
        connect(f"ws://127.0.0.1:{port}/hello", proxy=None, open_timeout=WAIT)
    pg.start()
    pg.start()  # idempotent
    assert pg.port == port and len(server_threads()) == 1
    with connect(pg.ws_url("/hello"), proxy=None) as client:
        assert client.recv(timeout=WAIT) == "hello"
    pg.restart()
    assert pg.port == port and len(server_threads()) == 1


def test_moving_to_a_port_in_use_keeps_the_previous_server_running(pg: Playground) -> None:
    pg.mount_http("/ping", lambda: "pong")
    before = pg.url
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {busy} is already in use"):
            pg.set_port(busy)
    assert pg.url == before and http_get(f"{before}/ping?lihil_token={pg.token}") == (200, '"pong"')

    old_port = pg.port
    assert old_port is not None
    with socket.socket() as spare:  # a port we know was free a moment ago
        spare.bind(("127.0.0.1", 0))
        target = spare.getsockname()[1]
    pg.set_port(target)
    assert pg.port == target and http_get(pg.http_url("/ping")) == (200, '"pong"')
    assert port_is_free(old_port) and len(server_threads()) == 1


def test_a_non_loopback_host_warns() -> None:
    stopped = Playground()  # never started: nothing is bound to 0.0.0.0 by this test
    with pytest.warns(ExposedServerWarning, match="reachable from other machines"):
        stopped.set_host("0.0.0.0")
    assert stopped.host == "0.0.0.0"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        stopped.set_host("127.0.0.1")
        stopped.set_host("localhost")
    assert not [w for w in record if issubclass(w.category, ExposedServerWarning)]


def test_moving_to_another_loopback_host_restarts_there(pg: Playground) -> None:
    pg.mount_http("/ping", lambda: "pong")
    pg.set_host("127.0.0.2")
    assert pg.url.startswith("http://127.0.0.2:")
    assert http_get(pg.http_url("/ping")) == (200, '"pong"')
    assert len(server_threads()) == 1


def test_the_server_loop_runs_submitted_work_and_refuses_it_when_stopped(pg: Playground) -> None:
    async def where() -> str:
        return threading.current_thread().name

    assert pg.submit(where()).result(WAIT) == "lihil-playground-server"
    seen: list[str] = []
    pg.call_soon(seen.append, "ran")
    wait_for(lambda: seen == ["ran"], "call_soon to run")
    pg.stop()
    with pytest.raises(ServerNotRunningError, match="stopped"):
        pg.call_soon(seen.append, "again")
