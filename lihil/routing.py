"""Paths and the route tree: normalising, compiling and matching paths; ``sub``, ``merge`` and ``route / "x"``."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

from ididi import Graph
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import MiddlewareBuildError

MiddlewareFactory = Callable[[ASGIApp], ASGIApp]
_PATH_PARAM = re.compile(r"\{([a-zA-Z_]\w*)(?::([a-zA-Z_]\w*))?\}")


def normalize_path(path: str) -> str:
    """``"web_socket/{id}"`` -> ``"/web_socket/{id}"``; spaces are dropped; a trailing slash is an error."""
    path = path.replace(" ", "")
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        raise ValueError(f"Trailing slash is not allowed: route path {path!r}; write {path.rstrip('/')!r}")
    return path


@dataclass(frozen=True)
class PathPattern:
    """A route path compiled once: its regex, its parameters (name -> converter) and how to fill it in.

    ``PathPattern.compile("/files/{name:path}")``: ``regex`` matches ``/files/a/b`` (``name="a/b"``), ``params`` is
    ``{"name": "path"}``, and ``fill({"name": "a b"})`` gives ``/files/a%20b``.
    """

    path: str
    regex: re.Pattern[str]
    params: Mapping[str, str]  # name -> converter ("str", "int", "float", "path", "uuid")

    @classmethod
    def compile(cls, path: str) -> PathPattern:
        """Raise ``ValueError`` naming the problem for unbalanced braces, a bad name or an unknown converter."""
        leftover = _PATH_PARAM.sub("", path)
        if "{" in leftover or "}" in leftover:
            raise ValueError(f"route path {path!r}: path parameters must look like {{name}} or {{name:int}} "
                             "(converters: str, int, float, path, uuid), with matching braces")
        params = {m[1]: m[2] or "str" for m in _PATH_PARAM.finditer(path)}
        try:
            regex, _, _ = compile_path(path)
        except (ValueError, AssertionError) as exc:  # Starlette: unknown converter, a name used twice
            raise ValueError(f"route path {path!r}: {exc}") from exc
        return cls(path, regex, params)

    def match(self, concrete: str) -> dict[str, str] | None:
        """The raw (text) values of the path parameters when ``concrete`` is a path of this pattern, else None."""
        found = self.regex.match(concrete)
        return None if found is None else found.groupdict()

    def fill(self, values: Mapping[str, str]) -> str:
        """The concrete path with ``values`` quoted in (``/`` kept for ``path`` parameters); ``KeyError`` if one
        is missing."""
        return _PATH_PARAM.sub(
            lambda m: quote(str(values[m[1]]), safe="/" if m[2] == "path" else ""), self.path)


def join_paths(parent: str, child: str) -> str:
    child = normalize_path(child)
    return child if parent == "/" else parent + ("" if child == "/" else child)


def strip_prefix(path: str, prefix: str) -> str:
    """``path`` below ``prefix``: ``"/api/v1/users"`` less ``"/api/v1"`` is ``"/users"``; the prefix itself is ``"/"``.

    Only a whole leading segment is taken off (``"/sub"`` does not shorten ``"/subway"``); otherwise ``path`` is
    returned as it is. The app routes on this under Starlette's ``Mount("/sub", app=...)`` or uvicorn's
    ``--root-path``, where ASGI keeps the full path in ``scope["path"]`` and the prefix in ``scope["root_path"]``
    (as Starlette's own router does).
    """
    if not path.startswith(prefix):
        return path
    rest = path[len(prefix):]
    if not rest:
        return "/"
    return rest if rest[0] == "/" else path


def build_middleware_chain(
    factories: Sequence[MiddlewareFactory], app: ASGIApp, where: str
) -> ASGIApp:
    """Wrap ``app`` so that ``factories[0]`` is the outermost middleware."""
    for factory in reversed(factories):
        try:
            wrapped = factory(app)
        except Exception as exc:
            raise MiddlewareBuildError(f"{where}: middleware factory {factory!r} raised {exc!r}") from exc
        if wrapped is None:
            raise MiddlewareBuildError(f"{where}: middleware factory {factory!r} returned None, expected an ASGI app")
        app = wrapped
    return app


class RouteBase:
    """What HTTP and WebSocket routes share: a path, a graph, middlewares and sub-routes."""

    def __init__(
        self, path: str = "", *, graph: Graph | None = None, middlewares: Sequence[MiddlewareFactory] | None = None
    ) -> None:
        self.path = normalize_path(path)
        compiled = PathPattern.compile(self.path)
        self.path_regex = compiled.regex
        self.path_keys: tuple[str, ...] = tuple(compiled.params)
        self.graph = graph or Graph(self_inject=False)
        self.middle_factories: list[MiddlewareFactory] = list(middlewares or [])
        self.subroutes: list[Self] = []
        self.is_setup = False
        # True once a handler is registered. A plain attribute, read by the app's dispatch on every request:
        # a route without one is only a prefix for the routes below it and is never served.
        self.serves = False

    # --- the tree ------------------------------------------------------------------------------------------------

    def sub(self, path: str) -> Self:
        """The child route at ``self.path + path`` (created once, then returned again)."""
        merged = join_paths(self.path, path)
        for child in self.subroutes:
            if child.path == merged:
                return child
        child = self.__class__(merged, graph=self.graph, middlewares=self.middle_factories)
        self.subroutes.append(child)
        return child

    def __truediv__(self, path: str) -> Self:
        return self.sub(path)

    def merge(self, *subs: RouteBase, parent_prefix: str | None = None) -> None:
        """Copy ``subs`` (and their sub-routes) under this route's path.

        ``parent_prefix`` is taken off the front of each sub's path first, for trees built with absolute paths:
        ``Route("/api/v1").merge(Route("/api/v1/users"), parent_prefix="/api/v1")`` gives ``/api/v1/users``.
        A sub's own sub-routes keep their place below it (their paths already start with the sub's path).
        Not idempotent: merging twice copies twice.
        """
        for sub in subs:
            if not isinstance(sub, type(self)):
                raise AttributeError(
                    f"cannot merge {sub!r} into {self!r}: a {type(self).__name__} can only merge "
                    f"{type(self).__name__}s"
                )
            relative = strip_prefix(sub.path, parent_prefix) if parent_prefix else sub.path
            copied = self.__class__(join_paths(self.path, relative), graph=self.graph,
                                    middlewares=[*self.middle_factories, *sub.middle_factories])
            copied.copy_endpoints_from(sub)
            self.graph.merge(sub.graph)
            self.subroutes.append(copied)  # type: ignore[arg-type]
            if sub.subroutes:
                copied.merge(*sub.subroutes, parent_prefix=sub.path)

    def include_subroutes(self, *subs: RouteBase, parent_prefix: str | None = None) -> None:
        warnings.warn(
            f"{type(self).__name__}.include_subroutes is deprecated and will be removed in 0.3.0; "
            f"use {type(self).__name__}.merge instead.", DeprecationWarning, stacklevel=2,
        )
        self.merge(*subs, parent_prefix=parent_prefix)

    def copy_endpoints_from(self, other: Self) -> None:
        raise NotImplementedError

    # --- middlewares --------------------------------------------------------------------------------------------

    def add_middleware(self, factory: MiddlewareFactory | Sequence[MiddlewareFactory]) -> None:
        """Wrap this route's endpoints: a factory is appended (innermost), a list or tuple goes in front as a
        block. A route already serving is set up again, so the next request goes through it."""
        if isinstance(factory, list | tuple):
            self.middle_factories[:0] = factory
        else:
            self.middle_factories.append(factory)  # type: ignore[arg-type]
        if self.is_setup:
            self.setup()

    # --- dependency graph ---------------------------------------------------------------------------------------

    def add_nodes(self, *nodes: Any) -> None:
        for node in nodes:
            self.graph.node(node)

    def factory(self, node: Any, *, ignore: tuple[Any, ...] = ()) -> Any:
        return self.graph.node(node, ignore=ignore)

    # --- serving ------------------------------------------------------------------------------------------------

    def match(self, scope: Scope) -> dict[str, str] | None:
        """The path params if ``scope``'s path is this route's, else None."""
        path = scope["path"]
        if root_path := scope.get("root_path"):
            path = strip_prefix(path, root_path)
        found = self.path_regex.match(path)
        return found.groupdict() if found else None

    def setup(self, graph: Graph | None = None, workers: Any = None) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
