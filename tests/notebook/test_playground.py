"""Live routes through a real server: mounting, redefining (stale sessions), unmounting, prints, errors, observers."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from lihil import MISSING, Struct, WebSocket
from lihil_notebook import Playground, RouteDefinitionError, SessionClosedError, SessionConnectError
from tests.notebook.playground_support import WAIT, wait_for


class Body(Struct):
    text: str


class Broken:
    def __init__(self) -> None:
        raise RuntimeError("no connection pool")


async def echo(ws: WebSocket, room: str, upper: bool = False) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(f"[{room}] " + (text.upper() if upper else text))


def test_a_mounted_route_serves_any_client_and_describes_itself(pg: Playground) -> None:
    info = pg.mount_ws("/echo/{room}", echo)
    assert (info.path, info.kind, info.handler_name, info.version) == ("/echo/{room}", "ws", "echo", 1)
    assert info.param_lines == ["room: str (path)", "upper: bool = False (query)"]
    assert [(p.name, p.location, p.annotation, p.default) for p in info.params] == [
        ("room", "path", str, MISSING), ("upper", "query", bool, False)]
    assert pg.ws_url("/echo/{room}", token=False) == f"ws://127.0.0.1:{pg.port}/echo/{{room}}"
    assert pg.ws_url("/echo/{room}") == f"ws://127.0.0.1:{pg.port}/echo/{{room}}?lihil_token={pg.token}"

    with connect(pg.ws_url("/echo/lobby?upper=true"), proxy=None) as client:  # a plain websockets client
        client.send("hi")
        assert client.recv(timeout=WAIT) == "[lobby] HI"
        wait_for(lambda: pg.routes[0].open_connections == 1, "the open connection to be counted")
    wait_for(lambda: pg.routes[0].open_connections == 0, "the closed connection to be uncounted")

    session = pg.connect("/echo/kitchen")
    session.send("hello")
    assert session.receive() == "[kitchen] hello"
    session.close()


def test_redefining_a_route_serves_new_code_and_marks_open_sessions_stale(pg: Playground) -> None:
    pg.mount_ws("/echo/{room}", echo)
    old = pg.connect("/echo/a")

    async def shout(ws: WebSocket, room: str) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(text.upper() + "!")

    info = pg.mount_ws("/echo/{room}", shout)
    assert (info.version, info.handler_name) == (2, "shout")
    wait_for(lambda: old.stale, "the open session to be marked stale")
    stale = [e for e in old.log if e.kind == "stale"]
    assert len(stale) == 1 and "version 2" in str(stale[0].data)

    old.send("still here")
    assert old.receive() == "[a] still here", "an open connection finishes on the handler it started with"
    new = pg.connect("/echo/b")
    new.send("hi")
    assert new.receive() == "HI!"
    assert not new.stale


def test_a_bad_handler_changes_nothing(pg: Playground) -> None:
    pg.mount_ws("/echo/{room}", echo)
    before = pg.routes

    def sync_handler(ws: WebSocket, room: str) -> None: ...

    async def with_body(ws: WebSocket, room: str, body: Body) -> None: ...

    async def no_room(ws: WebSocket) -> None: ...

    async def unannotated(ws, room: str) -> None: ...

    cases: list[tuple[str, Callable[..., Any], str]] = [
        ("/echo/{room}", sync_handler, "sync function"),
        ("/echo/{room}", with_body, "body param"),
        ("/echo/{room}", no_room, r"the path has \{room\} but no_room\(\) has no such parameter"),
        ("/echo/{room}", unannotated, r"unannotated\(\) never receives the connection; annotate it"),
        ("echo", echo, "must start with '/'"),
        ("/echo/{room", echo, "matching braces"),
        ("/echo/", echo, "trailing '/'"),
    ]
    for path, handler, message in cases:
        with pytest.raises(RouteDefinitionError, match=message):
            pg.mount_ws(path, handler)
    assert pg.routes == before
    with connect(pg.ws_url("/echo/x"), proxy=None) as client:
        client.send("same as before")
        assert client.recv(timeout=WAIT) == "[x] same as before"


def test_unmounting_a_route_refuses_the_next_connection(pg: Playground) -> None:
    pg.mount_ws("/echo/{room}", echo)
    pg.unmount("/echo/{room}")
    assert pg.routes == []
    with pytest.raises(InvalidStatus) as refused:
        connect(pg.ws_url("/echo/x"), proxy=None, open_timeout=WAIT)
    assert refused.value.response.status_code == 404
    with pytest.raises(RouteDefinitionError, match=re.escape("no route is mounted at '/echo/{room}'")):
        pg.unmount("/echo/{room}")


def test_a_handlers_print_goes_to_its_connection_not_to_stdout(pg: Playground,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    async def chatty(ws: WebSocket) -> None:
        await ws.accept()
        print("accepted", end="")
        print(" a connection")
        async for text in ws.iter_text():
            print(f"got {text}")
            await ws.send_text("ok")

    pg.mount_ws("/chatty", chatty)
    session = pg.connect("/chatty")
    session.send("one")
    print("the cell's own print")  # printed on the main thread meanwhile: must stay in the cell
    assert session.receive() == "ok"
    prints = [e.data for e in session.log if e.kind == "server-print"]
    assert prints == ["accepted a connection", "got one"]
    assert pg.routes[0].output == ["accepted a connection", "got one"]
    out = capsys.readouterr().out
    assert "the cell's own print" in out and "accepted" not in out and "got one" not in out

    with connect(pg.ws_url("/chatty"), proxy=None) as client:  # no Session: the route's output still has it
        client.send("two")
        client.recv(timeout=WAIT)
    assert pg.routes[0].output[-1] == "got two"


def test_a_handler_that_raises_closes_1011_and_files_its_traceback(pg: Playground) -> None:
    async def fragile(ws: WebSocket) -> None:
        await ws.accept()
        text = await ws.receive_text()
        raise ValueError(f"cannot handle {text!r}")

    pg.mount_ws("/fragile", fragile)
    session = pg.connect("/fragile")
    session.send("this")
    with pytest.raises(SessionClosedError, match=r"code 1011 \(internal error\)") as closed:
        session.receive()
    assert closed.value.code == 1011
    errors = [e.data for e in session.log if e.kind == "server-error"]
    assert len(errors) == 1
    assert isinstance(errors[0], str) and "ValueError: cannot handle 'this'" in errors[0]
    assert "in fragile" in errors[0] and "lihil/websocket.py" not in errors[0], "starts at the user's code"
    assert pg.routes[0].errors == errors


def test_errors_before_the_handler_runs_are_filed_too(pg: Playground) -> None:
    async def needs_pool(ws: WebSocket, pool: Broken) -> None: ...

    pg.app.graph.node(Broken)
    pg.mount_ws("/pool", needs_pool)
    session = pg.connect_nowait("/pool")
    wait_for(lambda: session.closed, "the session to be closed")
    # the dependency fails before accept, so the handshake itself is refused
    assert [e.kind for e in session.log] == ["denied", "server-error"]
    assert "RuntimeError: no connection pool" in str(session.log[1].data)
    assert "no connection pool" in pg.routes[0].errors[0]


def test_http_routes_serve_and_capture_prints(pg: Playground, capsys: pytest.CaptureFixture[str]) -> None:
    def page() -> str:
        print("serving the page")  # a sync handler runs in a worker thread: still captured
        return "<h1>hi</h1>"

    async def items(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    info = pg.mount_http("/page", page)
    assert (info.kind, info.methods) == ("http", ("GET",))
    pg.mount_http("/items/{item_id}", items, method="post")
    with urllib.request.urlopen(pg.http_url("/page"), timeout=WAIT) as response:
        assert response.read() == b'"<h1>hi</h1>"'
    request = urllib.request.Request(pg.http_url("/items/7"), method="POST")
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        assert response.read() == b'{"item":7}'
    assert "serving" not in capsys.readouterr().out
    assert pg.routes[0].output == ["serving the page"]
    with pytest.raises(RouteDefinitionError, match="is already an HTTP route"):
        pg.mount_ws("/page", echo)


def test_observers_hear_about_routes_sessions_and_the_server(pg: Playground) -> None:
    events: list[str] = []
    unsubscribe = pg.observe(events.append)
    pg.mount_ws("/echo/{room}", echo)
    session = pg.connect("/echo/x")
    session.close()
    pg.restart()
    unsubscribe()
    pg.unmount("/echo/{room}")
    assert {"routes", "sessions", "server"} <= set(events)
    assert events.count("routes") == 1, "no events after unsubscribing"


def test_denied_handshake_is_a_clear_error_naming_the_parameter(pg: Playground) -> None:
    pg.mount_ws("/echo/{room}", echo)
    with pytest.raises(SessionConnectError, match="query 'upper'") as denied:
        pg.connect("/echo/x?upper=maybe")
    assert denied.value.status == 400
    assert denied.value.problem["detail"][0]["param"] == "upper"

    session = pg.connect_nowait("/echo/x?upper=maybe")  # the non-blocking twin: the outcome lands in the log
    wait_for(lambda: session.closed, "the denied session to close")
    assert [e.kind for e in session.log] == ["denied"]


def test_a_session_opened_from_a_handler_is_not_a_deadlock(pg: Playground) -> None:
    pg.mount_ws("/echo/{room}", echo)

    async def relay(ws: WebSocket) -> None:
        await ws.accept()
        inner = pg.connect_nowait("/echo/inner")  # non-blocking: fine on the server thread
        try:
            inner.receive(timeout=0.1)
        except RuntimeError as exc:  # the blocking API refuses instead of deadlocking
            await ws.send_text(str(exc))
        await inner.aclose()

    pg.mount_ws("/relay", relay)
    session = pg.connect("/relay")
    assert "called on the playground's server thread" in str(session.receive())
