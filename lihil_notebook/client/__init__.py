"""The client room: the kernel's WebSocket client, which dials the playground server like any other client.

* :mod:`.session` — ``Session``: a connection opened from the notebook (blocking, ``await`` and ``*_nowait`` calls);
* :mod:`.connection` — ``SessionConnection``: the ``websockets`` connection under a session, without its extra hops;
* :mod:`.reading` — ``ReadRole``: while a cell awaits a message, its loop reads the socket (the server loop otherwise);
* :mod:`.peer` — ``ServerReports``: what the server tells a session (handler prints and errors, a redefined route);
* :mod:`.subscribers` — ``Subscribers``: who follows a session's log, called on the server loop in log order;
* :mod:`.log` — ``LogEntry``, and how payloads, close codes and refused handshakes read in a session's log;
* :mod:`.frames` — ``Inbox``/``Outbox``/``Bell``: messages between a cell's thread and the server loop;
* :mod:`.loop_calls` — ``LoopCaller``: calling into the server loop from a cell, blocking or awaited;
* :mod:`.tunnel` — ``TunnelSocket``: a connection the kernel makes for a page shown with ``pg.show``.

May import: :mod:`lihil_notebook.errors`. Never the server, ui or ipython rooms.
"""
