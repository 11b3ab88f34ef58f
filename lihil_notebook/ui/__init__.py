"""The ui room: ipywidgets views. Callbacks run on the kernel's main thread and return at once.

* :mod:`.console` — the console (a package): ``console()``, its sessions' panels and their parts (see there);
* :mod:`.diagram` — ``diagram(*sessions)``: a sequence diagram of a conversation, as SVG;
* :mod:`.hub_envelope` — reading hub envelopes as ``topic · event · payload`` (the log and the diagram);
* :mod:`.target` — where a session connects (path or URL, headers, subprotocols), recent targets, URLs;
* :mod:`.route_card` — the card under a route cell (live state, URL, parameters, "Open console");
* :mod:`.cards` — `route_card()`: a card that opens a console for its route (neither module imports the other);
* :mod:`.style` — the stylesheet and the builders of styled widgets;
* :mod:`.browser_url` — a URL for the user's browser (completed from the page's location), copy, "open page";
* :mod:`.page_frame` — ``pg.show(path)``: a ``%%route`` page in an iframe, its WebSockets through the widget comm;
* :mod:`.poll` — update modes: "push" from the server thread, or "poll" from the page (Colab).

Front-end code (``static/*.js``) is anywidget ES modules: no build step.

May import: :mod:`lihil_notebook.playground`, the client room, :mod:`lihil_notebook.errors`.
"""

from .cards import route_card
from .console import Console, console
from .diagram import Diagram, diagram

__all__ = ["Console", "Diagram", "console", "diagram", "route_card"]
