"""Errors raised while serving, and their problem+json (RFC 9457) responses.

An :class:`HTTPException` becomes a response whose body is a problem detail::

    {"type": "invalid-request-errors", "title": "Check Your Params", "status": 422,
     "detail": [...], "instance": "/users/abc"}

lihil 0.2.41 spells the first key ``type_``; we use the RFC's ``type``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

import msgspec
from starlette.requests import HTTPConnection
from starlette.responses import Response

T = TypeVar("T")

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class HTTPException(Exception, Generic[T]):
    """An error that becomes an HTTP problem response.

    Subclass it and set ``__status__`` / ``__problem_type__`` / ``__problem_title__``, or pass them per instance.
    The title defaults to the class docstring, the type to the class name in kebab case.
    """

    __status__: ClassVar[int] = 422
    __problem_type__: ClassVar[str | None] = None
    __problem_title__: ClassVar[str | None] = None

    def __init__(
        self,
        detail: T | str = "MISSING",
        *,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        problem_status: int | None = None,
        problem_type: str | None = None,
        problem_title: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self._status = _status_code(problem_status or status or self.__status__)
        self._problem_type = problem_type
        self._problem_title = problem_title

    @property
    def status(self) -> int:
        return self._status

    @property
    def problem_type(self) -> str:
        return self._problem_type or self.__problem_type__ or _kebab(type(self).__name__)

    @property
    def problem_title(self) -> str:
        doc = inspect.getdoc(type(self)) if type(self).__doc__ else None
        return self._problem_title or self.__problem_title__ or (doc or "").split("\n")[0] or "Error"

    def __problem_detail__(self, instance: str) -> ProblemDetail:
        return ProblemDetail(
            type=self.problem_type, title=self.problem_title, status=self.status, detail=self.detail, instance=instance
        )


def _status_code(status: Any) -> int:
    """Accept ``404`` or a ``Literal[404]`` alias such as ``status.NOT_FOUND``."""
    if isinstance(status, int):
        return status
    if get_origin(status) is Literal:
        return int(get_args(status)[0])
    raise TypeError(f"status must be an int or Literal[int], got {status!r}")


class ProblemDetail(msgspec.Struct):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: Any = None
    instance: str = ""


# --- validation problems: one per bad parameter -------------------------------------------------------------------


class ValidationProblem(msgspec.Struct, tag_field="type", tag=True):
    location: str
    param: str
    message: str


class MissingRequestParam(ValidationProblem, tag=True):
    message: str = "param is missing"


class InvalidDataType(ValidationProblem, tag=True):
    pass


class InvalidJsonReceived(ValidationProblem, tag=True):
    message: str = "param value is not valid JSON"


class InvalidFormError(ValidationProblem, tag=True):
    message: str = "form is not valid"


class CustomDecodeErrorMessage(ValidationProblem, tag=True):
    pass


class CustomValidationError(Exception):
    """Raise from a custom ``Param(decoder=...)`` to reject a value with your own message."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequestErrors(HTTPException[list[ValidationProblem]]):
    """Check Your Params"""

    __status__ = 422

    def __init__(self, detail: list[ValidationProblem], **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)

    def __str__(self) -> str:
        return repr(self.detail)

    def summary(self) -> str:
        """One line per problem: ``query 'max_users': Expected `int`, got `str```."""
        problems = self.detail if isinstance(self.detail, list) else []
        return "; ".join(f"{p.location} {p.param!r}: {p.message}" for p in problems)


# --- responses ---------------------------------------------------------------------------------------------------


class ErrorResponse(Response):
    media_type = PROBLEM_CONTENT_TYPE

    def __init__(self, problem: ProblemDetail, status_code: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(msgspec.json.encode(problem), status_code=status_code, headers=headers)


ProblemSolver = Callable[[Any, Any], Response]
_solvers: dict[type[BaseException] | int, ProblemSolver] = {}


def problem_solver(solver: ProblemSolver) -> ProblemSolver:
    """Register ``solver(request, exc)`` for the exception class (or ``Literal[status]``) its 2nd parameter names."""
    params = list(inspect.signature(solver).parameters.values())
    if len(params) != 2:
        raise TypeError(f"problem solver {solver.__qualname__} must take (request, exc), got {len(params)} params")
    hints = inspect.get_annotations(solver, eval_str=True)
    target = hints.get(params[1].name)
    if target is None:
        raise TypeError(f"problem solver {solver.__qualname__}: annotate its 2nd parameter with the exception type")
    targets = get_args(target) if get_origin(target) is not Literal and get_args(target) else (target,)
    for t in targets:
        key: type[BaseException] | int = _status_code(t) if get_origin(t) is Literal else t
        _solvers[key] = solver
    return solver


def problem_response(conn: HTTPConnection, exc: HTTPException[Any]) -> Response:
    """The response for ``exc``: a registered solver's, else the default problem+json."""
    for klass in type(exc).__mro__:
        if klass in _solvers:
            return _solvers[klass](conn, exc)
    if exc.status in _solvers:
        return _solvers[exc.status](conn, exc)
    return ErrorResponse(exc.__problem_detail__(conn.url.path), exc.status, exc.headers)


def problem_body(problems: list[ValidationProblem], instance: str, status: int) -> bytes:
    """The problem+json body listing ``problems`` (used for WebSocket handshake denials)."""
    return msgspec.json.encode(
        ProblemDetail(type="invalid-request-errors", title="Check Your Params", status=status, detail=problems,
                      instance=instance)
    )
