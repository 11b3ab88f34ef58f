"""The server room: everything that runs on the playground's server thread.

* :mod:`.thread` — ``ServerThread``: uvicorn in its own daemon thread and event loop, on a pre-bound loopback socket;
  ``ServerSettings``, the server's limits;
* :mod:`.connections` — the ASGI wrapper around the app: which route, handler version and notebook session each
  connection belongs to, and where its prints and errors go;
* :mod:`.routes` — the live route table on the lihil app (mount, replace, unmount) and what it knows of each route;
* :mod:`.capture` — per-connection ``print``;
* :mod:`.prefix` — ``ProxyPrefix``: routing below the Jupyter proxy's ``proxy/absolute/{port}`` prefix (``root_path``).

May import: ``lihil``, :mod:`lihil_notebook.errors`. Never the client, ui or ipython rooms: the server knows the
notebook's sessions only through the small :class:`~.connections.ConnectionPeer` protocol.
"""
