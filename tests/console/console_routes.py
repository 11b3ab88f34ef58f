"""WebSocket handlers the console tests mount on a real playground: echo, a chat room, a flood, and friends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from lihil import WebSocket
from lihil.vendors import WebSocketDisconnect

Handler = Callable[..., Awaitable[None]]


async def frames(ws: WebSocket) -> AsyncIterator[str | bytes]:
    """Each message the client sends (text as str, binary as bytes), until it disconnects."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        yield message["text"] if message.get("text") is not None else message["bytes"]


async def send_back(ws: WebSocket, data: str | bytes) -> None:
    """Send ``data`` as it came: text as text, binary as binary."""
    if isinstance(data, str):
        await ws.send_text(data)
    else:
        await ws.send_bytes(data)


async def echo(ws: WebSocket) -> None:
    """Send every frame back as it came (text as text, binary as binary)."""
    await ws.accept()
    async for data in frames(ws):
        await send_back(ws, data)


def make_chat() -> Handler:
    """A chat room per ``room`` path parameter; every message goes to everyone in the room as "user: text"."""
    rooms: dict[str, set[WebSocket]] = {}

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
            pass
        finally:
            members.discard(ws)

    return chat


def make_flood(count: int) -> Handler:
    """On the first message, send ``count`` text messages as fast as possible; then wait for the client."""

    async def flood(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        for number in range(count):
            await ws.send_text(f"message {number}")
        try:
            await ws.receive_text()
        except WebSocketDisconnect:
            pass

    return flood


async def handshake_info(ws: WebSocket) -> None:
    """Accept the first offered subprotocol and report the x-token header back."""
    offered = ws.scope.get("subprotocols") or []
    await ws.accept(subprotocol=offered[0] if offered else None)
    await ws.send_text(f"token={ws.headers.get('x-token', '')}")
    try:
        await ws.receive_text()
    except WebSocketDisconnect:
        pass


async def noisy(ws: WebSocket) -> None:
    """Print on the server, then fail on the first message (the console shows both)."""
    await ws.accept()
    print("handler says hello")
    text = await ws.receive_text()
    raise RuntimeError(f"boom on {text!r}")


async def typed(ws: WebSocket, count: int) -> None:
    """Needs an integer query parameter ``count``: a bad value is refused at the handshake."""
    await ws.accept()
    await ws.send_text(str(count))
    await ws.close()
