"""A Lihil app below a path prefix: mounted in a Starlette app, or served by uvicorn with `--root-path`.

ASGI puts the prefix in `scope["root_path"]` and keeps the full path in `scope["path"]` (Starlette 1.x, uvicorn);
routes are matched on the path with the prefix taken off, as Starlette's own router does.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from lihil import Lihil, WebSocket, WebSocketRoute
from lihil.vendors import TestClient
from tests.core.core_support import denied, refused_status, ws_connect


def _app() -> Lihil:
    room = WebSocketRoute("/rooms/{name}")

    @room.endpoint
    async def join(ws: WebSocket, name: str) -> None:
        await ws.accept()
        await ws.send_text(f"joined {name} at {ws.url.path}")
        await ws.close()

    app = Lihil(room)

    @app.get
    async def index() -> str:
        return "index"

    @app.sub("/hello").get
    async def hello() -> str:
        return "hello"

    return app


def test_lihil_mounted_in_starlette_serves_below_the_mount() -> None:
    outer = Starlette(routes=[Mount("/sub", app=_app())])
    with TestClient(outer) as client:
        assert client.get("/sub/hello").json() == "hello"
        assert client.get("/sub/").json() == "index"
        with client.websocket_connect("/sub/rooms/lobby") as ws:
            assert ws.receive_text() == "joined lobby at /sub/rooms/lobby"
        assert client.get("/sub/nothing").status_code == 404
        assert denied(client, "/sub/nothing").status_code == 404


def test_mounted_under_a_real_server(serve: Any) -> None:
    server = serve(Starlette(routes=[Mount("/sub", app=_app())]))
    assert httpx.get(server.http_url("/sub/hello"), timeout=5).json() == "hello"
    with ws_connect(server.ws_url("/sub/rooms/lobby")) as conn:
        assert conn.recv(timeout=5) == "joined lobby at /sub/rooms/lobby"


def test_uvicorn_root_path_behind_a_proxy_that_strips_the_prefix(serve: Any) -> None:
    server = serve(_app(), root_path="/proxy")
    # The proxy took "/proxy" off; uvicorn puts it back into scope["path"] and scope["root_path"].
    assert httpx.get(server.http_url("/hello"), timeout=5).json() == "hello"
    with ws_connect(server.ws_url("/rooms/lobby")) as conn:
        assert conn.recv(timeout=5) == "joined lobby at /proxy/rooms/lobby"
    assert refused_status(server.ws_url("/nothing")) == 404


def test_a_prefix_is_only_taken_off_at_a_segment_boundary() -> None:
    # root_path "/sub" must not turn "/subway" into "way".
    app = _app()
    with TestClient(app, root_path="/sub") as client:
        assert client.get("/sub/hello").json() == "hello"
        assert client.get("/subhello").status_code == 404
