"""The in-process transport on CPython (issue 23): the app on the caller's loop, with no port and no thread.

Forced with ``Playground(transport="in-process")``; in JupyterLite it is the automatic choice (tests/lite runs it
there). The session, route, console-session and ``pg.show`` tests run in this mode too (tests/in_process_support.py);
these tests cover what only this mode has.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lihil import ChannelBase, LocalClient, Topic, WebSocket
from lihil.vendors import TestClient
from lihil_notebook import Playground, PlaygroundError, SessionConnectError, playground
from lihil_notebook.transports import NO_NETWORK, check_transport
from lihil_notebook.ui import route_card
from tests.notebook.playground_support import server_threads
from tests.notebook.test_magics import run


async def echo(ws: WebSocket, room: str) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        print(f"heard {text}")
        await ws.send_text(f"[{room}] {text}")


class Room(ChannelBase):
    topic = Topic("room:{name}")

    async def on_chat(self, payload: dict[str, Any]) -> None:
        await self.publish({"said": payload["text"]}, event="chat")


@pytest.fixture
def pg() -> Iterator[Playground]:
    instance = Playground(transport="in-process")
    instance.start()
    yield instance
    instance.stop()


def test_it_serves_with_no_port_no_thread_and_says_so_where_a_url_would_be(pg: Playground) -> None:
    threads = threading.active_count()
    pg.mount_ws("/echo/{room}", echo)
    session = pg.connect("/echo/lobby")
    session.send("hi")
    assert session.receive() == "[lobby] hi"
    assert [(e.direction, e.kind, e.data) for e in session.log] == [
        ("event", "open", "connected to ws://in-process/echo/lobby"), ("sent", "text", "hi"),
        ("event", "server-print", "heard hi"), ("received", "text", "[lobby] hi")]
    assert server_threads() == [] and threading.active_count() == threads
    assert (pg.in_process, pg.transport, pg.port) == (True, "in-process", None)
    assert pg.url == pg.ws_url("/echo/x") == pg.browser_url("/echo/x") == NO_NETWORK == "in this kernel (no network)"
    assert repr(pg) == "<Playground in this kernel (no network), 1 route(s)>"
    card = route_card(pg, "/echo/{room}")
    assert NO_NETWORK in card.info.value and "127.0.0.1" not in card.info.value
    assert (card.browser_url.href, card.browser_url.empty) == ("", f"{NO_NETWORK}: no URL to open")
    with pytest.raises(PlaygroundError, match=r"set_port: the playground runs in-process \(in this kernel"):
        pg.set_port(8000)
    session.close()
    assert session.close_code == 1000 and pg.routes[0].open_connections == 0


def test_a_blocking_call_on_the_loop_it_serves_on_names_its_await_twin() -> None:
    async def cell() -> list[str]:
        pg = Playground(transport="in-process")
        pg.start()  # a loop runs (as in a kernel cell): the playground serves on it
        pg.mount_ws("/echo/{room}", echo)
        session = await pg.aconnect("/echo/a")
        errors = []
        for blocking in (lambda: session.receive(timeout=0.1), lambda: pg.connect("/echo/b"), session.ping):
            with pytest.raises(RuntimeError) as refused:
                blocking()
            errors.append(str(refused.value))
        session.send("sent without waiting")
        assert await session.areceive() == "[a] sent without waiting"
        await session.aclose()
        pg.stop()
        return errors

    errors = asyncio.run(cell())
    for error, twin in zip(errors, ("await s.areceive()", "await pg.aconnect(...)", "await s.aping()"), strict=True):
        assert f"use `{twin}` instead" in error and "runs in-process" in error, error


def test_denials_hubs_and_http_routes_work_in_process(pg: Playground) -> None:
    def hello(name: str = "you") -> str:  # a sync endpoint
        return f"hello {name}"

    pg.mount_http("/hello", hello)
    pg.mount_ws("/echo/{room}", echo)
    pg.mount_hub("/rooms", Room)
    with pytest.raises(SessionConnectError, match="HTTP 404 Not Found") as denied:
        pg.connect("/nowhere")
    assert denied.value.status == 404
    assert pg.get_in_process("/hello?name=ann", {"Authorization": f"Bearer {pg.token}"} if pg.token else {}, 5) \
        == (200, "application/json", b'"hello ann"')

    ann, bob = pg.connect("/rooms", name="ann"), pg.connect("/rooms", name="bob")
    for who in (ann, bob):
        who.send(json.dumps({"topic": "room:lobby", "event": "join", "ref": "j"}))
        assert json.loads(who.receive())["payload"]["status"] == "ok"
    ann.send(json.dumps({"topic": "room:lobby", "event": "chat", "payload": {"text": "hi"}, "ref": "c"}))
    assert json.loads(bob.receive())["payload"] == {"said": "hi"}

    # The app's own in-process clients work as they always do (they go around the edge: they are not the network).
    assert TestClient(pg.app).get("/hello").json() == "hello you"
    result = asyncio.run(LocalClient().call_app(pg.app, "GET", "/hello", query_params={"name": "bob"}))
    assert asyncio.run(result.json()) == "hello bob"


def test_the_transport_is_chosen_by_the_platform_and_switched_by_the_magic(ip: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_transport(None) == "tcp" and check_transport("in_process") == "in-process"
    with pytest.raises(PlaygroundError, match="transport must be 'tcp', 'in-process' or None"):
        check_transport("udp")
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert check_transport(None) == "in-process"
    with pytest.raises(PlaygroundError, match=r"runs in the browser \(Pyodide\), which opens no network connections"):
        Playground(transport="in-process").set_bus("redis://127.0.0.1:6379/0")
    monkeypatch.undo()

    result, shown = run(ip, "%lihil transport in-process")
    assert result.error_in_exec is None and "transport: in-process, running in this kernel (no network)" in shown.stdout
    pg = playground()
    assert pg.in_process and server_threads() == []
    pg.mount_ws("/echo/{room}", echo)
    session = pg.connect("/echo/z")
    session.send("x")
    assert session.receive() == "[z] x"
    result, shown = run(ip, "%lihil transport tcp")
    assert result.error_in_exec is None and f"transport: tcp, running at http://127.0.0.1:{pg.port}" in shown.stdout
    assert not pg.in_process and len(server_threads()) == 1
    result, shown = run(ip, "%lihil transport udp")
    assert "transport must be 'tcp', 'in-process' or None" in str(result.error_in_exec)
    pg.unmount("/echo/{room}")
