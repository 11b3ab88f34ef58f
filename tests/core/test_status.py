"""`lihil.status`: status codes as `Literal` types, usable as values and in return annotations."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from lihil import Empty, HTTPException, Lihil, Route, Text, status
from lihil.vendors import TestClient


def test_status_names_are_literal_types_and_code_reads_them() -> None:
    assert Literal[404] == status.NOT_FOUND
    assert status.code(status.NOT_FOUND) == 404
    assert status.code(status.CREATED) == 201
    assert status.code(418) == 418
    assert status.phrase(status.NOT_FOUND) == "Not Found"
    assert status.is_status(status.OK) and not status.is_status(Literal["ok"])
    assert HTTPException(status=status.NOT_FOUND).status == 404


@pytest.mark.parametrize("bad", ["404", 999, Literal[999], True, None])
def test_code_names_what_it_expected(bad: object) -> None:
    with pytest.raises(TypeError, match=r"status\.code\(status\): expected a status such as status\.NOT_FOUND"):
        status.code(bad)


def test_lihil_constant_status_is_the_same_module() -> None:
    from lihil.constant import status as older_home

    assert older_home is status


def test_a_status_in_the_return_annotation_is_the_response_status() -> None:
    route = Route("/things")

    @route.post
    async def create() -> Annotated[dict[str, int], status.CREATED]:
        return {"id": 1}

    @route.delete
    async def refuse() -> Annotated[Empty, status.BAD_REQUEST]:
        return None

    @route.put
    async def later() -> Annotated[Text, status.ACCEPTED]:
        return "queued"

    @route.get
    async def plain() -> dict[str, int]:
        return {"id": 1}

    with TestClient(Lihil(route)) as client:
        created = client.post("/things")
        assert (created.status_code, created.json()) == (201, {"id": 1})
        refused = client.delete("/things")
        assert (refused.status_code, refused.content) == (400, b"")
        queued = client.put("/things")
        assert (queued.status_code, queued.text) == (202, "queued")
        assert queued.headers["content-type"].startswith("text/plain")
        assert client.get("/things").status_code == 200
