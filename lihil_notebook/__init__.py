"""lihil_notebook — a live WebSocket playground in Jupyter, served by lihil.

In a notebook::

    %load_ext lihil_notebook           # starts the server on 127.0.0.1, a free port

    %%ws_route /echo/{room}            # the cell's last `async def` becomes a live route
    async def echo(ws: WebSocket, room: str): ...

    from lihil_notebook import playground
    s = playground().connect("/echo/lobby")   # a client Session
    s.send("hi"); s.receive()

``%load_ext`` starts the server at once (so ``pg.url`` is valid right away); ``%unload_ext`` stops it, closes the
sessions, frees the port and removes the magics; ``%reload_ext`` does both and keeps the routes, because the
:class:`Playground` lives on the IPython shell, not in this module.
"""

from __future__ import annotations

from typing import Any

# Eager on purpose: the function `console` shares its name with the submodule `console`, and importing the
# submodule (lazily, from a module __getattr__ or %ws_console) would set the package attribute to the module,
# so `from lihil_notebook import console` would return a module. Imported here once, the name is the function.
from .console import console
from .errors import (
    PlaygroundError,
    RouteDefinitionError,
    ServerNotRunningError,
    ServerStartError,
    SessionClosedError,
    SessionConnectError,
    SessionError,
)
from .playground import ExposedServerWarning, Playground, playground
from .routes import RouteInfo
from .server import ServerSettings
from .session import LogEntry, Session

__all__ = [
    "ExposedServerWarning",
    "LogEntry",
    "Playground",
    "PlaygroundError",
    "RouteDefinitionError",
    "RouteInfo",
    "ServerNotRunningError",
    "ServerSettings",
    "ServerStartError",
    "Session",
    "SessionClosedError",
    "SessionConnectError",
    "SessionError",
    "console",
    "load_ipython_extension",
    "playground",
    "unload_ipython_extension",
]


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext lihil_notebook``: register the magics and start the server."""
    from . import magics

    magics.register(shell)
    playground().start()


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext lihil_notebook``: stop the server (sessions closed, port freed) and remove the magics.

    Routes stay in the Playground, so ``%reload_ext`` brings them back on the new server.
    """
    from . import capture, magics

    magics.unregister(shell)
    playground().stop()
    capture.uninstall()

