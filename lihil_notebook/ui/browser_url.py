"""``BrowserUrl``: a URL for the user's browser (``pg.browser_url``), with a copy button and an "open page" link.

Through the Jupyter server's proxy the kernel knows the path (``/user/ann/proxy/8765/page``) but not the host the
browser uses; the front end (``browser_url.js``) completes it from the page's ``location`` (``https://hub...``),
and turns ``http``/``https`` into ``ws``/``wss`` for WebSocket routes. CSS classes: ``lihil-browser-url`` (the
widget; its ``data-url`` attribute is the completed URL), ``lihil-browser-url-text``, ``lihil-copy``,
``lihil-open-page``.

The token is never in what the widget shows or syncs (widget state and outputs are saved with the notebook): the
copy button and the "open page" link ask the kernel for the URL with the token (``pg.browser_url``) in a message,
and put it on the clipboard or open it in a new tab. A page opened that way gets the token's cookie and is
redirected to the URL without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

if TYPE_CHECKING:
    from ..playground import Playground


SERVER_STOPPED = "(server stopped)"


class BrowserUrl(anywidget.AnyWidget):
    """``href``: the URL, possibly path-absolute; ``websocket``: show it as ws(s)://; ``open_link``: add a link."""

    _esm = Path(__file__).parent / "static" / "browser_url.js"
    href = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("browser").tag(sync=True)
    websocket = traitlets.Bool(False).tag(sync=True)
    open_link = traitlets.Bool(False).tag(sync=True)
    empty = traitlets.Unicode(SERVER_STOPPED).tag(sync=True)
    """What stands where the URL would, when there is none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pg: Playground | None = None
        self._path = ""
        self.on_msg(self._on_front_end)

    def follow(self, pg: Playground, path: str) -> None:
        """Show where the browser reaches ``path`` now (nothing while the server is stopped); a ``ws://`` or
        ``wss://`` URL (another server) as it is."""
        self._pg, self._path = pg, path
        empty = f"{pg.url}: no URL to open" if pg.in_process else SERVER_STOPPED  # pg.url: "in this kernel (no…"
        if self.empty != empty:
            self.empty = empty
        try:
            if pg.in_process and not path.startswith(("ws://", "wss://")):
                href = ""  # no address a browser could open: the card says "in this kernel (no network)"
            elif path.startswith(("ws://", "wss://")):
                href = path
            else:
                href = (pg.browser_ws_url(path, token=False) if self.websocket
                        else pg.browser_url(path, token=False))
        except RuntimeError:  # ServerNotRunningError: no port while stopped
            href = ""
        if self.href != href:
            self.href = href

    def full_url(self) -> str:
        """The URL shown, with the token when one is on: what "copy" and "open page" use ("" while stopped)."""
        pg, path = self._pg, self._path
        if pg is None or not path:
            return ""
        if path.startswith(("ws://", "wss://")):
            return path
        try:
            return pg.browser_ws_url(path) if self.websocket else pg.browser_url(path)
        except RuntimeError:
            return ""

    def _on_front_end(self, _: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("op") == "full-url":
            # A message, not a synced trait: it is not saved with the notebook's widget state.
            self.send({"op": "full-url", "id": content.get("id"), "url": self.full_url()})
