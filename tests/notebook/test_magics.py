"""The magics in an in-process IPython shell: %%ws_route, %%route, %lihil, %ws_console, help, completion, reload."""

from __future__ import annotations

import re
import socket
import urllib.request
import warnings
from typing import Any

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.utils.capture import CapturedIO, capture_output
from websockets.sync.client import connect

from lihil_notebook import ExposedServerWarning, playground
from lihil_notebook.ipython.display import StatusReport
from tests.notebook.playground_support import WAIT, port_is_free, server_threads

ECHO_CELL = """\
%%ws_route /echo/{room}
from lihil import WebSocket

async def echo(ws: WebSocket, room: str, upper: bool = False):
    await ws.accept()
    async for text in ws.iter_text():
        if text == "boom":
            raise ValueError("boom in " + room)
        await ws.send_text(f"[{room}] " + (text.upper() if upper else text))
"""


def run(ip: Any, code: str) -> tuple[Any, CapturedIO]:
    """Run ``code`` as a numbered cell; return IPython's result and what the cell showed."""
    with capture_output() as shown:
        result = ip.run_cell(code, store_history=True)
    return result, shown


def test_ws_route_runs_the_cell_mounts_the_handler_and_says_where(ip: Any) -> None:
    result, shown = run(ip, ECHO_CELL)
    assert result.success
    pg = playground()
    card = shown.outputs[0].data["text/plain"]
    assert "/echo/{room} is live" in card
    assert f"ws://127.0.0.1:{pg.port}/echo/{{room}}" in card
    assert "room: str (path)" in card and "upper: bool = False (query)" in card
    assert "echo" in ip.user_ns, "the cell ran in the user namespace"

    with connect(pg.ws_url("/echo/lobby?upper=1"), proxy=None) as client:
        client.send("hi")
        assert client.recv(timeout=WAIT) == "[lobby] HI"


def test_a_handler_traceback_shows_the_cells_own_line_numbers(ip: Any) -> None:
    run(ip, ECHO_CELL)
    session = playground().connect("/echo/kitchen")
    session.send("boom")
    with pytest.raises(ConnectionError, match="1011"):
        session.receive()
    error = next(e.data for e in session.log if e.kind == "server-error")
    number = ip.execution_count - 1
    assert isinstance(error, str)
    # line 8 of the cell as the user sees it (line 1 is the %%ws_route line)
    assert f'File "Cell In[{number}]", line 8, in echo' in error
    assert 'raise ValueError("boom in " + room)' in error
    assert error.endswith("ValueError: boom in kitchen")
    assert playground().routes[0].errors == [error]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%ws_route /x\nasync def f(:\n    pass\n", "syntax error"),
        ("%%ws_route /x\nx = 1\n", "defines no `async def`"),
        ("%%ws_route /x\ndef f(ws):\n    pass\n", r"f \(cell line 2\) is a sync `def`"),
        ("%%ws_route x\nasync def f(ws):\n    pass\n", "invalid path 'x': it must start with '/'"),
        ("%%ws_route /x\nfrom lihil import Struct\nclass B(Struct):\n    a: int\n"
         "async def f(ws, b: B):\n    pass\n", "Websocket does not support body param"),
        ("%%ws_route /x/{room}\nasync def f(ws):\n    pass\n", r"the path has \{room\} but f\(\) has no such"),
        ("%%ws_route /x\nasync def f(ws):\n    pass\n", r"f\(\) never receives the connection"),
        ("%%ws_route /x --handler g\nasync def f(ws):\n    pass\n", "defined no name 'g'"),
    ],
    ids=["syntax", "no-async-def", "sync-def", "invalid-path", "body-param", "undeclared-path-param",
         "unannotated-ws", "missing-handler"],
)
def test_a_bad_cell_is_a_clear_error_and_changes_nothing(ip: Any, cell: str, message: str) -> None:
    run(ip, ECHO_CELL)
    before = playground().routes
    result, _ = run(ip, cell)
    assert isinstance(result.error_in_exec, UsageError)
    assert re.search(message, str(result.error_in_exec)), str(result.error_in_exec)
    assert playground().routes == before


def test_a_syntax_error_is_shown_the_way_ipython_shows_one(ip: Any) -> None:
    result, shown = run(ip, "%%ws_route /x\nasync def f(ws):\n    return (\n")
    number = ip.execution_count - 1
    assert f"Cell In[{number}], line 3" in shown.stdout and "SyntaxError" in shown.stdout
    assert "magics.py" not in shown.stdout, "no frames of our own"
    assert isinstance(result.error_in_exec, UsageError) and "x" not in ip.user_ns


