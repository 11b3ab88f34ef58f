"""``BrowserUrl``: a URL for the user's browser (``pg.browser_url``), with a copy button and an "open page" link.

Through the Jupyter server's proxy the kernel knows the path (``/user/ann/proxy/8765/page``) but not the host the
browser uses; the front end (``browser_url.js``) completes it from the page's ``location`` (``https://hub...``),
and turns ``http``/``https`` into ``ws``/``wss`` for WebSocket routes. CSS classes: ``lihil-browser-url`` (the
widget; its ``data-url`` attribute is the completed URL), ``lihil-browser-url-text``, ``lihil-copy``,
``lihil-open-page``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import anywidget
import traitlets

if TYPE_CHECKING:
    from ..playground import Playground


class BrowserUrl(anywidget.AnyWidget):
    """``href``: the URL, possibly path-absolute; ``websocket``: show it as ws(s)://; ``open_link``: add a link."""

    _esm = Path(__file__).with_name("browser_url.js")
    href = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("browser").tag(sync=True)
    websocket = traitlets.Bool(False).tag(sync=True)
    open_link = traitlets.Bool(False).tag(sync=True)

    def follow(self, pg: Playground, path: str) -> None:
        """Show where the browser reaches ``path`` now (nothing while the server is stopped); a ``ws://`` or
        ``wss://`` URL (another server) as it is."""
        try:
            if pg.in_process and not path.startswith(("ws://", "wss://")):
                href = ""  # no address a browser could open: the card says "in this kernel (no network)"
            elif path.startswith(("ws://", "wss://")):
                href = path
            else:
                href = pg.browser_ws_url(path) if self.websocket else pg.browser_url(path)
        except RuntimeError:  # ServerNotRunningError: no port while stopped
            href = ""
        if self.href != href:
            self.href = href
