"""The magics: parse the line, hand over to the :class:`~lihil_notebook.playground.Playground`, show the result."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from IPython.core.completer import CompletionContext, SimpleCompletion, SimpleMatcherResult, context_matcher
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from ..errors import PlaygroundError
from ..kernel import playground
from ..playground import RouteKind, check_path
from ..ui import console, route_card
from .cells import run_hub_cell, run_route_cell
from .display import StatusReport

LIHIL_COMMANDS = ("status", "routes", "stop", "start", "restart", "unmount", "port", "host", "token", "allow-origin",
                  "allow-host", "bus", "transport")
TOKEN_VALUES = ("on", "off", "new")
TOKEN_HELP = ("The notebook's sessions, consoles and pg.show carry it already. For websocat, curl or a browser "
              "tab: a route card's copy button, or pg.ws_url(path) / pg.browser_url(path) (values with the token; "
              "pg.token is the token itself). Outputs never show it: they are saved with the notebook.")
MATCHER_ID = "lihil_notebook.route_paths"
T = TypeVar("T")


@magics_class
class PlaygroundMagics(Magics):
    # `no_var_expand`: IPython would otherwise replace `{room}` in `/chat/{room}` with a variable named room.

    @magic_arguments()
    @argument("path", help="the route's path, e.g. /echo/{room}; {name} parts are path parameters")
    @argument("--handler", default=None, metavar="NAME",
              help="the function to mount (default: the cell's last top-level async def)")
    @cell_magic
    @no_var_expand
    def ws_route(self, line: str, cell: str) -> None:
        """Run the cell and serve its last top-level ``async def`` as a live WebSocket route at PATH.

        The cell runs in the notebook's namespace, like any cell. Its handler gets what lihil offers: typed path,
        query, header and cookie parameters (``room: str``, ``upper: bool = False``), ``use(...)`` dependencies.
        Re-running the cell replaces the handler: new connections get the new code, open ones finish on the old
        code and their sessions are marked stale. Any WebSocket client on this machine can connect at once::

            %%ws_route /echo/{room}
            from lihil import WebSocket

            async def echo(ws: WebSocket, room: str, upper: bool = False):
                await ws.accept()
                async for text in ws.iter_text():
                    await ws.send_text(f"[{room}] " + (text.upper() if upper else text))

        A handler's print() goes to its connection's log; an exception closes the connection with 1011 and its
        traceback goes to `%lihil` and to the log of the session on that connection.
        """
        args = parse_argstring(self.ws_route, line)
        with _usage_errors():
            self._mount(args.path, cell, f"%%ws_route {line}", args.handler, RouteKind.WS, "GET")

    @magic_arguments()
    @argument("path", help="the route's path, e.g. /index or /items/{item_id}")
    @argument("--method", default="GET", help="the HTTP method (default GET)")
    @argument("--handler", default=None, metavar="NAME",
              help="the function to serve (default: the cell's last top-level function)")
    @cell_magic
    @no_var_expand
    def route(self, line: str, cell: str) -> None:
        """Run the cell and serve its last top-level function as an HTTP endpoint at PATH (``--method``, GET).

        For example a small page that talks to a WebSocket route, by a URL relative to the page, so it works direct,
        through the Jupyter server's proxy (``pg.browser_url``) and shown in the notebook (``pg.show``)::

            %%route /index
            from lihil import HTML

            def index() -> HTML:
                return "<script>const ws = new WebSocket(new URL('echo/lobby', location.href))</script>"
        """
        args = parse_argstring(self.route, line)
        with _usage_errors():
            self._mount(args.path, cell, f"%%route {line}", args.handler, RouteKind.HTTP, args.method)

    def _mount(self, path: str, cell: str, magic_line: str, handler: str | None, kind: RouteKind, method: str) -> None:
        pg = playground()
        check_path(path)  # before running anything: an invalid path changes nothing
        func = self._run(lambda: run_route_cell(self.shell, cell, magic_line=magic_line, handler_name=handler,
                                                kind=kind), magic_line)
        pg.mount(kind, path, func, method)
        pg.start()
        display(route_card(pg, path))

    def _run(self, step: Callable[[], T], magic_line: str) -> T:
        """Run the cell (``step``); a syntax error is shown exactly as IPython shows a cell's, without our frames."""
        try:
            return step()
        except SyntaxError:
            assert self.shell is not None
            self.shell.showsyntaxerror()
            raise UsageError(f"{magic_line.split()[0]}: the cell has a syntax error (above); nothing was run or "
                             "mounted") from None

    @magic_arguments()
    @argument("path", help="the hub's path, e.g. /rooms")
    @cell_magic
    @no_var_expand
    def ws_hub(self, line: str, cell: str) -> None:
        """Run the cell and serve its ChannelBase classes as a live SocketHub at PATH (lihil's rooms protocol).

        The cell's top-level ``ChannelBase`` subclasses become the hub's channels, its ``async def on_connect`` /
        ``on_disconnect`` the hub's hooks. Re-running the cell replaces the channels for the next connection; open
        ones finish on the old ones (marked stale); the rooms stay. ``%lihil bus redis://...`` shares the rooms
        with other kernels and processes::

            %%ws_hub /rooms
            from lihil import ChannelBase, Topic

            class Room(ChannelBase):
                topic = Topic("room:{name}")

                async def on_chat(self, payload: dict) -> None:
                    await self.publish(payload, event="chat")
        """
        args = parse_argstring(self.ws_hub, line)
        pg = playground()
        with _usage_errors():
            check_path(args.path)
            channels, on_connect, on_disconnect = self._run(lambda: run_hub_cell(
                self.shell, cell, magic_line=f"%%ws_hub {line}"), f"%%ws_hub {line}")
            pg.mount_hub(args.path, *channels, on_connect=on_connect, on_disconnect=on_disconnect)
            pg.start()
        display(route_card(pg, args.path))

    @magic_arguments()
    @argument("command", nargs="?", default="status", choices=LIHIL_COMMANDS, metavar="COMMAND",
              help="status (default) | routes | stop | start | restart | unmount PATH | port N | host HOST | "
                   "token on|off|new | allow-origin URL | allow-host NAME | bus redis://...|memory | "
                   "transport tcp|in-process")
    @argument("value", nargs="?", help="the PATH, port N, HOST, on|off|new, origin URL or host NAME")
    @line_magic
    @no_var_expand
    def lihil(self, line: str) -> None:
        """The playground server: status, routes, stop/start/restart, unmount PATH, port N, host HOST.

        ``%lihil`` shows the URL, the routes (path, handler, parameters, version, open connections, last errors)
        and the client sessions. ``%lihil port N`` serves on port N (0 = a free port, the default); if N is taken
        the server keeps running where it was. ``%lihil host HOST`` binds another address (default 127.0.0.1);
        anything but loopback warns, since other machines can then reach your routes (the token still applies).

        Who may connect: ``%lihil token on|off|new`` (every request must carry ``pg.token``; ``%lihil token``
        says how to get it without printing it),
        ``%lihil allow-origin https://hub.example.org`` (pages of that origin may open WebSockets and POST here),
        ``%lihil allow-host NAME`` (serve requests for that Host). ``%lihil`` lists the last refused requests.
        ``%lihil bus redis://127.0.0.1:6379/0`` puts the hubs' rooms on Redis (``memory``: back to this kernel).
        ``%lihil transport in-process|tcp`` serves on the kernel's own loop (no port; JupyterLite's only way) or
        over TCP (:mod:`lihil_notebook.transports`).
        """
        args = parse_argstring(self.lihil, line)
        command, value = args.command, args.value
        needs_value = command in ("unmount", "port", "host", "allow-origin", "allow-host", "bus",
                                     "transport")
        if command == "token" and value is None:
            print(TOKEN_HELP if playground().token else "token off: any account on this machine may connect; "
                  "`%lihil token on` turns it on")
            return
        if needs_value != (value is not None) and command != "token":
            raise UsageError(f"%lihil {command}: " + (f"expected a value (%lihil {command} ...)" if needs_value
                                                      else f"takes no value, got {value!r}"))
        pg = playground()
        with _usage_errors():
            if command in ("status", "routes"):
                display(StatusReport(pg, routes_only=command == "routes"))
            elif command == "stop":
                pg.stop()
                print("lihil playground stopped")
            elif command in ("start", "restart"):
                pg.start() if command == "start" else pg.restart()
                print(f"lihil playground running {_where(pg)}")
            elif command == "unmount":
                pg.unmount(value)
                print(f"unmounted {value}")
            elif command == "port":
                pg.set_port(_port_number(value))
                print(f"lihil playground running {_where(pg)}" if pg.is_running else f"port set to {value}")
            elif command == "host":
                pg.set_host(value)
                print(f"lihil playground running {_where(pg)}" if pg.is_running else f"host set to {value}")
            elif command == "token":
                if value not in TOKEN_VALUES:
                    raise UsageError(f"%lihil token: expected one of {', '.join(TOKEN_VALUES)}, got {value!r}")
                token = pg.set_token(value)
                # The token itself is never printed: outputs are saved with the notebook.
                print("token off: any account or process on this machine may connect" if token is None else
                      "token on: every request from outside the kernel must carry it. " + TOKEN_HELP)
            elif command == "bus":
                # `%lihil` does not expand {..} (paths have them); a bus URL may come from a variable: $url
                url = self.shell.var_expand(value) if self.shell is not None and "$" in value else value
                bus = pg.set_bus(None if url == "memory" else url)
                print("hubs on in-memory rooms (this kernel only)" if bus is None else
                      f"hubs on {bus!r}: rooms shared with every process and kernel on that Redis")
            elif command == "transport":
                pg.set_transport(value)  # checked there, with a clear error
                print(f"lihil playground transport: {pg.transport}" + (f", running {_where(pg)}" if pg.is_running
                                                                       else ""))
            elif command == "allow-origin":
                print(f"pages from {pg.allow_origin(value)} may now open WebSockets and send requests here")
            else:
                print(f"requests for host {pg.allow_host(value)} are now served")

    @line_magic
    @no_var_expand
    def ws_console(self, line: str) -> None:
        """``%ws_console [PATH]``: the interactive WebSocket console (sessions, compose box, message log)."""
        display(console(line.strip() or None))


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """Our errors, shown the IPython way for a bad magic call: one line, no traceback through our code."""
    try:
        yield
    except PlaygroundError as exc:
        raise UsageError(str(exc)) from None


