"""The edge, over raw sockets with exact headers: who gets in, who is refused (403 naming what and how to allow it),
and that a refused request never reaches its handler."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from lihil import HTML, Request, WebSocket
from lihil_notebook import ExposedServerWarning, Playground, SessionConnectError
from lihil_notebook.server.access import Access
from lihil_notebook.server.thread import ServerSettings
from tests.notebook.edge_support import Answer, raw_request, ws_handshake

EVIL = "http://evil.example"


class Calls:
    """What the handlers saw: a refused request must add nothing here."""

    def __init__(self) -> None:
        self.seen: list[str] = []


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def served(pg: Playground, calls: Calls) -> Iterator[Playground]:
    async def echo(ws: WebSocket) -> None:
        calls.seen.append(f"ws {ws.url.query}")
        await ws.accept()
        await ws.send_text(f"query={ws.url.query}")
        await ws.close()

    async def submit(request: Request) -> str:
        calls.seen.append(f"{request.method} {request.url.query}")
        return "done"

    def page() -> HTML:
        calls.seen.append("page")
        return "<p>hello</p>"

    pg.mount_ws("/echo", echo)
    pg.mount_http("/submit", submit, "POST")
    pg.mount_http("/page", page)
    yield pg


def port(pg: Playground) -> int:
    assert pg.port is not None
    return pg.port


def auth(pg: Playground, headers: dict[str, str] | None = None) -> dict[str, str]:
    """``headers`` with the token, as a client given ``pg.token`` sends it (the token is on by default)."""
    return {"Authorization": f"Bearer {pg.token}", **(headers or {})} if pg.token else dict(headers or {})


def assert_refused(answer: Answer, refused: str, value: str, allow: str) -> None:
    assert answer.status == 403, answer
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["refused"] == refused and problem["value"] == value, problem
    assert allow in problem["allow"], problem


# --- refused: what a hostile page can make a browser send ---------------------------------------------------


def test_a_cross_site_websocket_handshake_is_refused_before_the_handler(served: Playground, calls: Calls) -> None:
    answer = ws_handshake(port(served), "/echo", auth(served, {"Origin": EVIL}))
    assert_refused(answer, "origin", EVIL, f"%lihil allow-origin {EVIL}")
    assert f"allowed_origins=['{EVIL}']" in answer.json()["allow"]
    assert calls.seen == []


def test_a_cross_site_form_post_is_refused_before_the_handler(served: Playground, calls: Calls) -> None:
    answer = raw_request(port(served), "POST", "/submit", auth(served, {"Origin": EVIL, "Content-Type": "text/plain"}),
                         b"x=1")
    assert_refused(answer, "origin", EVIL, "allow-origin")
    assert calls.seen == []


def test_a_post_marked_cross_site_without_origin_is_refused(served: Playground, calls: Calls) -> None:
    answer = raw_request(port(served), "POST", "/submit", auth(served, {"Sec-Fetch-Site": "cross-site"}), b"x=1")
    assert_refused(answer, "origin", "cross-site", "non-browser")
    assert calls.seen == []
    # A cross-site GET (a link, an <img>) changes nothing and cannot read the answer: it goes through.
    assert raw_request(port(served), "GET", "/page", auth(served, {"Sec-Fetch-Site": "cross-site"})).status == 200


def test_a_rebound_host_is_refused_even_for_reading(served: Playground, calls: Calls) -> None:
    served.set_token("off")
    host = f"evil.example:{port(served)}"  # DNS rebinding: the page's own origin, pointed at 127.0.0.1
    answer = raw_request(port(served), "GET", "/page", {"Origin": f"http://{host}"}, host=host)
    assert_refused(answer, "host", host, "%lihil allow-host evil.example")
    assert "%lihil token on" in answer.json()["allow"] and "token, which is off" in answer.json()["detail"]
    assert_refused(ws_handshake(port(served), "/echo", {"Origin": f"http://{host}"}, host=host), "host", host,
                   "allowed_hosts=['evil.example']")
    assert calls.seen == []


@pytest.mark.parametrize("forwarded_port", [9000, 80, None])
def test_a_rebound_host_through_a_port_forward_is_refused(served: Playground, calls: Calls,
                                                        forwarded_port: int | None) -> None:
    # Finding 1: `ssh -L 9000:127.0.0.1:PORT`, VS Code's or kubectl's forwarding: the browser names the forward's
    # port, not ours. The port proves nothing; the name is what counts.
    host = "evil.example" + (f":{forwarded_port}" if forwarded_port else "")
    page = {"Origin": f"http://{host}"}
    assert_refused(raw_request(port(served), "GET", "/page", page, host=host), "token", "missing token", "Bearer")
    assert_refused(ws_handshake(port(served), "/echo", page, host=host), "token", "missing token", "Bearer")
    assert_refused(raw_request(port(served), "POST", "/submit", page, b"x", host=host), "token", "missing token",
                   "Bearer")
    served.set_token("off")
    assert_refused(raw_request(port(served), "GET", "/page", page, host=host), "host", host, "allow-host")
    assert_refused(ws_handshake(port(served), "/echo", page, host=host), "host", host, "allow-host")
    assert calls.seen == []


@pytest.mark.parametrize("host", ["evil.example:abc", "127.0.0.1:1@evil.com", "127.0.0.1:99999999",
                                  "localhost:80 evil.example", "evil.example:"])
def test_a_host_that_is_not_host_and_port_is_refused(served: Playground, calls: Calls, host: str) -> None:
    assert_refused(raw_request(port(served), "GET", "/page", auth(served), host=host), "host", host, "Host like")
    served.set_token("off")
    assert raw_request(port(served), "GET", "/page", {}, host=host).status == 403
    assert calls.seen == []


def test_a_page_on_another_local_port_is_refused(served: Playground, calls: Calls) -> None:
    # Finding 2: any local dev server's page (another port, the same 127.0.0.1) is another site — with the token
    # off, and with it on even when the browser sends the cookie (cookies and SameSite ignore ports).
    other = "http://127.0.0.1:5173"
    cookie = {"Cookie": f"lihil_token_{port(served)}={served.token}"}
    assert_refused(ws_handshake(port(served), "/echo", {"Origin": other, **cookie}), "origin", other, "allow-origin")
    assert_refused(raw_request(port(served), "POST", "/submit", {"Origin": other, **cookie}, b"x"), "origin", other,
                   "allow-origin")
    served.set_token("off")
    for origin in (other, "http://localhost:8888", "http://[::1]:3000"):
        assert ws_handshake(port(served), "/echo", {"Origin": origin}).status == 403
    assert calls.seen == []


@pytest.mark.parametrize("origin", ["http://evil.com\\@localhost", "http://localhost@evil.com",
                                    "http://localhost:8888/path", "http://localhost:8888?x", "ftp://localhost",
                                    "http://localhost:port", " http://localhost:8888 x", "http://localhost#x"])
def test_an_origin_is_read_as_a_browser_sends_it_or_refused(served: Playground, origin: str) -> None:
    served.access.set_page_origins(["http://localhost:8888"])
    assert ws_handshake(port(served), "/echo", auth(served, {"Origin": origin})).status == 403
    with pytest.raises(Exception, match="expected an origin"):
        served.allow_origin(origin)


def test_an_origin_of_null_is_refused(served: Playground, calls: Calls) -> None:
    assert ws_handshake(port(served), "/echo", auth(served, {"Origin": "null"})).status == 403  # a sandboxed iframe, file://
    assert calls.seen == []


# --- let in: the notebook's user ---------------------------------------------------------------------------------


def test_clients_without_origin_get_in(served: Playground, calls: Calls) -> None:
    assert ws_handshake(port(served), "/echo", auth(served)).status == 101  # websocat, Python, curl
    assert raw_request(port(served), "POST", "/submit", auth(served), b"x").status == 200


@pytest.mark.parametrize("origin", ["http://localhost:8888", "http://127.0.0.1:8888", "http://[::1]:8888"])
def test_the_jupyter_pages_origin_gets_in(served: Playground, origin: str) -> None:
    # The Jupyter server this kernel belongs to (reach.jupyter_origins: its URL and loopback spellings of it).
    served.access.set_page_origins(["http://localhost:8888", "http://127.0.0.1:8888", "http://[::1]:8888"])
    assert ws_handshake(port(served), "/echo", auth(served, {"Origin": origin})).status == 101
    assert raw_request(port(served), "POST", "/submit", auth(served, {"Origin": origin}), b"x").status == 200
    assert ws_handshake(port(served), "/echo", auth(served, {"Origin": "http://localhost:8889"})).status == 403


def test_a_page_the_playground_serves_talks_to_its_websocket_routes(served: Playground) -> None:
    own = f"http://127.0.0.1:{port(served)}"
    assert ws_handshake(port(served), "/echo", auth(served, {"Origin": own, "Sec-Fetch-Site": "same-origin"})
                        ).status == 101
    assert raw_request(port(served), "GET", "/page", auth(served), host=f"localhost:{port(served)}").status == 200
    # ...also through a port forward: the page and its WebSocket both name the forward's port.
    forwarded = {"Origin": "http://localhost:9000"}
    assert ws_handshake(port(served), "/echo", auth(served, forwarded), host="localhost:9000").status == 101


def test_allowed_origins_and_hosts_get_in(served: Playground, calls: Calls) -> None:
    served.allow_origin("HTTPS://Hub.Example.org/")
    assert ws_handshake(port(served), "/echo", auth(served, {"Origin": "https://hub.example.org"})).status == 101
    served.allow_host("notebook.lan")
    served.set_token("off")
    assert raw_request(port(served), "GET", "/page", {}, host=f"notebook.lan:{port(served)}").status == 200
    assert len(calls.seen) == 2


def test_requests_forwarded_by_the_jupyter_proxy_get_in_with_the_token(served: Playground, calls: Calls) -> None:
    # jupyter-server-proxy copies the browser's headers: Host and Origin are the hub's public ones (authenticated
    # by Jupyter). Not a local name, so the token must come too (the cookie set when the page was opened).
    hub = {"Origin": "https://hub.example.org"}
    cookie = {"Cookie": f"lihil_token_{port(served)}={served.token}"}
    assert ws_handshake(port(served), "/echo", {**hub, **cookie}, host="hub.example.org").status == 101
    forwarded = {**hub, **cookie, "X-Forwarded-Prefix": f"/user/ann/proxy/{port(served)}"}
    assert raw_request(port(served), "POST", "/submit", forwarded, b"x", host="hub.example.org").status == 200
    # ...but another site's page through that proxy is still another site, and without the token it is refused:
    assert ws_handshake(port(served), "/echo", {"Origin": EVIL, **cookie}, host="hub.example.org").status == 403
    assert ws_handshake(port(served), "/echo", hub, host="hub.example.org").status == 403
    assert len(calls.seen) == 2


def test_the_notebooks_own_sessions_get_in(served: Playground) -> None:
    session = served.connect("/echo")
    assert session.receive() == "query="


def test_settings_are_checked_and_named() -> None:
    pg = Playground()
    with pytest.raises(Exception, match=r"allowed origin 'evil\.example'.*expected an origin like"):
        pg.allow_origin("evil.example")
    with pytest.raises(Exception, match=r"allowed host 'http://x'.*without scheme or port"):
        pg.allow_host("http://x")
    with pytest.raises(Exception, match="allowed_origins: expected a list"):
        Playground(allowed_origins="https://a.example")  # type: ignore[arg-type]


# --- the token ---------------------------------------------------------------------------------------------------


@pytest.fixture
def token(served: Playground) -> str:
    value = served.token
    assert value is not None, "the token is on by default"
    return value


def test_the_token_is_on_by_default_and_turning_it_off_warns() -> None:
    from lihil_notebook.server.access import TokenOffWarning

    assert Playground().token is not None
    with pytest.warns(TokenOffWarning, match="any process or account on this machine"):
        assert Playground(token=False).token is None
    with pytest.warns(TokenOffWarning, match="other users of a shared machine"):
        Playground().set_token("off")


def test_with_a_token_a_request_without_it_is_refused(served: Playground, token: str, calls: Calls) -> None:
    assert_refused(ws_handshake(port(served), "/echo"), "token", "missing token", "%lihil token off")
    assert_refused(raw_request(port(served), "GET", "/page", {}), "token", "missing token", "Bearer")
    assert ws_handshake(port(served), "/echo", {"Authorization": "Bearer wrong-token-123"}).status == 403
    assert calls.seen == []


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer"])
def test_the_token_in_the_authorization_header(served: Playground, token: str, scheme: str) -> None:
    assert ws_handshake(port(served), "/echo", {"Authorization": f"{scheme} {token}"}).status == 101


def test_the_token_in_the_query_is_taken_out_before_the_handler(served: Playground, token: str,
                                                              calls: Calls) -> None:
    assert ws_handshake(port(served), f"/echo?a=1&lihil_token={token}").status == 101
    assert calls.seen == ["ws a=1"]


def test_a_page_opened_with_the_token_gets_a_cookie_that_works(served: Playground, token: str,
                                                             calls: Calls) -> None:
    answer = raw_request(port(served), "GET", f"/page?lihil_token={token}", {})  # curl: served, with the cookie
    assert answer.status == 200
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/;" in cookie
    name_value = cookie.split(";")[0]
    assert name_value == f"lihil_token_{port(served)}={token}"
    # The page's own WebSocket (same origin) carries the cookie, not the token:
    own = f"http://127.0.0.1:{port(served)}"
    assert ws_handshake(port(served), "/echo", {"Cookie": name_value, "Origin": own}).status == 101
    assert calls.seen == ["page", "ws "]


def test_a_browser_opening_the_token_url_is_redirected_without_it(served: Playground, token: str,
                                                                calls: Calls) -> None:
    # No token in the history or in the Referer the page sends: 303 to the same URL without it, cookie set.
    answer = raw_request(port(served), "GET", f"/page?x=1&lihil_token={token}", {"Sec-Fetch-Mode": "navigate"})
    assert answer.status == 303 and answer.headers["location"] == "./page?x=1", answer
    assert token in answer.headers["set-cookie"] and token not in answer.headers["location"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert calls.seen == []


@pytest.mark.parametrize("form", ["proxy", "proxy/absolute"])
def test_the_cookie_path_is_the_proxy_prefix_in_both_forms(served: Playground, token: str, form: str) -> None:
    prefix = f"/user/ann/{form}/{port(served)}"
    if form == "proxy":  # the prefix stripped, named in X-Forwarded-Prefix
        answer = raw_request(port(served), "GET", f"/page?lihil_token={token}", {"X-Forwarded-Prefix": prefix})
    else:  # the prefix kept
        answer = raw_request(port(served), "GET", f"{prefix}/page?lihil_token={token}", {})
    assert answer.status == 200, answer
    assert f"Path={prefix};" in answer.headers["set-cookie"]


def test_urls_the_notebook_shows_carry_the_token(served: Playground, token: str) -> None:
    from websockets.sync.client import connect

    url = served.ws_url("/echo")
    assert url.endswith(f"?lihil_token={token}")
    with connect(url, proxy=None) as client:  # as websocat would use the copied URL
        assert client.recv(timeout=5) == "query="
    assert served.http_url("/page?x=1").endswith(f"/page?x=1&lihil_token={token}")


def test_the_notebooks_sessions_carry_the_token(served: Playground, token: str) -> None:
    session = served.connect("/echo")
    assert session.receive() == "query="
    assert token not in session.url and all(token not in str(e.data) for e in session.log)
    # With the user's own Authorization header, the token travels in the query, which the handler never sees.
    other = served.connect("/echo", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert other.receive() == "query="


def test_the_token_never_appears_in_logs(served: Playground, token: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ws_handshake(port(served), f"/echo?lihil_token={token}x")  # a wrong one: refused and logged
    raw_request(port(served), "GET", "/page", {"Authorization": f"Bearer {token}y"})
    assert served.access.log.count == 2
    texts = [r.getMessage() for r in caplog.records] + list(served.server_log) + [str(r) for r in served.refusals]
    assert texts and all(token not in text for text in texts)


def test_token_off_and_new(served: Playground, token: str) -> None:
    assert served.set_token("new") not in (None, token)
    assert ws_handshake(port(served), "/echo", {"Authorization": f"Bearer {token}"}).status == 403
    with pytest.warns(UserWarning):
        assert served.set_token("off") is None and served.token is None
    assert ws_handshake(port(served), "/echo").status == 101


def test_binding_beyond_loopback_warns_every_time_and_turns_the_token_on() -> None:
    with pytest.warns(ExposedServerWarning):
        exposed = Playground(host="0.0.0.0")  # not started: nothing is bound in this test
    assert exposed.token is not None
    with pytest.warns(ExposedServerWarning):
        exposed.set_host("0.0.0.0")
    with pytest.warns(ExposedServerWarning):
        refused = Playground(host="0.0.0.0", token=False)
    assert refused.token is None


def test_under_jupyterhub_the_token_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ann/")
    assert Playground().token is not None
    with pytest.warns(UserWarning):
        assert Playground(token=False).token is None
    assert Access(token=None, settings=ServerSettings(), environ={}).token is not None


# --- refusals are counted and shown ------------------------------------------------------------------------------


def test_refusals_are_counted_and_the_last_ones_kept(served: Playground) -> None:
    for _ in range(3):
        ws_handshake(port(served), "/echo", auth(served, {"Origin": EVIL}))
    served.set_token("off")
    raw_request(port(served), "GET", "/page", {}, host=f"evil.example:{port(served)}")
    assert served.access.log.count == 4
    last = served.refusals[-1]
    assert last.kind == "host" and last.path == "/page" and "allow-host" in last.allow
    assert [r.kind for r in served.refusals] == ["origin", "origin", "origin", "host"]


def test_a_session_refused_by_the_edge_says_why(served: Playground) -> None:
    with pytest.raises(SessionConnectError) as refused:
        served.connect("/echo", headers={"Origin": EVIL})
    assert refused.value.status == 403
    assert "Origin 'http://evil.example'" in str(refused.value)


