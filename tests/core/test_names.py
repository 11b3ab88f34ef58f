"""Public names: lihil's current API, the old names the seed uses, and the re-exports users import."""

import warnings

import pytest
import starlette.datastructures
import starlette.requests
import starlette.responses
import starlette.testclient
import starlette.websockets

import lihil
from lihil import Lihil, WebSocket, WebSocketRoute
from lihil.vendors import TestClient, WebSocketDisconnect
from tests.core.core_support import hello_route


def test_contract_names_are_exported() -> None:
    for name in [
        "Lihil",
        "Route",
        "WebSocketRoute",
        "WebSocket",
        "Request",
        "Response",
        "Param",
        "use",
        "Ignore",
        "Annotated",
        "AsyncResource",
        "Graph",
        "Resolver",
        "Struct",
        "Payload",
        "HTTPException",
        "MISSING",
    ]:
        assert hasattr(lihil, name), name
    assert lihil.WebSocket is starlette.websockets.WebSocket
    assert lihil.Request is starlette.requests.Request
    assert lihil.Response is starlette.responses.Response
    assert not lihil.MISSING


def test_vendors_reexport_starlette_objects() -> None:
    from lihil import vendors

    assert issubclass(vendors.TestClient, starlette.testclient.TestClient)  # ours runs without a thread in Pyodide
    assert vendors.WebSocket is starlette.websockets.WebSocket
    assert vendors.WebSocketDisconnect is starlette.websockets.WebSocketDisconnect
    assert vendors.WebSocketState is starlette.websockets.WebSocketState
    assert vendors.Request is starlette.requests.Request
    assert vendors.Response is starlette.responses.Response
    assert vendors.Headers is starlette.datastructures.Headers
    assert vendors.QueryParams is starlette.datastructures.QueryParams
    assert vendors.UploadFile is starlette.datastructures.UploadFile
    assert callable(vendors.use)


def test_vendors_has_exactly_lihils_names() -> None:
    # Every name here is in lihil 0.2.41's `lihil.vendors` and users import them from there, so none is dead
    # code even where this repository does not use it; nothing else is exported.
    from lihil import vendors

    lihils = {
        "URL", "Address", "FormData", "Headers", "QueryParams", "UploadFile", "MultiPartException",
        "HTTPConnection", "Request", "cookie_parser", "Response", "StreamingResponse", "compile_path", "Lifespan",
        "WebSocket", "WebSocketDisconnect", "WebSocketState", "TestClient", "use", "P", "T",
    }
    public = {n for n in vars(vendors) if not n.startswith("_")} - {"ParamSpec", "TypeVar"}
    assert public == lihils


def test_errors_and_problems_names() -> None:
    from lihil.errors import (
        DuplicatedRouteError,
        InvalidParamError,
        LihilError,
        NotSupportedError,
        RouteSetupError,
    )
    from lihil.problems import HTTPException, InvalidRequestErrors

    for error in (RouteSetupError, NotSupportedError, InvalidParamError, DuplicatedRouteError):
        assert issubclass(error, LihilError), error
    assert issubclass(InvalidRequestErrors, HTTPException)
    assert lihil.HTTPException is HTTPException


def _receive(app: Lihil, path: str) -> str:
    with TestClient(app) as client, client.websocket_connect(path) as ws:
        return ws.receive_text()


def test_endpoint_and_ws_handler_are_the_same_registration() -> None:
    route = WebSocketRoute("/x")

    async def first(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("first")
        await ws.close()

    async def second(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("second")
        await ws.close()

    assert route.ws_handler(first) is first  # returns the function: usable as a bare decorator
    app = Lihil(route)
    assert _receive(app, "/x") == "first"
    assert route.endpoint(second) is second  # replaces, last one wins
    assert _receive(app, "/x") == "second"


def test_decorator_forms() -> None:
    route = WebSocketRoute("/d")

    @route.endpoint
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("decorated")
        await ws.close()

    assert handler.__name__ == "handler"
    assert _receive(Lihil(route), "/d") == "decorated"


def test_lihil_generic_subscript_constructor_and_positional_routes() -> None:
    app = Lihil[None]()  # type: ignore[misc]  # the seed's spelling; Lihil is not Generic
    assert isinstance(app, Lihil)
    app2 = Lihil(hello_route("/a", "A"), hello_route("/b", "B"))
    assert _receive(app2, "/a") == "A"
    assert _receive(app2, "/b") == "B"


def test_include_and_include_routes_without_warning() -> None:
    app = Lihil()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app.include(hello_route("/one", "1"))
        app.include_routes(hello_route("/two", "2"))
    assert _receive(app, "/one") == "1"
    assert _receive(app, "/two") == "2"


def test_sub_and_slash_build_child_routes() -> None:
    parent = hello_route("/rooms", "parent")
    child = parent.sub("lobby")
    assert isinstance(child, WebSocketRoute)
    assert child.path == "/rooms/lobby"
    assert parent / "lobby" is child  # the existing child is returned
    child.endpoint(_child_handler)
    app = Lihil()
    app.include(parent)  # subroutes come along
    assert _receive(app, "/rooms") == "parent"
    assert _receive(app, "/rooms/lobby") == "child"


async def _child_handler(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("child")
    await ws.close()


def test_merge_puts_subroute_under_parent_prefix() -> None:
    parent = hello_route("/api", "api")
    parent.merge(hello_route("/echo", "merged"))
    app = Lihil(parent)
    assert _receive(app, "/api/echo") == "merged"


def test_include_subroutes_is_a_deprecated_alias_of_merge() -> None:
    parent = hello_route("/v1", "v1")
    with pytest.warns(DeprecationWarning, match="merge"):
        parent.include_subroutes(hello_route("/chat", "chat"))
    app = Lihil(parent)
    assert _receive(app, "/v1/chat") == "chat"


def test_websocket_disconnect_is_raised_on_client_side_close() -> None:
    app = Lihil(hello_route("/bye", "bye"))
    with TestClient(app) as client, client.websocket_connect("/bye") as ws:
        assert ws.receive_text() == "bye"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1000
