"""Errors raised while routes are being defined or set up.

Each message names the route and, where there is one, the parameter, and says what was expected.
Errors raised while *serving* a request live in :mod:`lihil.problems`.
"""


class LihilError(Exception):
    """Base class of every error lihil raises on purpose."""


class RouteSetupError(LihilError):
    """A route could not be set up; the cause is chained (``raise ... from``)."""


class DuplicatedRouteError(LihilError):
    """Two routes claim the same path where only one may."""


class NotSupportedError(LihilError):
    """The definition uses something lihil does not support (a sync WebSocket handler, a body on a WebSocket...)."""


class InvalidParamError(LihilError):
    """A handler parameter cannot be read from a request as declared."""


class InvalidParamSourceError(InvalidParamError):
    """``Param(source=...)`` names a source that does not exist."""


class InvalidLifeSpanError(LihilError):
    """``Lihil(lifespan=...)`` is not an async generator function or an async context manager factory."""


class MiddlewareBuildError(LihilError):
    """A middleware factory raised or returned ``None``."""


class UnserializableResponseError(LihilError):
    """A handler returned a value that cannot be encoded as its response."""


class AppConfiguringError(LihilError):
    """The app's configuration is invalid: a value that does not fit its field, a bad config file, ``app.config = None``."""


class SockRejectedError(LihilError):
    """A WebSocket connection was rejected by the application."""
