"""The route table changes while serving: next connection sees the change, open connections keep their handler."""

import threading
from collections.abc import Callable, Coroutine
from typing import Any

from lihil import Lihil, WebSocket, WebSocketRoute
from lihil.vendors import TestClient, WebSocketDisconnect
from tests.core.core_support import ServerThread, denied, refused_status, ws_connect

RECV_TIMEOUT = 5.0


def tagged_echo(tag: str) -> Callable[[WebSocket], Coroutine[Any, Any, None]]:
    """A handler that answers every text frame with `<tag>:<text>` until the client leaves."""

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(f"{tag}:{await ws.receive_text()}")
        except WebSocketDisconnect:
            pass

    return echo


def echo_route(path: str, tag: str) -> WebSocketRoute:
    route = WebSocketRoute(path)
    route.endpoint(tagged_echo(tag))
    return route


def test_include_after_startup_serves_next_connection() -> None:
    app = Lihil()
    with TestClient(app) as client:
        assert denied(client, "/late").status_code == 404
        app.include(echo_route("/late", "late"))
        with client.websocket_connect("/late") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "late:hi"


def test_replacing_handler_keeps_open_connection_on_old_handler() -> None:
    route = echo_route("/chat", "v1")
    app = Lihil(route)
    with TestClient(app) as client, client.websocket_connect("/chat") as old:
        old.send_text("a")
        assert old.receive_text() == "v1:a"
        route.endpoint(tagged_echo("v2"))
        old.send_text("b")
        assert old.receive_text() == "v1:b"
        with client.websocket_connect("/chat") as new:
            new.send_text("c")
            assert new.receive_text() == "v2:c"
        old.send_text("d")
        assert old.receive_text() == "v1:d"


def test_changes_from_another_thread_while_uvicorn_serves(serve: Callable[..., ServerThread]) -> None:
    route = echo_route("/room", "v1")
    app = Lihil(route)
    server = serve(app)
    # This test thread is not the server's thread: every change below crosses threads.
    with ws_connect(server.ws_url("/room")) as old:
        old.send("a")
        assert old.recv(timeout=RECV_TIMEOUT) == "v1:a"

        route.endpoint(tagged_echo("v2"))
        app.include(echo_route("/added", "added"))

        old.send("b")
        assert old.recv(timeout=RECV_TIMEOUT) == "v1:b"
        with ws_connect(server.ws_url("/room")) as new:
            new.send("c")
            assert new.recv(timeout=RECV_TIMEOUT) == "v2:c"
        with ws_connect(server.ws_url("/added")) as added:
            added.send("d")
            assert added.recv(timeout=RECV_TIMEOUT) == "added:d"

    removed = app.remove_route("/added")
    assert isinstance(removed, WebSocketRoute)
    assert app.remove_route("/added") is None
    assert refused_status(server.ws_url("/added")) == 404


def test_concurrent_handler_swaps_never_break_a_connection(serve: Callable[..., ServerThread]) -> None:
    """A thread swaps the handler back and forth while connections keep arriving: each gets v1 or v2, whole."""
    swaps, connections = 300, 30
    route = echo_route("/swap", "v0")
    server = serve(Lihil(route))
    handlers = [tagged_echo("v1"), tagged_echo("v2")]
    stop = threading.Event()
    errors: list[BaseException] = []

    def swapper() -> None:
        try:
            for i in range(swaps):
                if stop.is_set():
                    return
                route.endpoint(handlers[i % 2])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    answers = set()
    try:
        for i in range(connections):
            with ws_connect(server.ws_url("/swap")) as ws:
                ws.send(str(i))
                answers.add(str(ws.recv(timeout=RECV_TIMEOUT)).split(":")[0])
    finally:
        stop.set()
        thread.join(RECV_TIMEOUT)
    assert not thread.is_alive()
    assert errors == []
    assert answers <= {"v0", "v1", "v2"}
