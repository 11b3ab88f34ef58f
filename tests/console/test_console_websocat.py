"""The search results' websocat line works as copied: with the token on (the default) it sends it from the shell's
``LIHIL_TOKEN``, since the line itself is shown in an output and outputs are saved with the notebook."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING

from websockets.sync.client import connect

from lihil_notebook.client.log import LogEntry
from lihil_notebook.ui.console.search import websocat_line
from tests.console import console_routes
from tests.notebook.playground_support import WAIT

if TYPE_CHECKING:
    from lihil_notebook.playground import Playground


def dial_as_websocat(line: str, environment: dict[str, str]) -> str:
    """Do what websocat would with ``line`` (after the shell expands it in ``environment``): its -H headers and URL,
    one message sent, one received."""
    shell_words = shlex.split(line.split("|", 1)[1])
    saved = dict(os.environ)
    os.environ.update(environment)
    try:
        words = [os.path.expandvars(word) for word in shell_words]  # what "$LIHIL_TOKEN" becomes in the shell
    finally:
        os.environ.clear()
        os.environ.update(saved)
    headers = [word.removeprefix("-H=").split(": ", 1) for word in words if word.startswith("-H=")]
    with connect(words[-1], additional_headers=headers, proxy=None, open_timeout=WAIT) as client:
        client.send("hello")
        return str(client.recv(timeout=WAIT))


def test_the_websocat_line_carries_the_token_from_the_shell_and_never_shows_it(pg: Playground) -> None:
    pg.mount_ws("/echo", console_routes.echo)
    assert pg.token is not None  # on by default
    entry = LogEntry(time=0.0, direction="sent", kind="text", data="hello", size=5)
    line = websocat_line(entry, pg.ws_url("/echo", token=False), {}, [], token=True)
    assert pg.token not in line
    assert dial_as_websocat(line, {"LIHIL_TOKEN": pg.token}) == "hello"


def test_without_the_token_the_line_is_refused(pg: Playground) -> None:
    pg.mount_ws("/echo", console_routes.echo)
    entry = LogEntry(time=0.0, direction="sent", kind="text", data="hello", size=5)
    line = websocat_line(entry, pg.ws_url("/echo", token=False), {}, [], token=False)
    try:
        dial_as_websocat(line, {})
    except Exception as refused:  # websockets' InvalidStatus: HTTP 403
        assert "403" in str(refused)
    else:
        raise AssertionError("a line without the token got in while the token is on")
