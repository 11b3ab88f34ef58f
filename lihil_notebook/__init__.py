"""lihil_notebook — a live WebSocket playground in Jupyter, served by lihil.

In a notebook::

    %load_ext lihil_notebook           # starts the server on 127.0.0.1, a free port

    %%ws_route /echo/{room}            # the cell's last `async def` becomes a live route
    async def echo(ws: WebSocket, room: str): ...

    from lihil_notebook import playground
    s = playground().connect("/echo/lobby")   # a client Session
    s.send("hi"); s.receive()

Where the user's browser reaches a route (direct, or through the Jupyter server's proxy on a hub) is
``pg.browser_url(path)`` (:mod:`lihil_notebook.reach`); ``pg.show(path)`` shows a ``%%route`` page in the notebook
with its WebSockets going through the kernel, for where no port is reachable (Colab).

``%load_ext`` starts the server at once (so ``pg.url`` is valid right away); ``%unload_ext`` stops it, closes the
sessions, frees the port and removes the magics; ``%reload_ext`` does both and keeps the routes, because the
:class:`Playground` lives on the IPython shell, not in this module.
"""

from __future__ import annotations

from typing import Any

from .client.session import LogEntry, Session
from .errors import (
    PlaygroundError,
    RouteDefinitionError,
    ServerNotRunningError,
    ServerStartError,
    SessionClosedError,
    SessionConnectError,
    SessionError,
)
from .ipython import magics
from .kernel import playground
from .playground import ExposedServerWarning, Playground, RouteInfo, RouteKind
from .server import capture
from .server.thread import ServerSettings
from .ui import console, diagram
from .ui.page_frame import show_page

Playground.page_view = show_page  # pg.show(path): the playground may not import the ui room itself

__all__ = [
    "ExposedServerWarning",
    "LogEntry",
    "Playground",
    "PlaygroundError",
    "RouteDefinitionError",
    "RouteInfo",
    "RouteKind",
    "ServerNotRunningError",
    "ServerSettings",
    "ServerStartError",
    "Session",
    "SessionClosedError",
    "SessionConnectError",
    "SessionError",
    "console",
    "diagram",
    "load_ipython_extension",
    "playground",
    "unload_ipython_extension",
]


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext lihil_notebook``: register the magics and start the server."""
    magics.register(shell)
    playground().start()


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext lihil_notebook``: stop the server (sessions closed, port freed) and remove the magics.

    Routes stay in the Playground, so ``%reload_ext`` brings them back on the new server.
    """
    magics.unregister(shell)
    playground().stop()
    capture.uninstall()
