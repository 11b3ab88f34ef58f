"""Every HTTP method on `Lihil` and `Route`, in each of the three registration forms.

lihil 0.2.41 registers OPTIONS for the `trace(**props)` and `connect(**props)` decorator forms; here each
method name registers that method.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from lihil import Lihil, LocalClient, Route

METHODS = ["get", "post", "put", "delete", "patch", "head", "options", "trace", "connect"]


def _answer(app: Lihil, method: str) -> tuple[int, Any]:
    async def call() -> tuple[int, Any]:
        result = await LocalClient().call_app(app, method.upper(), "/things")
        return result.status_code, (await result.json() if method != "head" else None)

    return anyio.run(call)


@pytest.mark.parametrize("form", ["bare decorator", "decorator with props", "plain call"])
@pytest.mark.parametrize("method", METHODS)
def test_route_registers_each_method_under_its_own_name(method: str, form: str) -> None:
    route = Route("/things")

    async def handler() -> str:
        return method

    register = getattr(route, method)
    if form == "bare decorator":
        returned = register(handler)
    elif form == "decorator with props":
        returned = register(tags=["things"])(handler)
    else:
        returned = register(func=handler)
    assert returned is handler
    assert list(route.endpoints) == [method.upper()]
    status, body = _answer(Lihil(route), method)
    assert status == 200
    assert body in (method, None)


@pytest.mark.parametrize("method", METHODS)
def test_lihil_registers_each_method_on_its_root(method: str) -> None:
    app = Lihil()

    @getattr(app, method)(tags=["root"])
    async def handler() -> str:
        return method

    assert list(app.root.endpoints) == [method.upper()]  # type: ignore[attr-defined]


def test_stacked_decorators_register_every_method() -> None:
    app = Lihil()

    @app.trace
    @app.connect
    @app.patch
    async def many() -> str:
        return "many"

    assert sorted(app.root.endpoints) == ["CONNECT", "PATCH", "TRACE"]  # type: ignore[attr-defined]
