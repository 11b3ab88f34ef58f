"""`Lihil.static`: fixed content at an exact path, encoded once."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from lihil import Lihil, LocalClient
from lihil.errors import NotSupportedError


def _get(app: Lihil, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    async def call() -> tuple[int, dict[str, str], bytes]:
        result = await LocalClient().call_app(app, method, path)  # type: ignore[arg-type]
        return result.status_code, result.headers, await result.body()

    return anyio.run(call)


def test_text_bytes_json_and_callables() -> None:
    app = Lihil()
    app.static("/hello", "Héllo")
    app.static("/raw", b"\x00\x01", content_type="application/octet-stream")
    app.static("/data", {"message": "JSON data"})
    app.static("/made", lambda: "made once")
    app.static("/page", "<p>hi</p>", content_type="text/html", charset="latin-1")

    assert _get(app, "/hello") == (200, {"content-length": "6", "content-type": "text/plain; charset=utf-8"},
                                   "Héllo".encode())
    assert _get(app, "/raw")[2] == b"\x00\x01"
    status, headers, body = _get(app, "/data")
    assert (status, headers["content-type"], body) == (200, "application/json; charset=utf-8",
                                                       b'{"message":"JSON data"}')
    assert _get(app, "/made")[2] == b"made once"
    assert _get(app, "/page")[1]["content-type"] == "text/html; charset=latin-1"


def test_head_has_no_body_and_other_methods_are_refused() -> None:
    app = Lihil()
    app.static("/hello", "hello")
    status, headers, body = _get(app, "/hello", "HEAD")
    assert (status, headers["content-length"], body) == (200, "5", b"")
    status, headers, _ = _get(app, "/hello", "POST")
    assert (status, headers["allow"]) == (405, "GET, HEAD")


def test_a_dynamic_path_is_refused() -> None:
    with pytest.raises(NotSupportedError, match=r"Lihil\.static\('/files/\{name\}'\): a static path cannot have"):
        Lihil().static("/files/{name}", "x")


def test_static_content_over_a_real_server_and_after_a_middleware(serve: Any) -> None:
    def stamp(inner: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            async def stamped(message: Any) -> None:  # changes each message in place
                if message["type"] == "http.response.start":
                    message["headers"].append((b"x-stamp", b"1"))
                elif message["type"] == "http.response.body" and message["body"]:
                    message["body"] = message["body"].swapcase()
                await send(message)

            await inner(scope, receive, stamped if scope["type"] == "http" else send)

        return middleware

    app = Lihil(middlewares=[stamp])
    app.static("/robots.txt", "User-agent: *\n")
    server = serve(app)
    with httpx.Client(timeout=5) as client:
        for _ in range(3):  # the cached messages must not change per request
            got = client.get(server.http_url("/robots.txt"))
            assert (got.status_code, got.text) == (200, "uSER-AGENT: *\n")
            assert got.headers.get_list("x-stamp") == ["1"]
