"""Where the playground is reached directly: ``http://127.0.0.1:PORT/path`` and ``ws://...``, with the token when
one is on, so a copied URL works as it is in websocat or a browser."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ServerNotRunningError
from ..wire import with_token


class DirectUrls:
    """URLs on the bound address; ``host()`` / ``port()`` / ``token()`` are read at each call (they change)."""

    def __init__(self, host: Callable[[], str], port: Callable[[], int | None], token: Callable[[], str | None]):
        self._host, self._port, self._token = host, port, token

    def netloc(self) -> str:
        """``127.0.0.1:PORT`` (a wildcard bind is reached on loopback); ServerNotRunningError while stopped."""
        port = self._port()
        if port is None:
            raise ServerNotRunningError("the playground server is stopped; start it with `%lihil start` or "
                                        "`pg.start()`")
        bound = self._host()
        host = "127.0.0.1" if bound in ("0.0.0.0", "") else "::1" if bound == "::" else bound
        return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"

    def bare(self, scheme: str, path: str, where: str) -> str:
        """The URL without the token (for the notebook's own sessions, which carry it in a header)."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"{where}(path): expected a path starting with '/', got {path!r}")
        return f"{scheme}://{self.netloc()}{path}"

    def url(self, scheme: str, path: str, where: str) -> str:
        return with_token(self.bare(scheme, path, where), self._token())
