"""HTTP `Route`: every method, params from every source, JSON by default, Response passthrough, 404/405/422."""

from collections.abc import Iterator

import pytest

from lihil import Annotated, Lihil, Param, Payload, Response, Route, Struct
from lihil.vendors import TestClient

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


class Item(Struct):
    name: str
    price: float


class Order(Payload, frozen=True):
    item: str
    quantity: int = 1


items = Route("/items/{item_id}")


@items.get
async def read_item(
    item_id: int,
    q: str | None = None,
    tags: list[str] | None = None,
    token: Annotated[str, Param("header", alias="x-token")] = "",
    session: Annotated[str, Param("cookie", alias="session-id")] = "",
) -> dict[str, object]:
    return {"item_id": item_id, "q": q, "tags": tags, "token": token, "session": session}


@items.put
async def replace_item(item_id: int, item: Item) -> dict[str, object]:
    return {"item_id": item_id, "name": item.name, "price": item.price}


orders = Route("/orders")


@orders.post
async def create_order(order: Order) -> Order:
    return order


raw = Route("/raw")


@raw.get
async def raw_response() -> Response:
    return Response("plain text", status_code=201, media_type="text/plain", headers={"x-raw": "yes"})


every = Route("/every")
for _method in METHODS:

    async def _handler(method: str = _method) -> dict[str, str]:
        return {"method": method}

    every.add_endpoint(_method, func=_handler)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(Lihil(items, orders, raw, every)) as test_client:
        yield test_client


@pytest.mark.parametrize("method", METHODS)
def test_every_method(client: TestClient, method: str) -> None:
    response = client.request(method, "/every")
    assert response.status_code == 200
    if method != "HEAD":
        assert response.json() == {"method": method}


def test_path_query_header_cookie_params(client: TestClient) -> None:
    response = client.get(
        "/items/3?q=x&tags=a&tags=b",
        headers={"x-token": "tok", "cookie": "session-id=s9"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"item_id": 3, "q": "x", "tags": ["a", "b"], "token": "tok", "session": "s9"}
    assert client.get("/items/4").json() == {
        "item_id": 4,
        "q": None,
        "tags": None,
        "token": "",
        "session": "",
    }


def test_struct_body(client: TestClient) -> None:
    response = client.put("/items/5", json={"name": "pen", "price": 1.5})
    assert response.json() == {"item_id": 5, "name": "pen", "price": 1.5}


def test_payload_body_and_return(client: TestClient) -> None:
    response = client.post("/orders", json={"item": "tea"})
    assert response.status_code == 200
    assert response.json() == {"item": "tea", "quantity": 1}


def test_response_is_passed_through(client: TestClient) -> None:
    response = client.get("/raw")
    assert response.status_code == 201
    assert response.text == "plain text"
    assert response.headers["x-raw"] == "yes"
    assert response.headers["content-type"].startswith("text/plain")


def test_unknown_path_is_404(client: TestClient) -> None:
    assert client.get("/nowhere").status_code == 404


def test_unregistered_method_is_405(client: TestClient) -> None:
    assert client.post("/raw").status_code == 405


def test_bad_input_is_422_problem_json_with_rfc9457_type_key(client: TestClient) -> None:
    response = client.put("/items/abc", json={"name": "pen", "price": "cheap"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert "type" in problem
    assert "type_" not in problem
    assert problem["status"] == 422
    assert problem["title"]
    assert {(d["location"], d["param"]) for d in problem["detail"]} == {("path", "item_id"), ("body", "item")}
    assert all(d["message"] for d in problem["detail"])


def test_missing_body_is_422(client: TestClient) -> None:
    response = client.post("/orders")
    assert response.status_code == 422
    assert [(d["location"], d["param"]) for d in response.json()["detail"]] == [("body", "order")]
    assert response.json()["detail"][0]["message"] == "param is missing"  # lower case, like every message shown


def test_endpoint_signature_is_introspectable() -> None:
    sig = items.get_endpoint("GET").sig
    assert [(p.name, p.location) for p in sig.params] == [
        ("item_id", "path"),
        ("q", "query"),
        ("tags", "query"),
        ("token", "header"),
        ("session", "cookie"),
    ]
    put_sig = items.get_endpoint("PUT").sig
    assert [(p.name, p.location) for p in put_sig.params] == [("item_id", "path"), ("item", "body")]
