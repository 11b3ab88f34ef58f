"""`Lihil`: lifespan, middleware order, include/sub/get_route, root-level HTTP methods, TestClient modes."""

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from lihil import Lihil, Route
from lihil.vendors import TestClient
from tests.core.core_support import hello_route


def test_user_async_generator_lifespan_wraps_serving() -> None:
    events: list[str] = []

    async def lifespan(app: Lihil) -> AsyncGenerator[None, None]:
        assert isinstance(app, Lihil)
        events.append("startup")
        yield
        events.append("shutdown")

    app = Lihil(lifespan=lifespan)

    @app.get
    async def index() -> dict[str, list[str]]:
        return {"events": list(events)}

    with TestClient(app) as client:
        assert client.get("/").json() == {"events": ["startup"]}
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


def _tagging_middleware(tag: str, seen: list[tuple[str, str]]) -> Any:
    def factory(inner: Any) -> Any:
        async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket"):
                seen.append((tag, scope["type"]))
            await inner(scope, receive, send)

        return middleware

    return factory


def test_middlewares_first_is_outermost_and_add_middleware_appends() -> None:
    seen: list[tuple[str, str]] = []
    app = Lihil(
        hello_route("/ws", "ok"),
        middlewares=[_tagging_middleware("m1", seen), _tagging_middleware("m2", seen)],
    )
    app.add_middleware(_tagging_middleware("m3", seen))

    @app.get
    async def index() -> str:
        return "hi"

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert seen == [("m1", "http"), ("m2", "http"), ("m3", "http")]
        seen.clear()
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "ok"
        assert seen == [("m1", "websocket"), ("m2", "websocket"), ("m3", "websocket")]


def test_include_get_route_and_sub() -> None:
    app = Lihil()
    ws_route = hello_route("/ws", "ok")
    app.include(ws_route)
    assert app.get_route("/ws") is ws_route
    assert app.get_route("/nope") is None
    assert ws_route in app.routes

    users = app.sub("users")
    assert isinstance(users, Route)
    assert users.path == "/users"
    assert app.get_route("/users") is users

    @users.get
    async def list_users() -> list[str]:
        return ["ann"]

    with TestClient(app) as client:
        assert client.get("/users").json() == ["ann"]


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch", "options", "head"])
def test_root_level_http_methods(method: str) -> None:
    app = Lihil()

    async def handler() -> dict[str, str]:
        return {"method": method}

    getattr(app, method)(handler)
    with TestClient(app) as client:
        response = client.request(method.upper(), "/")
    assert response.status_code == 200
    if method != "head":
        assert response.json() == {"method": method}


def test_testclient_without_with_block_serves_http_and_websocket() -> None:
    app = Lihil(hello_route("/ws", "ok"))

    @app.get
    async def index() -> dict[str, bool]:
        return {"ok": True}

    client = TestClient(app)  # no lifespan: routes must be set up at include time (or lazily)
    assert client.get("/").json() == {"ok": True}
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "ok"


def test_route_add_middleware_wraps_its_endpoints_even_once_serving() -> None:
    seen: list[tuple[str, str]] = []
    http = Route("/page")

    @http.get
    async def page() -> str:
        return "page"

    ws = hello_route("/ws", "ok")
    app = Lihil(http, ws)
    with TestClient(app) as client:
        assert client.get("/page").json() == "page"
        assert seen == []
        http.add_middleware(_tagging_middleware("r2", seen))
        http.add_middleware([_tagging_middleware("r1", seen)])  # a list goes in front, as a block
        ws.add_middleware(_tagging_middleware("w", seen))
        assert client.get("/page").json() == "page"
        with client.websocket_connect("/ws") as conn:
            assert conn.receive_text() == "ok"
    assert seen == [("r1", "http"), ("r2", "http"), ("w", "websocket")]
