"""`LocalClient`: lihil's in-process HTTP client, against apps, routes and single endpoints."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

import anyio
import pytest
from starlette.responses import Response, StreamingResponse

from lihil import Form, Lihil, LocalClient, Param, Payload, Route, Struct, UploadFile
from lihil.errors import LihilError
from lihil.http import Endpoint


def run(coro_fn: Any, *args: Any) -> Any:
    """Run an async test body on a fresh event loop, bounded in time."""

    async def bounded() -> Any:
        with anyio.fail_after(10):
            return await coro_fn(*args)

    return anyio.run(bounded)


class User(Payload, kw_only=True):
    name: str
    age: int


def _users_app(events: list[str] | None = None) -> Lihil:
    async def lifespan(app: Lihil) -> AsyncGenerator[None, None]:
        if events is not None:
            events.append("startup")
        yield
        if events is not None:
            events.append("shutdown")

    app = Lihil(lifespan=lifespan)
    users = app.sub("/users/{user_id}")

    @users.get
    async def get_user(user_id: int, tags: list[str], agent: Annotated[str, Param("header", alias="user-agent")],
                       token: Annotated[str, Param("header", alias="x-token")] = "none") -> dict[str, Any]:
        if events is not None:
            events.append("request")
        return {"id": user_id, "tags": tags, "agent": agent, "token": token}

    @users.post
    async def rename(user_id: int, user: User) -> dict[str, Any]:
        return {"id": user_id, "name": user.name, "age": user.age}

    return app


def test_call_app_fills_the_path_query_headers_and_json_body() -> None:
    async def body() -> None:
        app = _users_app()
        client = LocalClient(headers={"x-token": "t0"})
        got = await client.call_app(app, "GET", "/users/{user_id}", path_params={"user_id": 7},
                                    query_params={"tags": ["a", "b"]})
        assert got.status_code == 200
        assert await got.json() == {"id": 7, "tags": ["a", "b"], "agent": "lihil-test-client", "token": "t0"}
        assert got.headers["content-type"] == "application/json"

        posted = await client.call_app(app, "POST", "/users/3", body={"name": "ann", "age": 30})
        assert await posted.json() == {"id": 3, "name": "ann", "age": 30}
        as_payload = await client.call_app(app, "POST", "/users/3", body=User(name="bob", age=4))
        assert (await as_payload.json())["name"] == "bob"

        bad = await client.call_app(app, "GET", "/users/abc", query_params={"tags": "x"})
        assert bad.status_code == 422
        assert [(p["location"], p["param"]) for p in (await bad.json())["detail"]] == [("path", "user_id")]
        assert (await client.call_app(app, "GET", "/nothing")).status_code == 404
        assert (await client.call_app(app, "DELETE", "/users/1")).status_code == 405

    run(body)


def test_call_app_runs_the_request_inside_the_lifespan() -> None:
    async def body() -> None:
        events: list[str] = []
        await LocalClient().call_app(_users_app(events), "GET", "/users/1", query_params={"tags": "x"})
        assert events == ["startup", "request", "shutdown"]

    run(body)


def test_a_failing_startup_raises_lihil_error_with_the_apps_traceback() -> None:
    async def body() -> None:
        def broken(inner: Any) -> Any:
            raise ValueError("no middleware today")

        app = Lihil(middlewares=[broken])
        with pytest.raises(LihilError, match="no middleware today") as failed:
            await LocalClient().call_app(app, "GET", "/")
        assert isinstance(failed.value.__cause__, LihilError)  # the app's own MiddlewareBuildError, chained
        with pytest.raises(LihilError, match="no middleware today"):
            await LocalClient().send_app_lifespan(app)

    run(body)


def test_an_exception_in_a_handler_reaches_the_test() -> None:
    async def body() -> None:
        app = Lihil()

        @app.get
        async def boom() -> None:
            raise RuntimeError("handler failed")

        with pytest.raises(RuntimeError, match="handler failed"):
            await LocalClient().call_app(app, "GET", "/")

    run(body)


class Clock:
    def now(self) -> str:
        return "noon"


def test_call_route_and_endpoints_without_an_app() -> None:
    async def body() -> None:
        route = Route("/time/{zone}", deps=[Clock])

        @route.get
        async def tell(zone: str, clock: Clock) -> str:
            return f"{clock.now()} in {zone}"

        client = LocalClient()
        got = await client.call_route(route, "GET", path_params={"zone": "UTC"})
        assert await got.json() == "noon in UTC"

        ep = route.get_endpoint("GET")
        assert isinstance(ep, Endpoint)
        assert await (await client.call_endpoint(ep, path_params={"zone": "CET"})).json() == "noon in CET"

        async def double(n: int) -> int:
            return n * 2

        made = await client.make_endpoint(double, method="POST", path="/double")
        by_string = await client.request(made, "POST", "/double", query_string="n=1", query_params={"n": 4})
        assert await by_string.json() == 8  # the last of repeated keys, as Starlette reads them
        assert (made.method, made.path) == ("POST", "/double")
        assert await (await client(made, query_params={"n": 21})).json() == 42

    run(body)


def test_call_dispatches_on_what_it_is_given() -> None:
    async def body() -> None:
        app = _users_app()
        client = LocalClient()
        via_app = await client(app, method="GET", path="/users/5", query_params={"tags": "t"})
        assert (await via_app.json())["id"] == 5
        route = app.get_route("/users/{user_id}")
        assert isinstance(route, Route)
        via_route = await client(route, method="GET", path_params={"user_id": 6}, query_params={"tags": "t"})
        assert (await via_route.json())["id"] == 6

        with pytest.raises(TypeError, match="a route needs the method"):
            await client(route)
        with pytest.raises(TypeError, match="an app needs method and path"):
            await client(app, method="GET")
        with pytest.raises(TypeError, match="expected an ASGI app, a Route or an Endpoint, got int"):
            await client(42)  # type: ignore[arg-type]

    run(body)


class Signup(Struct):
    name: str
    age: int


class Upload(Struct):
    title: str
    picture: UploadFile


def test_submit_form_sends_fields_and_files() -> None:
    async def body() -> None:
        app = Lihil()

        @app.sub("/signup").post
        async def signup(form: Annotated[Signup, Form()]) -> dict[str, Any]:
            return {"name": form.name, "age": form.age}

        @app.sub("/upload").post
        async def upload(form: Annotated[Upload, Form()]) -> dict[str, Any]:
            data = await form.picture.read()
            return {"title": form.title, "file": form.picture.filename, "type": form.picture.content_type,
                    "size": len(data)}

        client = LocalClient()
        signed = await client.submit_form(app, {"name": 'ann "the" first', "age": "30"}, method="POST",
                                          path="/signup")
        assert await signed.json() == {"name": 'ann "the" first', "age": 30}
        uploaded = await client.submit_form(app, {"title": "me", "picture": ("me.png", b"\x89PNG\r\n", "image/png")},
                                            method="POST", path="/upload")
        assert await uploaded.json() == {"title": "me", "file": "me.png", "type": "image/png", "size": 6}

    run(body)


def test_results_read_as_text_json_and_streams() -> None:
    async def body() -> None:
        app = Lihil()

        async def lines() -> AsyncIterator[bytes]:
            yield b'{"n": 1}\n{"n"'
            yield b': 2}\n'
            yield b'{"n": 3}'

        @app.sub("/stream").get
        async def stream() -> StreamingResponse:
            return StreamingResponse(lines(), media_type="application/x-ndjson")

        @app.sub("/latin").get
        async def latin() -> Response:
            return Response("café".encode("latin-1"), media_type="text/plain; charset=latin-1")

        client = LocalClient()
        streamed = await client.call_app(app, "GET", "/stream")
        assert streamed.is_streaming
        assert [chunk async for chunk in streamed.stream()] == [b'{"n": 1}\n{"n"', b": 2}\n", b'{"n": 3}']
        assert [value async for value in streamed.stream_json()] == [{"n": 1}, {"n": 2}, {"n": 3}]

        encoded = await client.call_app(app, "GET", "/latin")
        assert encoded.charset == "latin-1"
        assert await encoded.text() == "café"
        assert not encoded.is_streaming and not encoded.is_chunked
        assert "content-type" in encoded.headers  # lower-case names

    run(body)
