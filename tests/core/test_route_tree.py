"""The route tree: `merge` copies a tree of routes under another route's path, for WebSocket and HTTP routes.

Grandchildren keep their own place in the copied tree (issue 9: they used to get their parent's prefix twice).
"""

from __future__ import annotations

from typing import Any

from lihil import Lihil, Route, WebSocket, WebSocketRoute
from lihil.vendors import TestClient
from tests.core.core_support import denied, hello_route, refused_status, ws_connect


def _paths(route: WebSocketRoute | Route) -> list[str]:
    """`route`'s subtree, depth first, by path."""
    found: list[str] = []
    for child in route.subroutes:
        found.append(child.path)
        found.extend(_paths(child))
    return found


def _receive(app: Lihil, path: str) -> str:
    with TestClient(app) as client, client.websocket_connect(path) as ws:
        return ws.receive_text()


async def _say_sub(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("sub")
    await ws.close()


def test_ws_merge_keeps_grandchildren_under_their_parent_once() -> None:
    parent = hello_route("/parent", "parent")
    parent.sub("/sub").endpoint(_say_sub)
    api = hello_route("/api/v0", "api")

    api.merge(parent)

    assert _paths(api) == ["/api/v0/parent", "/api/v0/parent/sub"]
    app = Lihil(api)
    assert _receive(app, "/api/v0/parent") == "parent"
    assert _receive(app, "/api/v0/parent/sub") == "sub"


def test_http_merge_keeps_grandchildren_under_their_parent_once() -> None:
    parent = Route("/parent")
    parent.get(lambda: "parent")
    grandchild = parent.sub("/sub").sub("/deep")
    grandchild.get(lambda: "deep")
    api = Route("/api/v0")

    api.merge(parent)

    assert _paths(api) == ["/api/v0/parent", "/api/v0/parent/sub", "/api/v0/parent/sub/deep"]
    with TestClient(Lihil(api)) as client:
        assert client.get("/api/v0/parent").json() == "parent"
        assert client.get("/api/v0/parent/sub/deep").json() == "deep"
        assert client.get("/api/v0/parent/parent/sub/deep").status_code == 404


def test_merge_with_parent_prefix_strips_it_from_the_merged_paths() -> None:
    # lihil's spelling for trees built with absolute paths: the prefix is taken off each sub's path, then the
    # rest goes under this route.
    users = Route("/api/v1/users")
    users.get(lambda: "users")
    v1 = Route("/api/v1")
    v1.merge(users, parent_prefix="/api/v1")
    api = Route("/api")
    api.merge(v1, parent_prefix="/api")

    assert _paths(v1) == ["/api/v1/users"]
    assert _paths(api) == ["/api/v1", "/api/v1/users"]
    with TestClient(Lihil(api)) as client:
        assert client.get("/api/v1/users").json() == "users"


def test_ws_route_without_handler_is_only_a_prefix(serve: Any) -> None:
    api = WebSocketRoute("/api")  # no handler: it only gives its path to the routes below it
    api.sub("/chat").endpoint(_say_sub)
    app = Lihil(api)

    with TestClient(app) as client:  # startup sets every route up; the prefix must not stop it
        with client.websocket_connect("/api/chat") as ws:
            assert ws.receive_text() == "sub"
        assert denied(client, "/api").status_code == 404

    server = serve(app)  # and under a real server's lifespan
    with ws_connect(server.ws_url("/api/chat")) as conn:
        assert conn.recv(timeout=5) == "sub"
    assert refused_status(server.ws_url("/api")) == 404


def test_ws_prefix_route_serves_once_it_gets_a_handler() -> None:
    api = WebSocketRoute("/api")
    app = Lihil(api)
    with TestClient(app) as client:
        assert denied(client, "/api").status_code == 404
        api.endpoint(_say_sub)
        with client.websocket_connect("/api") as ws:
            assert ws.receive_text() == "sub"
