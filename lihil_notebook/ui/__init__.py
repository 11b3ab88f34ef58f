"""The ui room: ipywidgets views. Callbacks run on the kernel's main thread and return at once.

* :mod:`.console` — ``console()``: the multi-session WebSocket console; ``UiPump``, its throttled refresh;
* :mod:`.session_panel` — one session in the console: header, compose box, log;
* :mod:`.log_view` — how log entries look, the filter, the bounded incremental log view;
* :mod:`.target` — where a session connects (form -> path, headers, subprotocols) and the URLs shown;
* :mod:`.route_card` — the card under a route cell (live state, URL, parameters, "Open console");
* :mod:`.style` — the stylesheet and the builders of styled widgets;
* :mod:`.browser_url` — a URL for the user's browser (completed from the page's location), copy, "open page";
* :mod:`.page_frame` — ``pg.show(path)``: a ``%%route`` page in an iframe, its WebSockets through the widget comm;
* :mod:`.poll` — update modes: "push" from the server thread, or "poll" from the page (Colab).

Front-end code (``*.js`` next to the modules) is anywidget ES modules: no build step.

May import: :mod:`lihil_notebook.playground`, the client room, :mod:`lihil_notebook.errors`.
"""

from .console import Console, console, route_card

__all__ = ["Console", "console", "route_card"]
