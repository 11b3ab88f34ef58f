"""``Param(...)``: where a handler parameter comes from and which constraints its value must meet.

Values from the path, the query string, headers and cookies arrive as text. They are converted to the annotated type
with msgspec (``"5"`` -> ``5``, ``"true"`` -> ``True``, ``Literal`` checked, ``ge=1`` checked); a sequence type
(``list[int]``) takes every value of a repeated key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

import msgspec

from .errors import InvalidParamSourceError
from .problems import CustomDecodeErrorMessage, CustomValidationError, InvalidDataType

ParamSource = Literal["path", "query", "header", "cookie", "body", "plugin"]
SOURCES: Final = ("path", "query", "header", "cookie", "body", "plugin")


class _Missing:
    """The value of a parameter that was not given (falsy, a singleton)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<lihil.MISSING>"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class ParamMeta:
    """What ``Param(...)`` returns; put it in ``Annotated[T, Param(...)]``."""

    source: ParamSource | None = None
    alias: str | None = None
    decoder: Callable[[Any], Any] | None = None
    constraint: msgspec.Meta | None = None
    extra_meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FormMeta(ParamMeta):
    """What ``Form(...)`` returns: a body parameter read from a form."""

    content_type: str = "multipart/form-data"
    max_files: int = 1000
    max_fields: int = 1000
    max_part_size: int = 1024**2


def Param(
    source: ParamSource | None = None,
    *,
    alias: str | None = None,
    decoder: Callable[[Any], Any] | None = None,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    multiple_of: float | None = None,
    pattern: str | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    tz: bool | None = None,
    title: str | None = None,
    description: str | None = None,
    examples: list[Any] | None = None,
    extra_json_schema: dict[str, Any] | None = None,
    schema_extra: dict[str, Any] | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> ParamMeta:
    """Declare where a parameter comes from and what its value must satisfy.

    >>> async def h(ws: WebSocket, token: Annotated[str, Param("header", alias="x-token")],
    ...             n: Annotated[int, Param(ge=1)] = 1): ...
    """
    if source is not None and source not in SOURCES:
        raise InvalidParamSourceError(f"Param(source={source!r}): expected one of {', '.join(SOURCES)}")
    bounds = {
        "gt": gt, "ge": ge, "lt": lt, "le": le, "multiple_of": multiple_of, "pattern": pattern,
        "min_length": min_length, "max_length": max_length, "tz": tz, "title": title, "description": description,
        "examples": examples, "extra_json_schema": extra_json_schema or schema_extra,
    }
    given: dict[str, Any] = {k: v for k, v in bounds.items() if v is not None}
    constraint = msgspec.Meta(**given) if given else None
    return ParamMeta(source=source, alias=alias, decoder=decoder, constraint=constraint, extra_meta=extra_meta or {})


def Form(
    decoder: Callable[[Any], Any] | None = None,
    content_type: str | None = None,
    max_files: int = 1000,
    max_fields: int = 1000,
    max_part_size: int = 1024**2,
    extra_meta: dict[str, Any] | None = None,
) -> FormMeta:
    """Declare a body parameter read from a ``multipart/form-data`` or urlencoded form."""
    return FormMeta(
        source="body", decoder=decoder, content_type=content_type or "multipart/form-data", max_files=max_files,
        max_fields=max_fields, max_part_size=max_part_size, extra_meta=extra_meta or {},
    )


class Payload(msgspec.Struct, frozen=True, gc=False):
    """A request/response body model: a frozen msgspec Struct that also reads like a mapping."""

    def keys(self) -> tuple[str, ...]:
        return self.__struct_fields__

    def __getitem__(self, key: str) -> Any:
        if key not in self.__struct_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def asdict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)

    def replace(self, **changes: Any) -> Any:
        return msgspec.structs.replace(self, **changes)

    def merge(self, other: Mapping[str, Any], *, deep: bool = False) -> Any:
        return msgspec.structs.replace(self, **dict(other))


# --- decoding ----------------------------------------------------------------------------------------------------

_SEQUENCE_ORIGINS = (list, tuple, set, frozenset, Sequence)


def strip_annotated(annotation: Any) -> Any:
    """``Annotated[T, ...]`` -> ``T`` (nested Annotated flattened)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def is_sequence_type(annotation: Any) -> bool:
    """``list[int]``, ``tuple[str, ...]``, ``set[str]`` (and ``list[int] | None``) take all values of a key."""
    tp = strip_annotated(annotation)
    if get_origin(tp) in (Union, _UnionType):
        return any(is_sequence_type(a) for a in get_args(tp) if a is not type(None))
    return tp in _SEQUENCE_ORIGINS or get_origin(tp) in _SEQUENCE_ORIGINS


_UnionType = type(int | str)


@dataclass(frozen=True, slots=True)
class Decoder:
    """Turns the raw text value(s) of one parameter into the annotated type, or a :class:`ValidationProblem`."""

    annotation: Any
    custom: Callable[[Any], Any] | None = None

    def __call__(self, raw: Any, location: str, name: str) -> Any:
        try:
            if self.custom is not None:
                return self.custom(raw)
            if self.annotation is str and isinstance(raw, str):
                return raw
            if self.annotation is bytes and isinstance(raw, str):
                return raw.encode()
            return msgspec.convert(raw, self.annotation, strict=False)
        except CustomValidationError as exc:
            return CustomDecodeErrorMessage(location=location, param=name, message=exc.detail)
        except (msgspec.ValidationError, ValueError, TypeError) as exc:
            return InvalidDataType(location=location, param=name, message=str(exc))


def default_value(default: Any) -> Any:
    """Mutable defaults (lists, dicts) are copied per request so one request cannot change the next one's."""
    return copy.deepcopy(default) if isinstance(default, list | dict | set) else default