def test_handler_option_picks_the_function(ip: Any) -> None:
    cell = ("%%ws_route /pick --handler first\nfrom lihil import WebSocket\n\nasync def first(ws: WebSocket):\n"
            "    await ws.accept()\n\nasync def second(ws: WebSocket):\n    pass\n")
    assert run(ip, cell)[0].success
    assert playground().routes[0].handler_name == "first"


def test_path_braces_are_not_expanded_from_the_namespace(ip: Any) -> None:
    ip.user_ns["room"] = "lobby"
    assert run(ip, ECHO_CELL)[0].success
    assert [r.path for r in playground().routes] == ["/echo/{room}"]


def test_route_magic_serves_http(ip: Any) -> None:
    cell = "%%route /items/{item_id} --method POST\nasync def item(item_id: int):\n    return {'item': item_id}\n"
    result, shown = run(ip, cell)
    assert result.success and "HTTP route (POST) /items/{item_id} is live" in shown.outputs[0].data["text/plain"]
    request = urllib.request.Request(playground().http_url("/items/3"), method="POST")  # with the token
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        assert response.read() == b'{"item":3}'


def test_help_text(ip: Any) -> None:
    text = ip.object_inspect_mime("%%ws_route")["text/plain"]
    assert "%ws_route [--handler NAME] path" in text
    assert "last top-level ``async def``" in text and "--handler NAME" in text
    assert "unmount PATH" in ip.object_inspect_mime("%lihil")["text/plain"]


def complete(ip: Any, code: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(code, len(code))]


def test_tab_completes_mounted_paths(ip: Any) -> None:
    run(ip, ECHO_CELL)
    run(ip, "%%route /echo-page\ndef page():\n    return 'hi'\n")
    assert complete(ip, "%%ws_route /ec") == ["/echo/{room}"]
    assert complete(ip, "%%route /ec") == ["/echo-page"]
    assert complete(ip, "%ws_console /") == ["/echo/{room}"]
    assert sorted(complete(ip, "%lihil unmount /echo")) == ["/echo-page", "/echo/{room}"]
    assert complete(ip, "%lihil unmount /echo/{ro") == ["room}"], "IPython replaces only the token after '{'"


def test_lihil_shows_status_and_runs_commands(ip: Any) -> None:
    run(ip, ECHO_CELL)
    pg = playground()
    session = pg.connect("/echo/x")
    session.send("boom")
    with pytest.raises(ConnectionError):
        session.receive()

    status = run(ip, "%lihil")[1].outputs[0].data["text/plain"]
    assert f"lihil playground: {pg.url}" in status
    assert "/echo/{room}  [ws]  echo  v1  0 open" in status
    assert "upper: bool = False (query)" in status and "ValueError: boom in x" in status
    assert f"{session.name}  /echo/x  closed" in status
    routes = run(ip, "%lihil routes")[1].outputs[0].data["text/plain"]
    assert "/echo/{room}" in routes and "sessions" not in routes

    port = pg.port
    assert run(ip, "%lihil stop")[1].stdout == "lihil playground stopped\n" and not pg.is_running
    assert run(ip, "%lihil start")[1].stdout == f"lihil playground running at http://127.0.0.1:{port}\n"
    run(ip, "%lihil restart")
    assert pg.port == port and len(server_threads()) == 1

    result, _ = run(ip, "%lihil port 70000")
    assert "port must be an int between 0 and 65535" in str(result.error_in_exec)
    result, _ = run(ip, "%lihil port abc")
    assert "expected a port number" in str(result.error_in_exec)
    run(ip, "%lihil port 0")
    assert pg.is_running and len(server_threads()) == 1

    assert run(ip, "%lihil unmount /echo/{room}")[1].stdout == "unmounted /echo/{room}\n"
    result, _ = run(ip, "%lihil unmount /nope")
    assert "no route is mounted at '/nope'" in str(result.error_in_exec)
    result, _ = run(ip, "%lihil unmount")
    assert "expected a value" in str(result.error_in_exec)
    result, _ = run(ip, "%lihil dance")
    assert isinstance(result.error_in_exec, UsageError)


def test_lihil_port_in_use_keeps_the_server_where_it_was(ip: Any) -> None:
    pg = playground()
    before = pg.url
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result, _ = run(ip, f"%lihil port {busy}")
    assert f"port {busy} is already in use" in str(result.error_in_exec)
    assert pg.url == before and pg.is_running


def test_lihil_host_warns_for_a_non_loopback_address(ip: Any) -> None:
    run(ip, "%lihil stop")  # stopped: changing the host binds nothing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(ip, "%lihil host 0.0.0.0")
    assert [w.category for w in caught] == [ExposedServerWarning]
    run(ip, "%lihil host 127.0.0.1")
    assert playground().host == "127.0.0.1"