def _where(pg: Any) -> str:
    """ "at http://127.0.0.1:PORT", or "in this kernel (no network)" in-process."""
    return pg.url if pg.in_process else f"at {pg.url}"


def _port_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"%lihil port: expected a port number (0-65535, 0 = any free port), got {value!r}") from None


# --- tab completion of mounted paths -----------------------------------------------------------------------------

# magic -> (the argument position that is a path, which routes to offer)
_PATH_ARGUMENTS = {"%%ws_route": (1, "ws"), "%%route": (1, "http"), "%%ws_hub": (1, "hub"), "%ws_console": (1, "ws"),
                   "%lihil": (2, "any")}


@context_matcher(identifier=MATCHER_ID)
def complete_route_paths(context: CompletionContext) -> SimpleMatcherResult:
    """Completes mounted route paths after ``%%ws_route``, ``%%route``, ``%ws_console`` and ``%lihil unmount``."""
    text = context.text_until_cursor.lstrip()
    words = text.split()
    spec = _PATH_ARGUMENTS.get(words[0]) if words else None
    at_word_start = text.endswith((" ", "\t"))
    position = len(words) if at_word_start else len(words) - 1
    if spec is None or position != spec[0] or (words[0] == "%lihil" and words[1:2] != ["unmount"]):
        return SimpleMatcherResult(completions=[], suppress=False)
    typed = "" if at_word_start else words[-1]
    kind = spec[1]
    paths = [r.path for r in playground().routes if kind in ("any", r.kind) and r.path.startswith(typed)]
    # IPython replaces only its own token (it splits at '/', '{'...): complete from where that token starts.
    token = context.token
    start = len(typed) - len(token) if typed.endswith(token) else 0
    return SimpleMatcherResult(
        completions=[SimpleCompletion(p[start:], type="path") for p in paths], suppress=bool(paths),
        matched_fragment=token,
    )


def register(shell: Any) -> None:
    shell.register_magics(PlaygroundMagics)
    matchers = shell.Completer.custom_matchers
    matchers[:] = [m for m in matchers if getattr(m, "matcher_identifier", None) != MATCHER_ID]
    matchers.append(complete_route_paths)


def unregister(shell: Any) -> None:
    """Remove our magics and matcher (IPython has no public way to unregister magics)."""
    manager = shell.magics_manager
    for kind, names in (("line", ("lihil", "ws_console")), ("cell", ("ws_route", "route", "ws_hub"))):
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(PlaygroundMagics.__name__, None)
    matchers = shell.Completer.custom_matchers
    matchers[:] = [m for m in matchers if getattr(m, "matcher_identifier", None) != MATCHER_ID]
