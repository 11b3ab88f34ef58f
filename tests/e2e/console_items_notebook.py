"""The notebook the console's browser tests run: routes for each issue-12 item, and one console per test.

Each console carries a CSS class ``e2e-<name>`` so a test finds its own; every console is a separate cell so
that a failing one does not hide the others.
"""

from __future__ import annotations

#: A chat room per ``room``: every message goes to everyone in the room as "user: text".
CHAT_ROUTE = """\
%%ws_route /chat/{room}
from lihil import WebSocket
from lihil.vendors import WebSocketDisconnect

rooms: dict[str, set] = {}

async def chat(ws: WebSocket, room: str, user: str = "anon") -> None:
    await ws.accept()
    members = rooms.setdefault(room, set())
    members.add(ws)
    try:
        while True:
            text = await ws.receive_text()
            for member in list(members):
                await member.send_text(f"{user}: {text}")
    except WebSocketDisconnect:
        members.discard(ws)"""

ROUTES = [
    "%load_ext lihil_notebook",
    """\
%%ws_route /flood
from lihil import WebSocket

async def flood(ws: WebSocket) -> None:
    # "N" asks for N numbered replies; anything else is echoed.
    await ws.accept()
    async for text in ws.iter_text():
        if text.isdigit():
            for number in range(1, int(text) + 1):
                await ws.send_text(f"reply {number} of {text}")
        else:
            await ws.send_text(text)""",
    """\
%%ws_route /typed
from lihil import WebSocket

async def typed(ws: WebSocket, n: int) -> None:
    await ws.accept()
    await ws.send_text(f"n={n}")""",
    CHAT_ROUTE,
    """\
%%ws_route /textonly
from lihil import WebSocket

async def textonly(ws: WebSocket) -> None:
    # Closes like lihil's WebSocket does when a text handler gets a binary frame.
    await ws.accept()
    while True:
        message = await ws.receive()
        if message.get("bytes") is not None:
            await ws.close(1003, "expected a text message, got binary")
            return
        await ws.send_text(message["text"])""",
    """\
%%ws_route /flaky
from lihil import WebSocket

async def flaky(ws: WebSocket) -> None:
    # Echoes; "drop" makes the server go away (1012 service restart), as servers do.
    await ws.accept()
    async for text in ws.iter_text():
        if text == "drop":
            await ws.close(1012, "restarting")
            return
        await ws.send_text(text)""",
    "from lihil_notebook import console",
]


def console_cell(name: str, call: str) -> str:
    """A cell that shows ``call`` (a console(...) expression) with the CSS class ``e2e-<name>``."""
    return f"view_{name} = {call}\nview_{name}.add_class('e2e-{name}')\nview_{name}"


CONSOLES = {
    "flood": 'console("/flood")',
    "refused": 'console("/typed?n=abc")',
    "chat": 'console("/chat/lobby?user=ann", sessions=["ann"])',
    "again": 'console("/flood")',
    "picture": 'console("/chat/hall?user=ann", sessions=["ann", "bob"])',
    "anywhere": "console()",
    "binary": 'console("/textonly")',
    "frames": 'console("/flood")',
    "flaky": 'console("/flaky")',
    "traffic": 'console("/flood")',
    "saved": 'console("/flood")',
    "search": 'console("/chat/attic?user=ann", sessions=["ann", "bob"], connect=True)',
}

#: A diagram in a cell's output, from Python sessions: one message fanning out to two members.
DIAGRAM_CELL = """\
from lihil_notebook import diagram, playground

pg = playground()
ann = pg.connect("/chat/fan?user=ann", name="ann")
bob = pg.connect("/chat/fan?user=bob", name="bob")
ann.send("hello fan")
assert ann.receive() == bob.receive() == "ann: hello fan"
diagram(ann, bob)"""

CELLS = [*ROUTES, *(console_cell(name, call) for name, call in CONSOLES.items()), DIAGRAM_CELL]
