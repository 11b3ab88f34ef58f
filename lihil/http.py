"""``Route``: HTTP endpoints (``get``, ``post``, ...) — request -> params -> handler -> response.

A handler's return value becomes JSON unless it is a ``Response`` (passed through) or its return annotation says
otherwise (``-> Text``, ``-> HTML``, ``-> Empty``).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from types import MappingProxyType
from typing import Annotated, Any, TypeVar, get_args, get_origin

import msgspec
from ididi import Graph
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import status
from .errors import UnserializableResponseError
from .problems import (
    HTTPException,
    InvalidDataType,
    InvalidJsonReceived,
    InvalidRequestErrors,
    MissingRequestParam,
    ValidationProblem,
    problem_response,
)
from .routing import MiddlewareFactory, RouteBase, build_middleware_chain
from .signature import EndpointSignature, RequestParam, close_resources, parse_signature

T = TypeVar("T")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")

THREADLESS = sys.platform == "emscripten"
"""Where threads cannot start (Pyodide), sync endpoints run inline instead of in Starlette's thread pool."""


class ResponseMark:
    """Marks a return annotation with the content type to encode the result as."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type

    def __repr__(self) -> str:
        return f"ResponseMark({self.content_type!r})"


Text = Annotated[str | bytes, ResponseMark("text/plain")]
HTML = Annotated[str | bytes, ResponseMark("text/html")]
Json = Annotated[T, ResponseMark("application/json")]
Empty = Annotated[None, ResponseMark("empty")]


class Endpoint:
    """One method of one route: reads the request, calls the handler, encodes its result."""

    def __init__(self, path: str, method: str, func: Callable[..., Any], sig: EndpointSignature, graph: Graph,
                 props: Mapping[str, Any]) -> None:
        self.path, self.method, self.func, self.sig, self.graph = path, method, func, sig, graph
        self.props = dict(props)
        self.name = getattr(func, "__name__", repr(func))
        self.unwrapped_func = inspect.unwrap(func)
        self.is_async = inspect.iscoroutinefunction(func)
        self.scoped = sig.scoped or bool(props.get("scoped"))
        self.content_type = _content_type(sig.return_annotation)
        self.status_code = _status_code(sig.return_annotation, 204 if self.content_type == "empty" else 200)
        self.is_setup = True

    def __repr__(self) -> str:
        return f"Endpoint({self.method} {self.path!r} {self.func!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            values, problems = self.sig.read(request)
            if (body := self.sig.body) is not None:
                value = await _read_body(request, body)
                if isinstance(value, ValidationProblem):
                    problems.append(value)
                else:
                    values[body.name] = value
            if problems:
                raise InvalidRequestErrors(problems)
            scope_cm: Any = self.graph.ascope() if self.scoped else nullcontext(self.graph)
            resources: list[Any] = []
            async with scope_cm as resolver:
                try:
                    kwargs = await self.sig.arguments(resolver, values, request, resources)
                    if self.is_async:
                        result = await self.func(**kwargs)
                    elif THREADLESS:  # no thread pool to run it in: inline, blocking the loop while it runs
                        result = self.func(**kwargs)
                    else:
                        result = await run_in_threadpool(self.func, **kwargs)
                    response = self.encode(result)
                    await response(scope, receive, send)
                finally:
                    if resources:
                        await close_resources(resources)
        except HTTPException as exc:
            await problem_response(request, exc)(scope, receive, send)

    def encode(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if self.content_type == "empty":
            return Response(status_code=self.status_code)
        if self.content_type in ("text/plain", "text/html"):
            return Response(result, status_code=self.status_code, media_type=self.content_type)
        try:
            return Response(msgspec.json.encode(result), status_code=self.status_code, media_type="application/json")
        except (TypeError, msgspec.EncodeError) as exc:
            raise UnserializableResponseError(
                f"{self!r} returned {type(result).__name__}, which cannot be encoded as JSON: {exc}"
            ) from exc


async def _read_body(request: Request, param: RequestParam) -> Any:
    if param.form is not None:
        form = await request.form(max_files=param.form.max_files, max_fields=param.form.max_fields,
                                  max_part_size=param.form.max_part_size)
        try:
            return msgspec.convert(dict(form), param.annotation, strict=False)
        except msgspec.ValidationError as exc:
            return InvalidDataType(location="body", param=param.name, message=str(exc))
    raw = await request.body()
    if not raw:
        if param.required:
            return MissingRequestParam(location="body", param=param.name)
        return param.default
    try:
        return msgspec.json.decode(raw, type=param.annotation)
    except msgspec.ValidationError as exc:
        return InvalidDataType(location="body", param=param.name, message=str(exc))
    except msgspec.DecodeError:
        return InvalidJsonReceived(location="body", param=param.name)


def _status_code(annotation: Any, default: int) -> int:
    """``-> Annotated[User, status.CREATED]`` answers 201."""
    if get_origin(annotation) is Annotated:
        for item in get_args(annotation)[1:]:
            if status.is_status(item):
                return status.code(item)
    return default


def _content_type(annotation: Any) -> str:
    if get_origin(annotation) is Annotated:
        for item in get_args(annotation)[1:]:
            if isinstance(item, ResponseMark):
                return item.content_type
    return "application/json"


class Route(RouteBase):
    """A path with one handler per HTTP method.

    >>> users = Route("/users/{user_id}")
    >>> @users.get
    ... async def get_user(user_id: int) -> dict: ...
    """

    def __init__(self, path: str = "", graph: Graph | None = None,
                 middlewares: list[MiddlewareFactory] | None = None, workers: Any = None, **props: Any) -> None:
        super().__init__(path, graph=graph, middlewares=middlewares)
        self.props = props
        for dep in props.get("deps") or ():
            self.graph.node(dep)
        self._funcs: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._apps: dict[str, ASGIApp] = {}

    def __repr__(self) -> str:
        methods = ", ".join(self._funcs) or "no endpoints"
        return f"Route({self.path!r}, {methods})"

    # --- registering handlers ------------------------------------------------------------------------------------

    def add_endpoint(self, *methods: str, func: Callable[..., Any], **props: Any) -> Callable[..., Any]:
        """Register ``func`` for ``methods`` (replacing earlier handlers for them) and return it."""
        for method in methods:
            method = method.upper()
            if method not in HTTP_METHODS:
                raise ValueError(f"{self!r}: unknown HTTP method {method!r}; expected one of {HTTP_METHODS}")
            merged = {**self.props, **props}
            if self.is_setup:
                self._install(method, func, merged)
            self._funcs[method] = (func, merged)
            self.serves = True
        return func

    def _method(self, method: str, func: Callable[..., Any] | None, props: dict[str, Any]) -> Any:
        if func is None:
            return lambda f: self.add_endpoint(method, func=f, **props)
        return self.add_endpoint(method, func=func, **props)

    def get(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("GET", func, props)

    def post(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("POST", func, props)

    def put(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("PUT", func, props)

    def delete(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("DELETE", func, props)

    def patch(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("PATCH", func, props)

    def head(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("HEAD", func, props)

    def options(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("OPTIONS", func, props)

    def trace(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("TRACE", func, props)

    def connect(self, func: Callable[..., Any] | None = None, **props: Any) -> Any:
        return self._method("CONNECT", func, props)

    @property
    def endpoints(self) -> Mapping[str, Endpoint]:
        if not self.is_setup and self._funcs:
            self.setup()
        return MappingProxyType(self._endpoints)

    def get_endpoint(self, method_or_func: str | Callable[..., Any]) -> Endpoint:
        endpoints = self.endpoints
        if isinstance(method_or_func, str):
            return endpoints[method_or_func.upper()]
        for ep in endpoints.values():
            if ep.func is method_or_func or ep.unwrapped_func is method_or_func:
                return ep
        raise KeyError(method_or_func)

    def copy_endpoints_from(self, other: Route) -> None:
        for method, (func, props) in other._funcs.items():
            self.add_endpoint(method, func=func, **props)

    # --- setup and serving ----------------------------------------------------------------------------------------

    def setup(self, graph: Graph | None = None, workers: Any = None) -> None:
        if graph is not None:
            self.graph = graph
        for method, (func, props) in self._funcs.items():
            self._install(method, func, props)
        self.is_setup = True

    def _install(self, method: str, func: Callable[..., Any], props: dict[str, Any]) -> None:
        where = f"Route({self.path!r}) {method}"
        sig = parse_signature(func, path_keys=self.path_keys, graph=self.graph, websocket=False, where=where)
        endpoint = Endpoint(self.path, method, func, sig, self.graph, props)
        app = build_middleware_chain(self.middle_factories, endpoint, where)
        # Copy-on-write: a request in flight keeps the mapping it looked up.
        self._endpoints = {**self._endpoints, method: endpoint}
        self._apps = {**self._apps, method: app}

    @property
    def has_endpoints(self) -> bool:
        return bool(self._funcs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.is_setup:
            self.setup()
        method = scope["method"]
        app = self._apps.get(method) or (self._apps.get("GET") if method == "HEAD" else None)
        if app is None:
            allow = ", ".join(self._apps)
            await PlainTextResponse("Method Not Allowed", 405, headers={"allow": allow})(scope, receive, send)
            return
        await app(scope, receive, send)


