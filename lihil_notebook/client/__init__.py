"""The client room: the kernel's WebSocket client, which dials the playground server like any other client.

* :mod:`.session` — ``Session``: a connection opened from the notebook (blocking, ``await`` and ``*_nowait`` calls),
  read and written by one owner loop only;
* :mod:`.connection` — ``Connection``/``Dialer``: the seam, what a session needs of a transport (read it first);
* :mod:`.websockets_connection` — ``WebsocketsConnection``: the TCP transport, ``websockets``' asyncio client;
* :mod:`.peer` — ``ServerReports``: what the server tells a session (handler prints and errors, a redefined route);
* :mod:`.subscribers` — ``Subscribers``: who follows a session's log, called on the owner loop in log order;
* :mod:`.log` — ``LogEntry``, and how payloads, close codes and refused handshakes read in a session's log;
* :mod:`.frames` — ``Inbox``/``Outbox``: messages between the cells and the owner loop;
* :mod:`.loop_calls` — ``LoopCaller``: calling into the owner loop from a cell, blocking or awaited;
* :mod:`.tunnel` — ``TunnelSocket``: a connection the kernel makes for a page shown with ``pg.show``.

May import: :mod:`lihil_notebook.errors`. Never the server, ui or ipython rooms.
"""
