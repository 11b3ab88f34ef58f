"""The ui room: ipywidgets views. Callbacks run on the kernel's main thread and return at once.

* :mod:`.console` — ``console()``: the multi-session WebSocket console; ``UiPump``, its throttled refresh;
* :mod:`.session_panel` — one session in the console: header, compose box, log;
* :mod:`.log_view` — how log entries look, the filter, the bounded incremental log view;
* :mod:`.target` — where a session connects (form -> path, headers, subprotocols) and the URLs shown;
* :mod:`.diagram` — ``diagram(*sessions)``: a sequence diagram of a conversation, as SVG;
* :mod:`.front` — the console's front-end code (an anywidget ES module in ``static/``);
* :mod:`.compose` — the compose box's modes (text, JSON, hex, base64);
* :mod:`.route_card` — the card under a route cell (live state, URL, parameters, "Open console");
* :mod:`.style` — the stylesheet and the builders of styled widgets.

May import: :mod:`lihil_notebook.playground`, the client room, :mod:`lihil_notebook.errors`.
"""

from .console import Console, console, route_card
from .diagram import Diagram, diagram

__all__ = ["Console", "Diagram", "console", "diagram", "route_card"]
