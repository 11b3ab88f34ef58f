"""WebSocketRoute handler parameters: path, query, header, cookie, constraints, injected objects."""

from collections.abc import Iterator
from typing import Any, Literal

import pytest

from lihil import Annotated, Graph, Lihil, Param, Resolver, WebSocket, WebSocketRoute
from lihil.vendors import TestClient
from tests.core.core_support import denied


async def reply(ws: WebSocket, values: dict[str, Any]) -> None:
    await ws.accept()
    await ws.send_json(values)
    await ws.close()


path_route = WebSocketRoute("/rooms/{room}/{n}")


@path_route.endpoint
async def path_handler(ws: WebSocket, room: str, n: int) -> None:
    await reply(ws, {"room": room, "n": n})


query_route = WebSocketRoute("/query")


@query_route.endpoint
async def query_handler(
    ws: WebSocket,
    name: str,
    count: int,
    ratio: float,
    flag: bool,
    tags: list[int],
    mode: Literal["fast", "slow"],
    limit: int | None = None,
    upper: bool = False,
    note: str = "none",
) -> None:
    await reply(
        ws,
        {
            "name": name,
            "count": count,
            "ratio": ratio,
            "flag": flag,
            "tags": tags,
            "mode": mode,
            "limit": limit,
            "upper": upper,
            "note": note,
        },
    )


header_route = WebSocketRoute("/header")


@header_route.endpoint
async def header_handler(
    ws: WebSocket,
    token: Annotated[str, Param("header", alias="x-token")],
    session: Annotated[str, Param("cookie", alias="session-id")] = "anonymous",
) -> None:
    await reply(ws, {"token": token, "session": session})


constrained_route = WebSocketRoute("/constrained/{n}")


@constrained_route.endpoint
async def constrained_handler(
    ws: WebSocket, n: Annotated[int, Param(ge=1)], size: Annotated[int, Param(le=10)] = 5
) -> None:
    await reply(ws, {"n": n, "size": size})


injected_route = WebSocketRoute("/injected")


@injected_route.endpoint
async def injected_handler(ws: WebSocket, resolver: Resolver, graph: Graph) -> None:
    await reply(
        ws,
        {
            "ws": isinstance(ws, WebSocket),
            "resolver": isinstance(resolver, Resolver),
            "graph": isinstance(graph, Graph),
        },
    )


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = Lihil(path_route, query_route, header_route, constrained_route, injected_route)
    with TestClient(app) as test_client:
        yield test_client


def receive(client: TestClient, url: str, **kwargs: Any) -> Any:
    with client.websocket_connect(url, **kwargs) as ws:
        return ws.receive_json()


def denial(client: TestClient, url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = denied(client, url, **kwargs)
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, response.json()


def bad_params(problem: dict[str, Any]) -> set[tuple[str, str]]:
    return {(d["location"], d["param"]) for d in problem["detail"]}


def test_path_params_are_converted(client: TestClient) -> None:
    assert receive(client, "/rooms/lobby/7") == {"room": "lobby", "n": 7}


def test_query_scalars_lists_literal_optional_and_defaults(client: TestClient) -> None:
    got = receive(client, "/query?name=ann&count=3&ratio=0.5&flag=true&tags=1&tags=2&mode=fast&limit=9")
    assert got == {
        "name": "ann",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "tags": [1, 2],
        "mode": "fast",
        "limit": 9,
        "upper": False,
        "note": "none",
    }
    got = receive(client, "/query?name=b&count=0&ratio=1&flag=false&tags=5&mode=slow&upper=1&note=hi")
    assert got["limit"] is None
    assert got["upper"] is True
    assert got["note"] == "hi"
    assert got["count"] == 0
    assert got["tags"] == [5]


def test_bad_literal_and_list_item_are_refused_by_name(client: TestClient) -> None:
    status, problem = denial(client, "/query?name=a&count=1&ratio=1&flag=true&tags=1&tags=x&mode=medium")
    assert status == 400
    assert bad_params(problem) == {("query", "tags"), ("query", "mode")}


def test_header_and_cookie_params(client: TestClient) -> None:
    got = receive(client, "/header", headers={"x-token": "t0k", "cookie": "session-id=s1; other=2"})
    assert got == {"token": "t0k", "session": "s1"}


def test_missing_cookie_uses_default(client: TestClient) -> None:
    assert receive(client, "/header", headers={"x-token": "t"}) == {"token": "t", "session": "anonymous"}
    got = receive(client, "/header", headers={"x-token": "t", "cookie": "unrelated=1"})
    assert got["session"] == "anonymous"


def test_missing_header_is_refused(client: TestClient) -> None:
    status, problem = denial(client, "/header")
    assert status == 400
    assert bad_params(problem) == {("header", "x-token")}


def test_constraints(client: TestClient) -> None:
    assert receive(client, "/constrained/1") == {"n": 1, "size": 5}
    status, problem = denial(client, "/constrained/0?size=11")
    assert status == 400
    assert bad_params(problem) == {("path", "n"), ("query", "size")}
    messages = {d["param"]: d["message"] for d in problem["detail"]}
    assert ">= 1" in messages["n"]
    assert "<= 10" in messages["size"]


def test_injected_websocket_resolver_and_graph(client: TestClient) -> None:
    assert receive(client, "/injected") == {"ws": True, "resolver": True, "graph": True}


def test_signature_describes_params_in_declaration_order() -> None:
    params = header_route.sig.params
    assert [(p.name, p.location, p.alias) for p in params] == [
        ("token", "header", "x-token"),
        ("session", "cookie", "session-id"),
    ]
    assert params[0].required
    assert not params[1].required
    assert params[1].default == "anonymous"
    names = [p.name for p in query_route.sig.params]
    assert names == ["name", "count", "ratio", "flag", "tags", "mode", "limit", "upper", "note"]
    assert str(query_route.sig.params[7]) == "upper: bool = False"
