"""Reads a handler's signature once, when its route is set up, and says where each value comes from.

For every parameter, the first rule that applies wins:

1. ``Annotated[T, use(factory)]`` -> a dependency made by ``factory`` (``Ignore[...]`` marks are skipped);
2. ``Annotated[T, Param("header" | "cookie" | "query" | "path" | "body")]`` -> that source;
3. a name in the route path -> path; a ``WebSocket`` / ``Request`` / ``Resolver`` -> injected; a type registered in the
   route's graph -> a dependency; a structured type (Struct, dataclass, TypedDict, dict) -> the body;
   anything else -> the query string.

A dependency factory's own plain parameters (``max_users: int``) are request parameters too: they are read and
validated with the handler's and handed to the factory by name.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict
from urllib.parse import unquote_plus

import msgspec
from ididi import Graph, NodeMeta, Resolver
from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocket

from .errors import InvalidParamError, NotSupportedError
from .params import MISSING, Decoder, FormMeta, ParamMeta, default_value, is_sequence_type, strip_annotated
from .problems import MissingRequestParam, ValidationProblem

Location = Literal["path", "query", "header", "cookie", "body"]
Injected = Literal["websocket", "request", "resolver"]
_LOCATION_ORDER = {"header": 0, "cookie": 0, "path": 1, "query": 2, "body": 3}
_UnionType = type(int | str)


@dataclass(frozen=True, slots=True)
class RequestParam:
    """One value read from the request: where (``location``), under which key (``alias``), as which type."""

    name: str
    location: Location
    alias: str
    annotation: Any
    default: Any = MISSING
    decoder: Decoder | None = None
    multi: bool = False
    transitive: bool = False  # read for a dependency only; not passed to the handler
    form: FormMeta | None = None
    passthrough: bool = False  # a plain `str`: the raw text is the value, no decoding

    @property
    def required(self) -> bool:
        return self.default is MISSING

    def __str__(self) -> str:
        text = f"{self.name}: {type_repr(self.annotation)}"
        return text if self.required else f"{text} = {self.default!r}"

    def read(self, conn: HTTPConnection, query: dict[str, list[str]]) -> Any:
        """The raw text value(s) for this parameter, or MISSING."""
        if self.location == "query":
            values = query.get(self.alias)
            if not values:
                return MISSING
            return values if self.multi else values[-1]  # like Starlette: the last of repeated keys
        if self.location == "path":
            return conn.path_params.get(self.alias, MISSING)
        if self.location == "cookie":
            return conn.cookies.get(self.alias, MISSING)
        if self.multi:
            return conn.headers.getlist(self.alias) or MISSING
        value = conn.headers.get(self.alias)
        return MISSING if value is None else value


FactoryKind = Literal["asyncgen", "gen", "coroutine", "function"]


@dataclass(frozen=True, slots=True)
class DependencyParam:
    """A value made by the dependency graph: ``node`` is resolved with ``overrides`` taken by name.

    ``direct`` is set for a ``use(factory)`` whose every parameter comes from the request (lihil's WebSocket
    factory is the typical one): such a factory is simply called, and a generator one is finished by the endpoint
    after the handler, which costs a fraction of a dependency-graph scope per connection.
    """

    name: str
    node: Any
    overrides: tuple[str, ...]
    direct: FactoryKind | None = None


@dataclass(frozen=True)
class EndpointSignature:
    """Everything an endpoint needs to turn a request into the handler's keyword arguments."""

    params: tuple[RequestParam, ...]  # declaration order
    injected: tuple[tuple[str, Injected], ...]
    dependencies: tuple[DependencyParam, ...]
    scoped: bool
    return_annotation: Any
    handler_params: frozenset[str]

    @cached_property
    def read_order(self) -> tuple[RequestParam, ...]:
        """Headers and cookies, then the path, then the query: the order problems are reported in."""
        return tuple(sorted(self.params, key=lambda p: _LOCATION_ORDER[p.location]))

    @cached_property
    def reads_query(self) -> bool:
        return any(p.location == "query" for p in self.params)

    @property
    def body(self) -> RequestParam | None:
        return next((p for p in self.params if p.location == "body"), None)

    def read(self, conn: HTTPConnection) -> tuple[dict[str, Any], list[ValidationProblem]]:
        """Read every non-body parameter; collect every problem rather than stopping at the first."""
        values: dict[str, Any] = {}
        problems: list[ValidationProblem] = []
        query = parse_query(conn.scope.get("query_string", b"")) if self.reads_query else {}
        for param in self.read_order:
            if param.location == "body":
                continue
            raw = param.read(conn, query)
            if raw is MISSING:
                value = (MissingRequestParam(location=param.location, param=param.alias) if param.default is MISSING
                         else default_value(param.default))
            elif param.passthrough:
                value = raw
            else:
                value = param.decoder(raw, param.location, param.alias)  # type: ignore[misc]
            if isinstance(value, ValidationProblem):
                problems.append(value)
            else:
                values[param.name] = value
        return values, problems

    async def arguments(
        self, resolver: Resolver, values: dict[str, Any], conn: Any, resources: list[Any]
    ) -> dict[str, Any]:
        """The handler's keyword arguments: parsed values, injected objects, then resolved dependencies.

        Generators opened by direct factories are appended to ``resources``; finish them with
        :func:`close_resources` after the handler.
        """
        for name, kind in self.injected:
            values[name] = resolver if kind == "resolver" else conn
        for dep in self.dependencies:
            overrides = {n: values[n] for n in dep.overrides if n in values}
            if dep.direct is None:
                values[dep.name] = await resolver.aresolve(dep.node, **overrides)
            elif dep.direct == "asyncgen":
                agen = dep.node(**overrides)
                resources.append(agen)
                values[dep.name] = await agen.__anext__()
            elif dep.direct == "gen":
                gen = dep.node(**overrides)
                resources.append(gen)
                values[dep.name] = next(gen)
            elif dep.direct == "coroutine":
                values[dep.name] = await dep.node(**overrides)
            else:
                values[dep.name] = dep.node(**overrides)
        if self.values_are_arguments:
            return values
        return {name: values[name] for name in self.handler_params}

    @cached_property
    def values_are_arguments(self) -> bool:
        """True when every value read or made is one of the handler's parameters (no transitive ones)."""
        made = {p.name for p in self.params if p.location != "body"} | {n for n, _ in self.injected}
        made |= {d.name for d in self.dependencies}
        return made == self.handler_params and self.body is None


