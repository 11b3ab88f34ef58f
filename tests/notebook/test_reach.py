"""Browser URLs (direct, Jupyter proxy, VS Code, Colab), serving below the proxy's prefix, and the comm tunnel's
kernel side — on real sockets, with real Jupyter runtime files and a real HTTP server in the Jupyter server's place."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest

from lihil import Param, Request, WebSocket
from lihil_notebook import Playground
from lihil_notebook.client.tunnel import TunnelSocket, open_direct
from lihil_notebook.reach import Reach, detect, with_token
from tests.notebook.playground_support import WAIT, wait_for


class FakeJupyterAPI(BaseHTTPRequestHandler):
    """Stands in for a Jupyter server's ``/server-proxy/servers-info`` (jupyter-server-proxy's own API)."""

    has_proxy = True
    seen_authorization: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        FakeJupyterAPI.seen_authorization.append(self.headers.get("Authorization", ""))
        found = self.path == "/server-proxy/servers-info" and FakeJupyterAPI.has_proxy
        self.send_response(200 if found else 404)
        self.end_headers()
        self.wfile.write(b'{"server_processes": []}' if found else b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def jupyter_server(tmp_path: Path) -> Iterator[tuple[Path, ThreadingHTTPServer]]:
    """A runtime dir with a jpserver file for a server whose pid is ours, answering on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJupyterAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    info = {"base_url": "/", "pid": os.getpid(), "port": port, "token": "jupyter-token",
            "url": f"http://127.0.0.1:{port}/"}
    (tmp_path / f"jpserver-{os.getpid()}.json").write_text(json.dumps(info))
    try:
        yield tmp_path, server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


def test_the_jupyter_server_that_started_the_kernel_gives_proxy_urls_when_it_has_the_proxy(
    jupyter_server: tuple[Path, ThreadingHTTPServer],
) -> None:
    runtime, _ = jupyter_server
    FakeJupyterAPI.has_proxy = True
    found = detect({}, runtime_dirs=[runtime], parent_pid=os.getpid())
    assert (found.where, found.proxy_base) == ("jupyter-proxy", "/")
    assert FakeJupyterAPI.seen_authorization[-1] == "token jupyter-token"
    assert found.url(8765, "/page?x=1") == "/proxy/8765/page?x=1"
    assert found.url(8765, "/echo", websocket=True, absolute=True) == "/proxy/absolute/8765/echo"

    # Another server's file (not our parent process) does not count.
    assert detect({}, runtime_dirs=[runtime], parent_pid=1).where == "local"
    FakeJupyterAPI.has_proxy = False  # jupyter-server-proxy not installed in the *server's* environment
    assert detect({}, runtime_dirs=[runtime], parent_pid=os.getpid()).where == "local"


def test_jupyterhub_prefix_and_public_url(tmp_path: Path) -> None:
    hub = detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ann"}, runtime_dirs=[tmp_path])
    assert (hub.where, hub.proxy_base) == ("jupyter-proxy", "/user/ann/")  # jupyter_server_proxy importable here
    assert hub.url(8765, "/echo", websocket=True) == "/user/ann/proxy/8765/echo"
    public = detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/ann/", "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/"},
                    runtime_dirs=[tmp_path])
    assert public.url(8765, "/echo", websocket=True) == "wss://hub.example.org/user/ann/proxy/8765/echo"
    assert public.url(8765, "/page") == "https://hub.example.org/user/ann/proxy/8765/page"


def test_vscode_never_gets_proxy_urls(jupyter_server: tuple[Path, ThreadingHTTPServer]) -> None:
    runtime, _ = jupyter_server
    FakeJupyterAPI.has_proxy = True
    found = detect({"VSCODE_PID": "4242", "JUPYTERHUB_SERVICE_PREFIX": "/user/ann/"}, runtime_dirs=[runtime],
                   parent_pid=os.getpid())
    assert found.where == "vscode" and found.proxy_base is None
    assert found.url(8765, "/echo", websocket=True) == "ws://127.0.0.1:8765/echo"
    assert "forward" in found.why