def test_reload_keeps_one_server_and_the_routes(ip: Any) -> None:
    run(ip, ECHO_CELL)
    pg = playground()
    session = pg.connect("/echo/x")
    thread = server_threads()
    ip.run_line_magic("reload_ext", "lihil_notebook")
    assert playground() is pg, "the Playground survives the module reload"
    assert session.closed and session.close_code == 1001
    assert len(server_threads()) == 1 and server_threads() != thread
    assert [r.path for r in pg.routes] == ["/echo/{room}"]
    with connect(pg.ws_url("/echo/y"), proxy=None) as client:
        client.send("back")
        assert client.recv(timeout=WAIT) == "[y] back"

    port = pg.port
    assert port is not None
    ip.run_line_magic("unload_ext", "lihil_notebook")
    assert server_threads() == [] and port_is_free(port)
    assert ip.find_cell_magic("ws_route") is None and ip.find_line_magic("lihil") is None
    assert complete(ip, "%%ws_route /ec") != ["/echo/{room}"], "the completer is gone too"
    ip.run_line_magic("load_ext", "lihil_notebook")
    assert len(server_threads()) == 1


# --- who may connect -------------------------------------------------------------------------------------------


def test_lihil_token_allow_origin_and_allow_host(ip: Any) -> None:
    from tests.notebook.edge_support import ws_handshake

    run(ip, ECHO_CELL)
    pg = playground()
    assert pg.port is not None
    try:
        _, shown = run(ip, "%lihil token on")
        token = pg.token
        assert token is not None and "token on" in shown.stdout and token not in shown.stdout
        assert ws_handshake(pg.port, "/echo/x").status == 403
        assert ws_handshake(pg.port, "/echo/x", {"Authorization": f"Bearer {token}"}).status == 101
        run(ip, "%lihil token new")
        assert pg.token not in (None, token)
        _, shown = run(ip, "%lihil allow-origin https://Hub.Example.org")
        assert "https://hub.example.org" in shown.stdout
        run(ip, "%lihil token off")
        assert pg.token is None
        assert ws_handshake(pg.port, "/echo/x", {"Origin": "https://hub.example.org"}).status == 101
        run(ip, "%lihil allow-host notebook.lan")
        assert "notebook.lan" in pg.access.allowed_hosts
        result, _ = run(ip, "%lihil token maybe")
        assert isinstance(result.error_in_exec, UsageError) and "on, off, new" in str(result.error_in_exec)
        result, _ = run(ip, "%lihil allow-origin evil.example")
        assert isinstance(result.error_in_exec, UsageError) and "expected an origin" in str(result.error_in_exec)
    finally:
        pg.set_token("on")  # the default, for the tests after


def test_lihil_status_shows_the_last_refusals_without_the_token(ip: Any) -> None:
    from tests.notebook.edge_support import ws_handshake

    run(ip, ECHO_CELL)
    pg = playground()
    assert pg.port is not None
    pg.set_token("on")
    try:
        ws_handshake(pg.port, "/echo/x", {"Origin": "http://evil.example", "Authorization": f"Bearer {pg.token}"})
        _, shown = run(ip, "%lihil")
        text = shown.outputs[-1].data["text/plain"]
        assert re.search(r"refused requests: \d+", text) and "Origin 'http://evil.example'" in text
        assert "%lihil allow-origin http://evil.example" in text
        # The token never shows (outputs are saved with the notebook), not even in URLs.
        assert "token on" in text and str(pg.token) not in text
        html_output = shown.outputs[-1].data.get("text/html") or StatusReport(pg)._repr_html_()
        assert "evil.example" in html_output and str(pg.token) not in html_output
    finally:
        pg.set_token("on")  # the default, for the tests after


def test_rerunning_a_route_cell_closes_the_previous_cards_widgets(ip: Any) -> None:
    import ipywidgets.widgets.widget as widget_module

    run(ip, ECHO_CELL)
    before = len(widget_module._instances)
    for _ in range(5):
        run(ip, ECHO_CELL)
    assert len(widget_module._instances) == before, "each re-run replaces the card; none is left open"


def test_lihil_token_says_how_to_get_it_without_printing_it(ip: Any) -> None:
    pg = playground()
    pg.start()
    run(ip, "%lihil token on")
    result, shown = run(ip, "%lihil token")
    assert result.success and pg.token
    assert "copy button" in shown.stdout and "pg.ws_url(path)" in shown.stdout and pg.token not in shown.stdout
