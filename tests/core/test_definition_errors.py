"""Mistakes in a route definition fail early, and the error names the route and the parameter."""

import pytest

from lihil import Lihil, Payload, Route, WebSocket, WebSocketRoute
from lihil.errors import LihilError


def full_message(exc: BaseException) -> str:
    """The message a user reads in the traceback: the exception and everything it was raised from."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def test_sync_websocket_handler() -> None:
    route = WebSocketRoute("/sync")

    def handler(ws: WebSocket) -> None:
        pass

    with pytest.raises(LihilError) as error:
        route.endpoint(handler)  # type: ignore[arg-type]
    message = full_message(error.value)
    assert "/sync" in message
    assert "handler" in message


class Note(Payload, frozen=True):
    text: str


def test_body_param_on_websocket_route() -> None:
    route = WebSocketRoute("/with-body")

    async def handler(ws: WebSocket, note: Note) -> None:
        await ws.accept()

    with pytest.raises(LihilError) as error:
        route.endpoint(handler)
        Lihil().include(route)  # setup at include time at the latest
    message = full_message(error.value)
    assert "/with-body" in message
    assert "note" in message


def test_path_param_with_default() -> None:
    route = WebSocketRoute("/rooms/{room}")

    async def handler(ws: WebSocket, room: str = "lobby") -> None:
        await ws.accept()

    with pytest.raises(LihilError) as error:
        route.endpoint(handler)
        Lihil().include(route)
    message = full_message(error.value)
    assert "/rooms/{room}" in message
    assert "room" in message


def test_replacing_with_a_bad_handler_on_an_included_route_fails_at_once() -> None:
    route = WebSocketRoute("/live/{room}")

    async def good(ws: WebSocket, room: str) -> None:
        await ws.accept()

    async def bad(ws: WebSocket, room: str, note: Note) -> None:
        await ws.accept()

    route.endpoint(good)
    Lihil().include(route)
    with pytest.raises(LihilError) as error:
        route.endpoint(bad)
    assert "note" in full_message(error.value)


@pytest.mark.parametrize("path", ["/trailing/", "/a/b/"])
def test_trailing_slash(path: str) -> None:
    with pytest.raises((ValueError, LihilError)) as error:
        WebSocketRoute(path)
    assert path in full_message(error.value)
    with pytest.raises((ValueError, LihilError)):
        Route(path)


def test_merging_http_route_with_websocket_route_fails_both_ways() -> None:
    http = Route("/http")
    ws = WebSocketRoute("/ws")
    with pytest.raises(AttributeError) as into_http:
        http.merge(ws)
    assert "/ws" in full_message(into_http.value)
    with pytest.raises(AttributeError) as into_ws:
        ws.merge(Route("/plain"))
    assert "/plain" in full_message(into_ws.value)
