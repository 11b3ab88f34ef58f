"""``pg.show``'s kernel side without a browser: the page fetched from the real server, the page's comm messages
turned into real connections (with the token), and in poll mode nothing reaching the page except in answer to its
polls. (The browser side is tests/e2e/test_reach_browser.py.)"""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from lihil import HTML, Param, WebSocket
from lihil_notebook.playground import Playground
from lihil_notebook.ui.page_frame import PageFrame, show_page
from tests.console.comm_traffic import Waiter, from_front_end


@pytest.fixture
def frame_pg(pg: Playground) -> Playground:
    def page(authorization: Annotated[str, Param("header")] = "") -> HTML:
        return f"<p>page for {authorization or 'nobody'}</p>"

    async def relay(ws: WebSocket, room: str, authorization: Annotated[str, Param("header")] = "") -> None:
        await ws.accept()
        await ws.send_text(f"{room} {authorization}")
        async for data in ws.iter_bytes():
            await ws.send_bytes(data[::-1])

    pg.mount_http("/page", page)
    pg.mount_ws("/relay", relay)
    pg.set_token("s3cret-token")
    return pg


def record_sent(frame: PageFrame) -> list[tuple[dict[str, Any], list[bytes]]]:
    """What the widget sends to the page (content, buffers), observed on its way to the comm."""
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    original = frame.send

    def send(content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        sent.append((content, [bytes(b) for b in buffers or []]))
        original(content, buffers)

    frame.send = send  # type: ignore[method-assign]
    return sent


def test_poll_mode_page_frame_relays_with_the_token_only_when_polled(frame_pg: Playground,
                                                                      wait_until: Waiter) -> None:
    frame = show_page(frame_pg, "/page", updates="poll")
    assert frame.html == "<p>page for Bearer s3cret-token</p>"
    assert (frame.page_path, frame.port, frame.updates) == ("/page", frame_pg.port or 0, "poll")
    sent = record_sent(frame)

    from_front_end(frame, {"op": "open", "id": "view1:7", "path": "/relay?room=lobby", "protocols": []})
    assert frame.active  # the page starts polling
    wait_until(lambda: frame.pending, what="the route's greeting to wait for a poll")
    assert sent == []  # nothing is pushed from the server thread in poll mode

    from_front_end(frame, {"op": "poll"})
    assert [m for m, _ in sent] == [{"op": "open", "id": "view1:7", "protocol": ""},
                                    {"op": "message", "id": "view1:7", "text": "lobby Bearer s3cret-token"}]

    from_front_end(frame, {"op": "send", "id": "view1:7", "binary": True}, [memoryview(b"\x01\x02\x03")])
    wait_until(lambda: frame.pending, what="the binary echo")
    from_front_end(frame, {"op": "poll"})
    assert sent[-1] == ({"op": "message", "id": "view1:7", "binary": True}, [b"\x03\x02\x01"])

    from_front_end(frame, {"op": "close", "id": "view1:7", "code": 4001, "reason": "page left"})
    wait_until(lambda: frame.pending, what="the close")
    from_front_end(frame, {"op": "poll"})
    assert sent[-1][0] == {"op": "close", "id": "view1:7", "code": 4001, "reason": "page left"}
    assert not frame.active and frame.tunnels == {}  # nothing open: the page stops polling
    frame.close()


def test_show_names_a_bad_path_height_or_mode(frame_pg: Playground) -> None:
    with pytest.raises(ValueError, match=r"show\(path\): expected a path starting with '/', got 'page'"):
        show_page(frame_pg, "page")
    with pytest.raises(ValueError, match=r"show\(height\): expected a positive number of pixels, got 0"):
        show_page(frame_pg, "/page", height=0)
    with pytest.raises(ValueError, match=r"updates: expected one of 'auto', 'push', 'poll', got 'pull'"):
        show_page(frame_pg, "/page", updates="pull")
    with pytest.raises(ValueError, match=r"show\('/nothing'\): the playground answered 404"):
        show_page(frame_pg, "/nothing")