def parse_query(query_string: bytes) -> dict[str, list[str]]:
    """``b"a=1&a=2&b=%C3%A9"`` -> ``{"a": ["1", "2"], "b": ["é"]}``, decoded as Starlette's ``QueryParams`` does.

    Every connection with a query parameter pays for this, so it is kept lean: most pieces need no unquoting.
    """
    parsed: dict[str, list[str]] = {}
    if not query_string:
        return parsed
    for piece in query_string.decode("latin-1").split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:
            key, value = unquote_plus(key), unquote_plus(value)
        parsed.setdefault(key, []).append(value)
    return parsed


async def close_resources(resources: list[Any]) -> None:
    """Run the code after ``yield`` of each generator factory, last opened first."""
    while resources:
        gen = resources.pop()
        try:
            if inspect.isasyncgen(gen):
                await gen.__anext__()
            else:
                next(gen)
        except (StopAsyncIteration, StopIteration):
            continue
        raise RuntimeError(f"resource factory {gen!r} yielded more than once; a factory must yield exactly one value")


def parse_signature(
    func: Callable[..., Any], *, path_keys: tuple[str, ...], graph: Graph, websocket: bool, where: str
) -> EndpointSignature:
    """Read ``func``'s parameters for the route ``where`` (e.g. ``"WebSocketRoute('/chat/{room}')"``)."""
    try:
        hints = get_type_hints(func, include_extras=True)
    except Exception as exc:  # NameError for a forward reference, TypeError for a bad annotation
        raise InvalidParamError(f"{where}: cannot read the annotations of {_name(func)}: {exc}") from exc

    reader = _SignatureReader(func, hints, path_keys, graph, websocket, where)
    return reader.read()


