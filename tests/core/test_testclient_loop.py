"""``TestClient`` without a thread (issue 23): in a browser kernel (Pyodide) Starlette's portal thread cannot start,
so our ``TestClient`` runs the app on the kernel's own loop through a :class:`LoopPortal`. In the browser each call
suspends the cell (``run_sync``; tests/lite runs lessons 02 and 05 that way). Here, on CPython, the same portal
drives a loop nobody else runs — so the whole client is exercised with no thread at all."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from starlette.testclient import WebSocketDenialResponse

from lihil import Lihil, Route, WebSocket, WebSocketRoute
from lihil.testclient import LoopPortal
from lihil.vendors import TestClient

threads_seen: list[str] = []
lifespan_events: list[str] = []

echo = WebSocketRoute("/echo/{room}")


@echo.endpoint
async def echo_handler(ws: WebSocket, room: str, upper: bool = False) -> None:
    threads_seen.append(threading.current_thread().name)
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(f"[{room}] " + (text.upper() if upper else text))


silent = WebSocketRoute("/silent")


@silent.endpoint
async def silent_handler(ws: WebSocket) -> None:
    await ws.accept()
    await asyncio.Event().wait()  # never says anything


hello = Route("/hello")


@hello.get
async def say_hello(name: str = "you") -> dict[str, str]:
    threads_seen.append(threading.current_thread().name)
    return {"hello": name}


broken = Route("/broken")


@broken.get
async def fail() -> None:
    raise ValueError("the handler broke")


@asynccontextmanager
async def lifespan(app: Lihil) -> AsyncIterator[None]:
    lifespan_events.append("startup")
    yield
    lifespan_events.append("shutdown")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def client_on(loop: asyncio.AbstractEventLoop, timeout: float = 5.0) -> TestClient:
    client = TestClient(Lihil(echo, silent, hello, broken, lifespan=lifespan))
    client.portal = LoopPortal(loop, timeout=timeout)  # type: ignore[assignment]
    return client


def test_http_websockets_and_lifespan_run_in_the_calling_thread_with_no_other_thread(
        loop: asyncio.AbstractEventLoop) -> None:
    threads_seen.clear()
    lifespan_events.clear()
    before = threading.active_count()
    with client_on(loop) as client:
        assert lifespan_events == ["startup"]
        assert client.get("/hello", params={"name": "ann"}).json() == {"hello": "ann"}
        with client.websocket_connect("/echo/lobby?upper=true") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "[lobby] HI"
            assert threading.active_count() == before
    assert lifespan_events == ["startup", "shutdown"]
    assert threads_seen == ["MainThread", "MainThread"]


def test_without_with_requests_work_too(loop: asyncio.AbstractEventLoop) -> None:
    client = client_on(loop)
    assert client.get("/hello").json() == {"hello": "you"}
    with client.websocket_connect("/echo/den") as ws:
        ws.send_text("x")
        assert ws.receive_text() == "[den] x"


def test_a_refused_handshake_and_a_server_exception_reach_the_caller(loop: asyncio.AbstractEventLoop) -> None:
    with client_on(loop) as client:
        with pytest.raises(WebSocketDenialResponse) as denial, client.websocket_connect("/echo/lobby?upper=maybe"):
            pass
        assert denial.value.status_code == 400
        with pytest.raises(ValueError, match="the handler broke"):
            client.get("/broken")


def test_a_receive_nobody_answers_times_out_naming_the_setting(loop: asyncio.AbstractEventLoop) -> None:
    with client_on(loop, timeout=0.3) as client, client.websocket_connect("/silent") as ws, \
            pytest.raises(TimeoutError, match=r"within 0.3 s \(LoopPortal timeout=\)"):
        ws.receive_text()


def test_called_on_a_running_loop_it_says_what_to_use_instead() -> None:
    async def inside() -> None:
        client = TestClient(Lihil(hello))
        client.portal = LoopPortal(asyncio.get_running_loop())  # type: ignore[assignment]
        with pytest.raises(RuntimeError, match="use `await` with lihil's LocalClient"):
            client.get("/hello")

    asyncio.run(inside())


def test_a_bad_timeout_is_refused_by_name(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(ValueError, match=r"LoopPortal: timeout= expects seconds > 0, got 0"):
        LoopPortal(loop, timeout=0)