def test_browser_urls_carry_the_token_and_name_a_bad_path(pg: Playground) -> None:
    port = pg.port
    pg.set_token("s3cret-token")
    assert pg.browser_url("/page", token=False) == f"http://127.0.0.1:{port}/page"  # a plain test run: direct
    assert pg.browser_url("/page") == f"http://127.0.0.1:{port}/page?lihil_token=s3cret-token"
    pg.reach = Reach("jupyter-proxy", "/user/ann/")
    assert pg.browser_url("/page?x=1", token=False) == f"/user/ann/proxy/{port}/page?x=1"
    assert pg.browser_url("/page?x=1") == f"/user/ann/proxy/{port}/page?x=1&lihil_token=s3cret-token"
    assert pg.browser_ws_url("/echo", absolute=True) == f"/user/ann/proxy/absolute/{port}/echo?lihil_token=s3cret-token"
    assert with_token("/a#frag", None) == "/a#frag"
    with pytest.raises(ValueError, match=r"path: expected a path starting with '/', got 'page'"):
        pg.browser_url("page")
    with pytest.raises(TypeError, match="reach: expected"):
        pg.reach = "proxy"  # type: ignore[assignment]


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with open_direct(request, timeout=WAIT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_routes_are_served_below_the_proxys_absolute_prefix(pg: Playground) -> None:
    pg.mount_http("/page", lambda: {"page": True})
    auth = {"Authorization": f"Bearer {pg.token}"}

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())

    pg.mount_ws("/echo", echo)
    port = pg.port
    assert http_get(f"{pg.url}/user/ann/proxy/absolute/{port}/page", auth)[0] == 200
    assert http_get(f"{pg.url}/proxy/absolute/127.0.0.1:{port}/page", auth)[0] == 200
    assert http_get(f"{pg.url}/proxy/absolute/{port + 1}/page", auth)[0] == 404  # another port's prefix is a path

    # Through proxy/{port} the path arrives stripped, and X-Forwarded-Prefix names the public prefix: root_path.
    def where(request: Request) -> dict[str, str]:
        return {"root_path": request.scope.get("root_path", ""), "base_url": str(request.base_url)}

    pg.mount_http("/where", where)
    prefix = f"/user/ann/proxy/{port}"
    _, body = http_get(f"{pg.url}/where", {**auth, "X-Forwarded-Prefix": prefix})
    assert json.loads(body) == {"root_path": prefix, "base_url": f"{pg.url}{prefix}/"}
    _, body = http_get(f"{pg.url}/user/ann/proxy/absolute/{port}/where", auth)
    assert json.loads(body)["base_url"] == f"{pg.url}/user/ann/proxy/absolute/{port}/"
    _, body = http_get(f"{pg.url}/where", {**auth, "X-Forwarded-Prefix": "/proxy/1"})  # not our port: ignored
    assert json.loads(body)["root_path"] == ""
    session = pg.connect(f"/user/ann/proxy/absolute/{port}/echo")
    session.send("through the prefix")
    assert session.receive(timeout=WAIT) == "through the prefix"
    session.close()


def test_the_tunnel_relays_text_binary_close_codes_and_the_token(pg: Playground) -> None:
    async def relay(ws: WebSocket, room: str, authorization: Annotated[str, Param("header")] = "") -> None:
        await ws.accept()
        await ws.send_text(f"{room} {authorization}")
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await ws.send_bytes(message["bytes"][::-1])
            elif message["text"] == "bye":
                await ws.close(4000, "bye")
                return

    pg.mount_ws("/relay", relay)
    events: list[tuple[str, Any]] = []
    tunnel = TunnelSocket(pg.ws_url("/relay?room=lobby"), pg.call_soon, lambda kind, data: events.append((kind, data)),
                          headers={"Authorization": "Bearer s3cret-token"})
    tunnel.start()
    tunnel.send(b"\x01\x02\x03")
    tunnel.send("bye")
    wait_for(lambda: events and events[-1][0] == "close", "the tunnel to close")
    assert events == [("open", ""), ("message", "lobby Bearer s3cret-token"), ("message", b"\x03\x02\x01"),
                      ("close", (4000, "bye"))]

    # The page closes first: its code reaches the route, and comes back in the route's close frame.
    events.clear()
    tunnel = TunnelSocket(pg.ws_url("/relay?room=x"), pg.call_soon, lambda kind, data: events.append((kind, data)))
    tunnel.start()
    tunnel.close(4001, "page left")
    wait_for(lambda: events and events[-1][0] == "close", "the tunnel to close")
    assert events[-1] == ("close", (4001, "page left"))

    # A route that is not there: the page sees an abnormal closure that says why.
    events.clear()
    tunnel = TunnelSocket(pg.ws_url("/missing"), pg.call_soon, lambda kind, data: events.append((kind, data)))
    tunnel.start()
    wait_for(lambda: events, "the tunnel to fail")
    assert events == [("close", (1006, "HTTP 404"))]


def test_lihil_status_and_the_static_route_card_show_the_browser_url(pg: Playground) -> None:
    from lihil_notebook.ipython.display import StatusReport
    from lihil_notebook.ui.route_card import RouteSummary
    from lihil_notebook.ui.target import full_url

    info = pg.mount_http("/page", lambda: "page")
    pg.reach = Reach("jupyter-proxy", "/user/ann/", why="the Jupyter server has jupyter-server-proxy")
    report = StatusReport(pg)
    assert f"browser: /user/ann/proxy/{pg.port}/  (the Jupyter server has jupyter-server-proxy)" in repr(report)
    assert f'href="/user/ann/proxy/{pg.port}/"' in report._repr_html_()
    summary = RouteSummary(info, full_url(pg, "/page", http=True, browser=True) or "")
    assert f"/user/ann/proxy/{pg.port}/page" in repr(summary)


def test_the_jupyter_servers_origins_are_found_for_the_edge(tmp_path: Path) -> None:
    from lihil_notebook.reach import jupyter_origins

    info = {"pid": os.getpid(), "url": "http://localhost:8888/lab-base/", "base_url": "/lab-base/"}
    (tmp_path / f"jpserver-{os.getpid()}.json").write_text(json.dumps(info))
    found = jupyter_origins({}, runtime_dirs=[tmp_path], parent_pid=os.getpid())
    assert found == ["http://localhost:8888", "http://127.0.0.1:8888", "http://[::1]:8888"]
    public = jupyter_origins({"JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/"}, runtime_dirs=[tmp_path],
                             parent_pid=os.getpid() + 1)  # another process's server: not ours
    assert public == ["https://hub.example.org"]
    pg = Playground()
    pg.access.set_page_origins(found)
    assert pg.access.page_origins == sorted(found)
