"""``ServerReports``: what the server tells the session on the other end of a connection (a ``ConnectionPeer``).

A small internal API, not for cells: the route's handler printed or raised, or the route was redefined. Both are
logged on the owner loop, like everything else in a session's log. A base class of :class:`~.session.Session`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from .log import Direction, Kind

State = Literal["connecting", "open", "closing", "closed"]


class ServerReports:
    state: State
    stale: bool
    #: What the handler on the other end raised, and where (it runs in this same kernel), if it did.
    handler_error: tuple[BaseException, str] | None = None
    _early: list[tuple[Kind, str]]  # what came before the session was open: logged just after "open"

    def _on_loop(self, fn: Callable[[], None]) -> None:
        raise NotImplementedError

    def _emit(self, direction: Direction, kind: Kind, data: str | bytes | None, size: int = 0) -> None:
        raise NotImplementedError

    def server_event(self, kind: Kind, text: str) -> None:
        """The handler on the other end printed a line ("server-print") or raised ("server-error"): log it."""

        def record() -> None:
            if self.state == "connecting":
                self._early.append((kind, text))
            else:
                self._emit("event", kind, text)

        self._on_loop(record)

    def server_error(self, exc: BaseException, text: str, where: str) -> None:
        """The handler raised ``exc`` (``text``: its traceback; ``where``: its line): logged as "server-error", and
        named by the error this session raises once it finds itself closed (:attr:`handler_error`)."""

        def record() -> None:
            self.handler_error = (exc, where)
            if self.state == "connecting":
                self._early.append(("server-error", text))
            else:
                self._emit("event", "server-error", text)

        self._on_loop(record)

    def mark_stale(self, text: str) -> None:
        """The route was redefined while this session was open: it still talks to the old handler."""

        def mark() -> None:
            if not self.stale and self.state != "closed":
                self.stale = True
                self._emit("event", "stale", text)

        self._on_loop(mark)
