"""The IPython room: the magics and what they display.

* :mod:`.magics` — ``%%ws_route``, ``%%route``, ``%lihil``, ``%ws_console``: thin — parse the line, delegate to the
  ``Playground``, display the result; tab completion of mounted paths;
* :mod:`.cells` — running a route cell: compile it like IPython does (tracebacks name the cell's lines), find the
  handler;
* :mod:`.display` — the ``%lihil`` status report.

May import: :mod:`lihil_notebook.playground`, the ui room, :mod:`lihil_notebook.errors`.
"""
