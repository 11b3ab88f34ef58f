"""The console's front-end code: one small anywidget per console, its ES module shipped in ``ui/static``.

What it does in the page (see ``static/console.js``): keeps each log pinned to the newest row unless the user
has scrolled up, and then offers a "↓ N new" control (CSS class ``lihil-console-new``); keeps console typing
from the notebook's shortcuts and makes Enter submit; marks the console disconnected when the kernel restarts
(``lihil-console-disconnected`` on the root, a ``lihil-console-banner``, status lines that say so).

It is an anywidget because that runs plain ES modules in JupyterLab, Notebook 7, VS Code and Colab without a
build step or a lab extension of our own. Its one state, ``kernel``, is written once: "shut down" when the kernel
exits (an ``atexit`` hook of the console), so that "Shut Down All Kernels" reads as such. Should that last message
not get out, the page finds out at the next click in the console (its comm then refuses to send).
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

STATIC = Path(__file__).parent.parent / "static"


class ConsoleFront(anywidget.AnyWidget):
    """Invisible helper inside a console (CSS class ``lihil-console-front``): log pinning, keys, disconnects."""

    _esm = STATIC / "console.js"
    kernel = traitlets.Unicode("").tag(sync=True)  # "shut down" once the kernel exits

    def __init__(self) -> None:
        super().__init__()
        self.add_class("lihil-console-front")