class _SignatureReader:
    def __init__(
        self, func: Callable[..., Any], hints: dict[str, Any], path_keys: tuple[str, ...], graph: Graph,
        websocket: bool, where: str,
    ) -> None:
        self.func, self.hints, self.path_keys, self.graph = func, hints, path_keys, graph
        self.websocket, self.where = websocket, where
        self.params: dict[str, RequestParam] = {}
        self.injected: list[tuple[str, Injected]] = []
        self.dependencies: list[DependencyParam] = []
        self.scoped = False

    def read(self) -> EndpointSignature:
        sig = inspect.signature(self.func)
        handler_params: list[str] = []
        for param in sig.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise NotSupportedError(
                    f"{self.where}: parameter {param.name!r} of {_name(self.func)}: *args and **kwargs are not "
                    "supported; declare each value as a named parameter"
                )
            annotation = self.hints.get(param.name, str if param.annotation is param.empty else param.annotation)
            default = MISSING if param.default is param.empty else param.default
            self._classify(param.name, annotation, default, transitive=False)
            handler_params.append(param.name)

        unused = set(self.path_keys) - set(self.params)
        if unused:
            warnings.warn(
                f"Path params {unused} appeared in {self.where} but not used in endpoint function",
                UserWarning, stacklevel=5,
            )
        ordered = tuple(self.params.values())
        bodies = [p for p in ordered if p.location == "body"]
        if len(bodies) > 1:
            names = ", ".join(p.name for p in bodies)
            raise NotSupportedError(f"{self.where}: only one body parameter is supported, got {names}")
        ret = self.hints.get("return", inspect.Signature.empty)
        return EndpointSignature(
            params=ordered, injected=tuple(self.injected), dependencies=tuple(self.dependencies),
            scoped=self.scoped, return_annotation=ret, handler_params=frozenset(handler_params),
        )

    def _classify(self, name: str, annotation: Any, default: Any, *, transitive: bool) -> None:
        node_meta, param_meta = _metas(annotation)
        base = strip_annotated(annotation)
        if node_meta is not None and not node_meta.ignore:
            self._add_dependency(name, node_meta.factory if node_meta.factory is not MISSING else base,
                                 node_meta.reuse)
            return
        source = param_meta.source if param_meta else None
        if source is None:
            if name in self.path_keys:
                source = "path"
            elif (kind := _injected_kind(base)) is not None:
                self.injected.append((name, kind))
                return
            elif _is_registered(self.graph, base):
                self._add_dependency(name, base, MISSING)
                return
            elif _is_structured(base):
                source = "body"
            else:
                source = "query"
        self._add_request_param(name, source, base, default, param_meta, transitive)

    def _add_request_param(
        self, name: str, source: str, base: Any, default: Any, meta: ParamMeta | None, transitive: bool
    ) -> None:
        where = f"{self.where}, parameter {name!r}"
        if source == "plugin":
            raise NotSupportedError(f"{where}: plugin parameters are not supported")
        if source == "body" and self.websocket:
            raise NotSupportedError(
                f"{where}: Websocket does not support body param; a WebSocket handshake has no body, "
                "read messages with ws.receive_*() instead"
            )
        if source == "path" and default is not MISSING:
            raise NotSupportedError(f"{where}: a path parameter cannot have a default (got {default!r})")
        if source == "path" and name not in self.path_keys and not (meta and meta.alias in self.path_keys):
            raise InvalidParamError(f"{where}: declared as a path parameter but the path has no {{{name}}}")
        if source in ("path", "query", "header", "cookie") and _is_structured(base):
            raise InvalidParamError(
                f"{where}: a {source} parameter must be a plain type (str, int, list[int], Literal[...]), "
                f"got {type_repr(base)}"
            )
        alias = (meta.alias if meta and meta.alias else None) or (
            name.replace("_", "-") if source in ("header", "cookie") else name
        )
        decode_type = Annotated[base, meta.constraint] if meta and meta.constraint else base
        form = meta if isinstance(meta, FormMeta) else None
        self.params[name] = RequestParam(
            name=name, location=source, alias=alias, annotation=base, default=default,  # type: ignore[arg-type]
            decoder=Decoder(decode_type, meta.decoder if meta else None), multi=is_sequence_type(base),
            transitive=transitive, form=form,
            passthrough=base is str and not (meta and (meta.constraint or meta.decoder)),
        )

    def _add_dependency(self, name: str, node: Any, reuse: Any) -> None:
        try:
            self.graph.include_node(node, reuse=reuse)
            analyzed = self.graph.analyze(node)
            scoped = self.graph.should_be_scoped(node)
        except Exception as exc:
            raise InvalidParamError(
                f"{self.where}, parameter {name!r}: cannot use {_name(node)} as a dependency: {exc}"
            ) from exc
        overrides: list[str] = []
        for dep in analyzed.dependencies:
            dep_base = strip_annotated(dep.param_type)
            if dep.name in self.params or _injected_kind(dep_base) is not None:
                if (kind := _injected_kind(dep_base)) is not None and dep.name not in dict(self.injected):
                    self.injected.append((dep.name, kind))
                overrides.append(dep.name)
            elif dep.should_be_ignored and not _is_structured(dep_base) and _metas(dep.annotation)[0] is None:
                default = dep.default_ if dep.default_ is not _ididi_missing() else MISSING
                self._classify(dep.name, dep.annotation, default, transitive=True)
                overrides.append(dep.name)
        direct = _factory_kind(node) if reuse is not True and len(overrides) == len(analyzed.dependencies) else None
        self.scoped = self.scoped or (scoped and direct is None)
        self.dependencies.append(DependencyParam(name=name, node=node, overrides=tuple(overrides), direct=direct))


