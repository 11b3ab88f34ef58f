"""HTTP status codes as ``Literal`` types, lihil's spelling: ``status.NOT_FOUND`` is ``Literal[404]``.

They go where a type goes — ``-> Annotated[User, status.CREATED]`` makes an endpoint answer 201 — and where a
value goes: ``HTTPException(status=status.NOT_FOUND)``; ``status.code(status.NOT_FOUND) == 404``.
The names are those of :class:`http.HTTPStatus` in Python 3.11 (lihil's), plus ``RESERVED`` (306).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal, get_args, get_origin

CONTINUE = Literal[100]
SWITCHING_PROTOCOLS = Literal[101]
PROCESSING = Literal[102]
EARLY_HINTS = Literal[103]
OK = Literal[200]
CREATED = Literal[201]
ACCEPTED = Literal[202]
NON_AUTHORITATIVE_INFORMATION = Literal[203]
NO_CONTENT = Literal[204]
RESET_CONTENT = Literal[205]
PARTIAL_CONTENT = Literal[206]
MULTI_STATUS = Literal[207]
ALREADY_REPORTED = Literal[208]
IM_USED = Literal[226]
MULTIPLE_CHOICES = Literal[300]
MOVED_PERMANENTLY = Literal[301]
FOUND = Literal[302]
SEE_OTHER = Literal[303]
NOT_MODIFIED = Literal[304]
USE_PROXY = Literal[305]
RESERVED = Literal[306]
TEMPORARY_REDIRECT = Literal[307]
PERMANENT_REDIRECT = Literal[308]
BAD_REQUEST = Literal[400]
UNAUTHORIZED = Literal[401]
PAYMENT_REQUIRED = Literal[402]
FORBIDDEN = Literal[403]
NOT_FOUND = Literal[404]
METHOD_NOT_ALLOWED = Literal[405]
NOT_ACCEPTABLE = Literal[406]
PROXY_AUTHENTICATION_REQUIRED = Literal[407]
REQUEST_TIMEOUT = Literal[408]
CONFLICT = Literal[409]
GONE = Literal[410]
LENGTH_REQUIRED = Literal[411]
PRECONDITION_FAILED = Literal[412]
REQUEST_ENTITY_TOO_LARGE = Literal[413]
REQUEST_URI_TOO_LONG = Literal[414]
UNSUPPORTED_MEDIA_TYPE = Literal[415]
REQUESTED_RANGE_NOT_SATISFIABLE = Literal[416]
EXPECTATION_FAILED = Literal[417]
IM_A_TEAPOT = Literal[418]
MISDIRECTED_REQUEST = Literal[421]
UNPROCESSABLE_ENTITY = Literal[422]
LOCKED = Literal[423]
FAILED_DEPENDENCY = Literal[424]
TOO_EARLY = Literal[425]
UPGRADE_REQUIRED = Literal[426]
PRECONDITION_REQUIRED = Literal[428]
TOO_MANY_REQUESTS = Literal[429]
REQUEST_HEADER_FIELDS_TOO_LARGE = Literal[431]
UNAVAILABLE_FOR_LEGAL_REASONS = Literal[451]
INTERNAL_SERVER_ERROR = Literal[500]
NOT_IMPLEMENTED = Literal[501]
BAD_GATEWAY = Literal[502]
SERVICE_UNAVAILABLE = Literal[503]
GATEWAY_TIMEOUT = Literal[504]
HTTP_VERSION_NOT_SUPPORTED = Literal[505]
VARIANT_ALSO_NEGOTIATES = Literal[506]
INSUFFICIENT_STORAGE = Literal[507]
LOOP_DETECTED = Literal[508]
NOT_EXTENDED = Literal[510]
NETWORK_AUTHENTICATION_REQUIRED = Literal[511]

Status = Literal[100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511]
"""Every status code above, as one ``Literal``."""

_CODES: frozenset[int] = frozenset(get_args(Status))


def is_status(value: Any) -> bool:
    """True for a status alias such as ``status.OK`` (``Literal[200]``)."""
    return get_origin(value) is Literal and len(get_args(value)) == 1 and get_args(value)[0] in _CODES


def code(status: Any) -> int:
    """``status.NOT_FOUND`` (or ``404``) -> ``404``."""
    if isinstance(status, int) and status in _CODES:
        return status
    if is_status(status):
        value: int = get_args(status)[0]
        return value
    raise TypeError(f"status.code(status): expected a status such as status.NOT_FOUND or 404, got {status!r}")


def phrase(status: Any) -> str:
    """``status.NOT_FOUND`` (or ``404``) -> ``"Not Found"``."""
    value = code(status)
    return "Reserved" if value == 306 else HTTPStatus(value).phrase
