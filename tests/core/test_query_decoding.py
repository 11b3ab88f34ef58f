"""Query values reach handlers decoded exactly as Starlette's own QueryParams decodes them."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from lihil import Lihil, WebSocket, WebSocketRoute
from lihil.vendors import TestClient

CASES = [
    "name=ann",
    "name=ann%20lee",
    "name=ann+lee",
    "name=%C3%A9l%C3%A8ve",
    "name=a%26b%3Dc",
    "name=first&name=last",
    "name=&tags=",
    "tags=1&tags=2&tags=3&name=x",
    "name=x&&tags=7",
    "na%6De=encoded-key",
]


@pytest.mark.parametrize("query", CASES)
def test_query_values_match_starlette(query: str) -> None:
    route = WebSocketRoute("/q")

    @route.endpoint
    async def echo(ws: WebSocket, name: str | None = None, tags: list[str] | None = None) -> None:
        await ws.accept()
        await ws.send_json({"name": name, "tags": tags})

    expected = QueryParams(query)
    with TestClient(Lihil(route)) as client, client.websocket_connect(f"/q?{query}") as ws:
        got = ws.receive_json()
    assert got["name"] == expected.get("name")
    assert got["tags"] == (expected.getlist("tags") or None)
