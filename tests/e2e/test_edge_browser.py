"""The edge against real Chromium: a rebinding page through a port forward (finding 1 of issue 20) and a page on
another local port (finding 2), with the token off and on; and the user's own page, opened with the token,
redirected to its URL without it and talking to its WebSocket route.

No JupyterLab: a Playground in this process, a TCP relay on another 127.0.0.1 port standing for
``ssh -L 9000:127.0.0.1:PORT`` (or VS Code's, or kubectl's forwarding), and Chromium told that ``evil.example``
is 127.0.0.1 (``--host-resolver-rules``), as after a DNS rebinding. The attacker's page itself is served by the
test (Playwright's ``route``) at the attacker's origin, as the attacker's own server would have served it before
the name was rebound.
"""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from lihil import HTML, WebSocket
from lihil_notebook import Playground
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

EVIL = "evil.example"

#: What a hostile page tries: read a page, drive a WebSocket route, run a POST handler. Each result is a string.
ATTACK = """async (base) => {
  const results = {};
  try { const r = await fetch(base + "/secret"); results.read = r.status + " " + (await r.text()); }
  catch (error) { results.read = "failed " + error; }
  try { const r = await fetch(base + "/run", {method: "POST", body: "x"}); results.post = String(r.status); }
  catch (error) { results.post = "failed"; }
  results.ws = await new Promise((resolve) => {
    const ws = new WebSocket(base.replace("http", "ws") + "/echo");
    ws.onmessage = (event) => resolve("read " + event.data);
    ws.onerror = () => resolve("refused");
    setTimeout(() => resolve("timeout"), 5000);
  });
  return results;
}"""


class Relay:
    """A TCP forward from 127.0.0.1:<port> to 127.0.0.1:<target>, as ``ssh -L`` makes one."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()
        for s in self.sockets:
            s.close()


class Seen:
    def __init__(self) -> None:
        self.calls: list[str] = []


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def served(seen: Seen) -> Iterator[Playground]:
    pg = Playground()  # the defaults a user gets

    def secret() -> HTML:
        seen.calls.append("secret")
        return "<p>the kernel's secret</p>"

    async def run() -> str:
        seen.calls.append("run")
        return "ran"

    async def echo(ws: WebSocket) -> None:
        seen.calls.append("echo")
        await ws.accept()
        await ws.send_text("hello from the kernel")
        await ws.close()

    def page() -> HTML:
        return ('<p id="out">connecting</p><script>const u = new URL("echo", location.href); '
                'u.protocol = u.protocol.replace("http", "ws"); const ws = new WebSocket(u.href);'
                'ws.onmessage = (e) => { document.getElementById("out").textContent = e.data; };'
                'ws.onerror = () => { document.getElementById("out").textContent = "refused"; };</script>')

    pg.mount_http("/secret", secret)
    pg.mount_http("/run", run, "POST")
    pg.mount_ws("/echo", echo)
    pg.mount_http("/page", page)
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def browser(browser_stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("edge-profile")), executable_path=str(CHROMIUM), headless=True,
            # Local Network Access (Chromium's newest guard) off: Firefox and Safari have none, and the playground
            # must hold without it.
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {EVIL} 127.0.0.1",
                  "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
                  "PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults"],
        )
        try:
            yield context
        finally:
            context.close()


def token_off(pg: Playground) -> None:
    with warnings.catch_warnings():  # the warning itself: test_edge
        warnings.simplefilter("ignore")
        pg.set_token("off")


def attack_from_another_port(browser: Any, host: str, served: Playground) -> tuple[str, Any]:
    """Run ATTACK against ``served`` from a page at ``http://<host>:<a free port>``: that origin and the results."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        origin = f"http://{host}:{other.getsockname()[1]}"
    page = attacker_page(browser, origin)
    results = page.evaluate(ATTACK, f"http://127.0.0.1:{served.port}")
    page.close()
    return origin, results


def attacker_page(browser: Any, origin: str) -> Any:
    """A page at ``origin`` with the attacker's markup (served by the test, as the attacker's server did)."""
    page = browser.new_page()
    page.route(f"{origin}/", lambda route: route.fulfill(status=200, content_type="text/html",
                                                          body="<p>an innocent page</p>"))
    page.goto(f"{origin}/")
    return page


@pytest.mark.parametrize("token", ["on", "off"])
def test_a_rebound_page_through_a_port_forward_gets_nothing(browser: Any, served: Playground, seen: Seen,
                                                          token: str) -> None:
    if token == "off":
        token_off(served)
    assert served.port is not None
    relay = Relay(served.port)
    try:
        page = attacker_page(browser, f"http://{EVIL}:{relay.port}")
        results = page.evaluate(ATTACK, f"http://{EVIL}:{relay.port}")
        page.close()
    finally:
        relay.close()
    assert results["read"].startswith("403 ") and "the kernel's secret" not in results["read"], results
    assert results["post"] == "403" and results["ws"] == "refused", results
    assert seen.calls == []
    assert {r.kind for r in served.refusals} == ({"token"} if token == "on" else {"host"})


def test_a_page_on_another_local_port_gets_nothing_even_after_the_user_opened_the_token_url(
        browser: Any, served: Playground, seen: Seen) -> None:
    # The user opens their page with the token (a card's "open page"): the cookie is set, the URL loses the token.
    mine = browser.new_page()
    mine.goto(served.browser_url("/page"))
    assert mine.url == f"{served.url}/page"  # redirected: no token in the history or the Referer
    assert mine.locator("#out").text_content(timeout=10_000) is not None
    mine.wait_for_function("document.getElementById('out').textContent === 'hello from the kernel'",
                           timeout=10_000)
    assert seen.calls == ["echo"]
    # A page on another port of the same 127.0.0.1 (a dev server, another user's server): the browser sends it
    # the cookie too (cookies ignore ports), but its Origin is not ours.
    origin, results = attack_from_another_port(browser, "127.0.0.1", served)
    mine.close()
    # Cross-origin, the page cannot read what fetch got; the server says what happened.
    assert results["ws"] == "refused", results
    assert seen.calls == ["echo"]
    assert [r.value for r in served.refusals if r.kind == "origin"] == [origin, origin]  # the POST, the WebSocket


def test_with_the_token_off_a_page_on_another_local_port_still_gets_nothing(browser: Any, served: Playground,
                                                                            seen: Seen) -> None:
    token_off(served)
    origin, results = attack_from_another_port(browser, "localhost", served)
    assert results["ws"] == "refused", results
    assert seen.calls == ["secret"]  # a cross-origin GET runs (it cannot read the answer: CORS), as in Jupyter
    assert [r.value for r in served.refusals] == [origin, origin]  # the POST, the WebSocket
