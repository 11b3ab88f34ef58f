"""The ui room: ipywidgets views. Callbacks run on the kernel's main thread and return at once.

* :mod:`.console` — ``console()``: the multi-session WebSocket console; ``UiPump``, its throttled refresh;
* :mod:`.session_panel` — one session in the console: header (own target, status), compose box, log;
* :mod:`.conversation` — a panel's conversation across reconnects: clear, filter, frame view, its log view;
* :mod:`.log_view` — how log entries look (and the frame view), the filter, the bounded incremental log view;
* :mod:`.status` — what a session's status line says;
* :mod:`.timers` — repeated sends and auto-reconnect with back-off, timed on the server loop;
* :mod:`.saved` — saved messages with ``{{variables}}``, kept in a file next to the notebook;
* :mod:`.search` — search across a console's sessions, export all, copy as Python / websocat;
* :mod:`.export` — JSON Lines exports and their download links;
* :mod:`.sparkline` — a session's messages/s and bytes/s over the last minute;
* :mod:`.target` — where a session connects (form -> path or URL, headers, subprotocols), recent targets, URLs;
* :mod:`.diagram` — ``diagram(*sessions)``: a sequence diagram of a conversation, as SVG;
  :mod:`.diagram_view` — the console's live "Diagram" view of it;
* :mod:`.front` — the console's front-end code (an anywidget ES module in ``static/``): log pinning and
  "↓ N new", keys, noticing a kernel restart;
* :mod:`.hub_panel` — a panel's hub mode: join/exit topics, send events, envelopes and replies in the log;
  :mod:`.hub_envelope` — reading hub envelopes as ``topic · event · payload`` (the log and the diagram);
* :mod:`.compose` — the compose box's modes (text, JSON, hex, base64);
* :mod:`.route_card` — the card under a route cell (live state, URL, parameters, "Open console");
* :mod:`.cards` — `route_card()`: a card that opens a console for its route (neither module imports the other);
* :mod:`.style` — the stylesheet and the builders of styled widgets;
* :mod:`.browser_url` — a URL for the user's browser (completed from the page's location), copy, "open page";
* :mod:`.page_frame` — ``pg.show(path)``: a ``%%route`` page in an iframe, its WebSockets through the widget comm;
* :mod:`.poll` — update modes: "push" from the server thread, or "poll" from the page (Colab).

Front-end code (``*.js`` next to the modules) is anywidget ES modules: no build step.

May import: :mod:`lihil_notebook.playground`, the client room, :mod:`lihil_notebook.errors`.
"""

from .cards import route_card
from .console import Console, console
from .diagram import Diagram, diagram

__all__ = ["Console", "Diagram", "console", "diagram", "route_card"]
