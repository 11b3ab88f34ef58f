"""The console's widgets: ``console()`` (:mod:`.view`), one session's panel (:mod:`.session_panel`) and its parts.

* :mod:`.view` — ``console()``: the console bar (route, parameters, + session, search, diagram) and its sessions;
  ``UiPump``, its throttled refresh;
* :mod:`.session_panel` — one session: its header row (name, status, target, Connect, menu), log, composer;
* :mod:`.session_menu` — the session's "⋯" menu: ping, close code and reason, auto-reconnect, repeat, frames, export;
* :mod:`.conversation` — a panel's conversation across reconnects: clear, filter, frame view, its log view;
* :mod:`.log_view` — how log entries look (and the frame view), the filter, the bounded incremental log view;
* :mod:`.status` — what a session's status says;
* :mod:`.timers` — repeated sends and auto-reconnect with back-off, timed on the server loop;
* :mod:`.saved` — saved messages (chips above the composer) with ``{{variables}}``, kept per notebook;
* :mod:`.search` — search across a console's sessions, export all, copy as Python / websocat;
* :mod:`.export` — JSON Lines exports and their download links;
* :mod:`.sparkline` — a session's messages/s and bytes/s over the last minute;
* :mod:`.compose` — the composer's modes (text, JSON, hex, base64);
* :mod:`.hub_panel` — a panel's hub row: join/exit topics, send events, envelopes and replies in the log;
* :mod:`.diagram_view` — the console's live "Diagram" view;
* :mod:`.front` — the console's front-end code (``ui/static/console.js``): log pinning, keys, kernel loss.
"""

from .pump import UiPump
from .session_panel import SessionPanel
from .view import Console, console

__all__ = ["Console", "SessionPanel", "UiPump", "console"]