def _factory_kind(node: Any) -> FactoryKind | None:
    """How to call ``node`` directly, or None where only the dependency graph knows how to build it."""
    if not inspect.isfunction(node):
        return None
    if inspect.isasyncgenfunction(node):
        return "asyncgen"
    if inspect.isgeneratorfunction(node):
        return "gen"
    return "coroutine" if inspect.iscoroutinefunction(node) else "function"


def _ididi_missing() -> Any:
    from ididi.utils.param_utils import MISSING as IDIDI_MISSING

    return IDIDI_MISSING


def _metas(annotation: Any) -> tuple[NodeMeta[Any] | None, ParamMeta | None]:
    """The first ididi NodeMeta and the merged ParamMeta in ``annotation``'s metadata (nested Annotated flattened)."""
    node_meta: NodeMeta[Any] | None = None
    merged: dict[str, Any] = {}
    meta_cls: type[ParamMeta] = ParamMeta
    while get_origin(annotation) is Annotated:
        args = get_args(annotation)
        for item in _flatten_metadata(args[1:]):
            if isinstance(item, NodeMeta) and node_meta is None:
                node_meta = item
            elif isinstance(item, ParamMeta):
                if isinstance(item, FormMeta):
                    meta_cls = FormMeta
                merged.update({f.name: getattr(item, f.name) for f in dataclasses.fields(item)
                               if getattr(item, f.name) not in (None, {})})
        annotation = args[0]
    return node_meta, (meta_cls(**merged) if merged else None)


def _flatten_metadata(items: tuple[Any, ...]) -> list[Any]:
    """``use(f)`` is itself ``Annotated[T, NodeMeta(f)]``, so metadata may nest: flatten it, in order."""
    flat: list[Any] = []
    for item in items:
        if get_origin(item) is Annotated:
            flat.extend(_flatten_metadata(get_args(item)[1:]))
        else:
            flat.append(item)
    return flat


def _injected_kind(tp: Any) -> Injected | None:
    if get_origin(tp) in (Union, _UnionType):
        kinds = [k for a in get_args(tp) if (k := _injected_kind(a)) is not None]
        return kinds[0] if kinds else None
    if not isinstance(tp, type):
        return None
    if issubclass(tp, WebSocket):
        return "websocket"
    if issubclass(tp, Request):
        return "request"
    if issubclass(tp, Resolver):
        return "resolver"
    return None


def _is_registered(graph: Graph, tp: Any) -> bool:
    try:
        return isinstance(tp, type) and tp in graph.nodes
    except TypeError:
        return False


def _is_structured(tp: Any) -> bool:
    if get_origin(tp) in (Union, _UnionType):
        return any(_is_structured(a) for a in get_args(tp))
    origin = get_origin(tp) or tp
    if not isinstance(origin, type):
        return False
    if origin in (dict,) or (issubclass(origin, Mapping) and origin is not str):
        return True
    from starlette.datastructures import UploadFile

    return (
        issubclass(origin, msgspec.Struct) or dataclasses.is_dataclass(origin) or is_typeddict(origin)
        or issubclass(origin, UploadFile) or hasattr(origin, "model_fields")
    )


def type_repr(tp: Any) -> str:
    """``int`` -> ``"int"``, ``list[int] | None`` -> ``"list[int] | None"``."""
    if isinstance(tp, type) and not get_args(tp):
        return tp.__name__
    return repr(tp).replace("typing.", "")


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or repr(obj)
