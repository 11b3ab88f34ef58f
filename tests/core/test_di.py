"""Dependency injection through ididi: factories, reuse, Ignore, resources and their teardown, deps, overrides."""

import itertools
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest

from lihil import Annotated, AsyncResource, Ignore, Lihil, Param, Route, WebSocket, WebSocketRoute, use
from lihil.vendors import TestClient
from tests.core.core_support import denied


class Counter:
    """A dependency that remembers which instance it is."""

    serial = itertools.count()

    def __init__(self) -> None:
        self.number = next(Counter.serial)


def make_counter() -> Counter:
    return Counter()


class SharedCounter(Counter):
    """A second type: ididi binds one reuse policy per type, so the shared one gets its own."""


async def make_shared_counter() -> SharedCounter:
    return SharedCounter()


class User:
    def __init__(self, user_id: int, token: str) -> None:
        self.user_id = user_id
        self.token = token


def load_user(user_id: int, token: Annotated[str, Param("header", alias="x-token")]) -> User:
    """Takes a query param and a header param by name: both are parsed as part of the endpoint's inputs."""
    return User(user_id, token)


class Service:
    def name(self) -> str:
        return "service"


def test_sync_and_async_factories_and_reuse() -> None:
    route = Route("/counters")

    @route.get
    async def counters(
        fresh: Annotated[Counter, use(make_counter, reuse=False)],
        shared: Annotated[SharedCounter, use(make_shared_counter, reuse=True)],
    ) -> dict[str, int]:
        return {"fresh": fresh.number, "shared": shared.number}

    with TestClient(Lihil(route)) as client:
        first = client.get("/counters").json()
        second = client.get("/counters").json()
    assert first["fresh"] != second["fresh"]
    assert first["shared"] == second["shared"]


def test_factory_takes_query_and_header_params_by_name() -> None:
    route = Route("/me")

    @route.get
    async def me(user: Annotated[User, use(load_user)]) -> dict[str, Any]:
        return {"id": user.user_id, "token": user.token}

    with TestClient(Lihil(route)) as client:
        assert client.get("/me?user_id=7", headers={"x-token": "abc"}).json() == {"id": 7, "token": "abc"}
        missing = client.get("/me")
    assert missing.status_code == 422
    assert {(d["location"], d["param"]) for d in missing.json()["detail"]} == {
        ("query", "user_id"),
        ("header", "x-token"),
    }


def test_factory_params_in_websocket_route_are_validated_at_handshake() -> None:
    route = WebSocketRoute("/me")

    @route.endpoint
    async def me(ws: WebSocket, user: Annotated[User, use(load_user)]) -> None:
        await ws.accept()
        await ws.send_json({"id": user.user_id, "token": user.token})
        await ws.close()

    with TestClient(Lihil(route)) as client:
        with client.websocket_connect("/me?user_id=2", headers={"x-token": "t"}) as ws:
            assert ws.receive_json() == {"id": 2, "token": "t"}
        refusal = denied(client, "/me?user_id=x", headers={"x-token": "t"})
    assert refusal.status_code == 400
    assert [(d["location"], d["param"]) for d in refusal.json()["detail"]] == [("query", "user_id")]


def test_route_deps_register_classes() -> None:
    route = Route("/svc", deps=[Service])

    @route.get
    async def svc(service: Service) -> str:
        return service.name()

    with TestClient(Lihil(route)) as client:
        assert client.get("/svc").json() == "service"


def test_http_resources_sync_and_async_tear_down_after_the_handler() -> None:
    events: list[str] = []

    async def async_resource() -> AsyncResource[Counter]:
        events.append("async open")
        yield Counter()
        events.append("async close")

    def sync_resource() -> Generator[Service, None, None]:
        events.append("sync open")
        yield Service()
        events.append("sync close")

    route = Route("/res")

    @route.get
    async def res(
        counter: Annotated[Counter, use(async_resource)],
        service: Annotated[Service, use(sync_resource)],
    ) -> str:
        events.append("handler")
        return service.name()

    with TestClient(Lihil(route)) as client:
        assert client.get("/res").json() == "service"
    assert events.index("handler") > max(events.index("async open"), events.index("sync open"))
    assert events.index("handler") < min(events.index("async close"), events.index("sync close"))


class Conn:
    """Stands for a per-connection resource, e.g. a DB session."""


def _websocket_app(events: list[str], *, raise_in_handler: bool) -> Lihil:
    async def open_conn(ws: Ignore[WebSocket]) -> AsyncGenerator[Conn, None]:
        events.append("open")
        try:
            yield Conn()
        finally:
            events.append("teardown")

    route = WebSocketRoute("/res")

    @route.endpoint
    async def handler(ws: WebSocket, conn: Annotated[Conn, use(open_conn, reuse=False)]) -> None:
        await ws.accept()
        events.append("handler")
        await ws.send_text("hello")
        if raise_in_handler:
            raise RuntimeError("boom in handler")
        await ws.close()

    return Lihil(route)


def test_websocket_resource_teardown_runs_after_handler_returns() -> None:
    events: list[str] = []
    client = TestClient(_websocket_app(events, raise_in_handler=False))
    with client, client.websocket_connect("/res") as ws:
        assert ws.receive_text() == "hello"
    assert events == ["open", "handler", "teardown"]


def test_websocket_resource_teardown_runs_after_handler_raises() -> None:
    events: list[str] = []
    client = TestClient(_websocket_app(events, raise_in_handler=True))
    with client, pytest.raises(RuntimeError, match="boom in handler"), client.websocket_connect("/res") as ws:
        assert ws.receive_text() == "hello"
        ws.receive()  # the close
    assert events == ["open", "handler", "teardown"]


def test_ignore_on_factory_return_and_param() -> None:
    def greeting(name: str) -> Ignore[str]:
        return f"hello {name}"

    route = Route("/greet")

    @route.get
    async def greet(text: Annotated[str, use(greeting)]) -> str:
        return text

    with TestClient(Lihil(route)) as client:
        assert client.get("/greet?name=ann").json() == "hello ann"
