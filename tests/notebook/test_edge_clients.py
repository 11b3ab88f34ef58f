"""The kernel's own clients and other accounts (issue 20, findings 4, 5 and 8).

* Finding 4: with ``http_proxy``/``https_proxy``/``all_proxy`` set, none of our clients that dial the playground
  or the Jupyter server (``pg.show``'s page fetch, the comm tunnel, the notebook's sessions, the probe for
  jupyter-server-proxy) goes through the proxy: a tiny proxy of our own on 127.0.0.1 records what it receives.
* Finding 5: another local account (``runuser -u nobody``) gets nothing without the token, which is on by default.
* Finding 8: at DEBUG level the client side logs no token; a tunnel request with CR/LF or '#' in its path or
  subprotocol is answered (closed, with a reason) instead of leaving the page's socket CONNECTING.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lihil import HTML, WebSocket
from lihil_notebook import Playground
from lihil_notebook.client.tunnel import TunnelSocket
from lihil_notebook.reach import _server_has_proxy
from tests.notebook.playground_support import WAIT, wait_for


class Recorder(BaseHTTPRequestHandler):
    """Answers everything 200 (a Jupyter server's API, a proxy) and records the request line and headers."""

    seen: ClassVar[list[str]] = []

    def _record(self) -> None:
        type(self).seen.append(f"{self.requestline}\n{self.headers}")
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_CONNECT = _record

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxied(recorder: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every proxy variable pointing at the recording server; what it received."""
    url, seen = recorder
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return seen


@pytest.fixture
def echo(pg: Playground) -> Playground:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")
        await ws.close()

    def page() -> HTML:
        return "<p>page</p>"

    pg.mount_ws("/echo", handler)
    pg.mount_http("/page", page)
    return pg


def test_no_client_of_ours_sends_the_token_to_a_proxy(echo: Playground, proxied: list[str]) -> None:
    from lihil_notebook.ui.page_frame import fetch_page

    assert "<p>page</p>" in fetch_page(echo, "/page")  # pg.show's fetch
    events: list[tuple[str, Any]] = []
    tunnel = TunnelSocket(echo.ws_url("/echo", token=False), echo.call_soon,
                          lambda kind, data: events.append((kind, data)),
                          headers={"Authorization": f"Bearer {echo.token}"})
    tunnel.start()
    wait_for(lambda: events and events[-1][0] == "close", "the tunnel to close")
    assert events[:2] == [("open", ""), ("message", "hello")]
    assert echo.connect("/echo").receive(timeout=WAIT) == "hello"
    assert proxied == []


def test_the_probe_for_jupyter_server_proxy_sends_jupyters_token_to_no_proxy(
        recorder: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    # The "Jupyter server" is a recording server; the proxy another one: the token must reach the first only.
    jupyter_url, jupyter_seen = recorder
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), type("ProxyRecorder", (Recorder,), {"seen": []}))
    proxy_seen: list[str] = proxy.RequestHandlerClass.seen  # type: ignore[attr-defined]
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        assert _server_has_proxy({"url": jupyter_url + "/", "token": "jupyters-own-token"})
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy_seen == []
    assert any("jupyters-own-token" in request for request in jupyter_seen)


# --- another account on the same machine ---------------------------------------------------------------------


def _as_nobody() -> str | None:
    """Why this test cannot run a command as another account here (None when it can)."""
    if os.geteuid() != 0:
        return "creating a second local account needs root (runuser -u nobody)"
    if shutil.which("runuser") is None or not Path("/usr/bin/python3").exists():
        return "runuser or /usr/bin/python3 is missing"
    return None


FETCH = """
import sys, urllib.request, urllib.error
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    print(opener.open(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""


def test_another_account_on_this_machine_gets_nothing_without_the_token(echo: Playground) -> None:
    reason = _as_nobody()
    if reason:
        pytest.skip(reason)

    def fetch_as_nobody(url: str) -> str:
        done = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", FETCH, url],
                              capture_output=True, text=True, timeout=30, cwd="/")
        return done.stdout.strip() or done.stderr.strip()

    assert fetch_as_nobody(f"{echo.url}/page") == "403"  # the default: the token is on
    assert fetch_as_nobody(echo.http_url("/page")) == "200"  # the account really reaches the port


# --- DEBUG logs and bad tunnel requests --------------------------------------------------------------------------


def test_debug_logs_of_the_kernels_own_clients_hold_no_token(echo: Playground,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert echo.connect("/echo").receive(timeout=WAIT) == "hello"
    events: list[tuple[str, Any]] = []
    TunnelSocket(echo.ws_url("/echo", token=False), echo.call_soon, lambda kind, data: events.append((kind, data)),
                 headers={"Authorization": f"Bearer {echo.token}"}).start()
    wait_for(lambda: events and events[-1][0] == "close", "the tunnel to close")
    texts = [record.getMessage() for record in caplog.records]
    assert any("Authorization" in text for text in texts), "the handshake's headers are logged at DEBUG"
    assert echo.token and not [text for text in texts if echo.token in text]


@pytest.mark.parametrize(("path", "protocols", "bad"), [
    ("/echo\r\nX-Injected: 1", [], True), ("/echo#fragment", [], True), ("/echo", ["chat\r\nX-Injected: 1"], True),
    ("/echo", ["a b"], True), ("/echo", ["a#b"], False),  # '#' is a token character (RFC 9110): tried, answered
])
def test_a_bad_tunnel_request_is_answered_at_once(echo: Playground, path: str, protocols: list[str],
                                                  bad: bool) -> None:
    events: list[tuple[str, Any]] = []
    TunnelSocket(echo.ws_url(path, token=False), echo.call_soon, lambda kind, data: events.append((kind, data)),
                 headers={"Authorization": f"Bearer {echo.token}"}, subprotocols=protocols).start()
    wait_for(lambda: events and events[-1][0] == "close", "the tunnel to answer")  # never left hanging
    if not bad:
        return
    # The page's own request is checked before the kernel dials (the page sees why):
    from lihil_notebook.ui.page_frame import PageFrame

    frame = PageFrame(echo, "/", html="", height=100, updates="poll")
    frame._on_front_end(None, {"op": "open", "id": "v:1", "path": path, "protocols": protocols}, None)
    assert frame.pending == 1 and not frame.tunnels  # poll mode: the close waits for the page's next poll
    frame.close()
