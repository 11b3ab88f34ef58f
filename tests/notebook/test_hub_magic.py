"""%%ws_hub and %lihil bus in an in-process IPython shell: a cell's channels become a live hub, re-running replaces
them (open connections marked stale, rooms kept), and two playgrounds share rooms through a real redis-server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from IPython.core.error import UsageError

from lihil import ChannelBase, Topic
from lihil_notebook import Playground, Session, playground
from tests.hub.hub_support import redis_server
from tests.notebook.playground_support import WAIT, wait_for
from tests.notebook.test_magics import run

ROOMS_CELL = """\
%%ws_hub /rooms
from lihil import ChannelBase, Topic

class Room(ChannelBase):
    topic = Topic("room:{name}")

    async def on_chat(self, payload: dict) -> None:
        await self.publish({"said": payload["text"]}, event="chat")
"""


def envelope(session: Session, **fields: Any) -> None:
    session.send(json.dumps(fields))


def next_event(session: Session, event: str) -> dict[str, Any]:
    """The next envelope of ``event`` (skipping others), within WAIT."""
    while True:
        message = json.loads(session.receive(timeout=WAIT))
        if message["event"] == event:
            return message


def member(pg: Playground, name: str, room: str = "room:lobby") -> Session:
    session = pg.connect("/rooms", name=name)
    envelope(session, topic=room, event="join", ref="j1")
    reply = next_event(session, "reply")
    assert reply["payload"]["status"] == "ok", reply
    return session


def test_a_hub_cell_serves_its_channels_and_a_broadcast_reaches_every_member(ip: Any) -> None:
    result, _ = run(ip, ROOMS_CELL)
    assert result.error_in_exec is None, result.error_in_exec
    pg = playground()
    route = next(r for r in pg.routes if r.path == "/rooms")
    assert route.kind == "hub" and route.handler_name == "Room"
    ann, bob = member(pg, "ann"), member(pg, "bob")
    envelope(ann, topic="room:lobby", event="chat", payload={"text": "hi all"}, ref="c1")
    for session in (ann, bob):
        assert next_event(session, "chat")["payload"] == {"said": "hi all"}


def test_rerunning_a_hub_cell_replaces_the_channels_and_keeps_the_rooms(ip: Any) -> None:
    run(ip, ROOMS_CELL)
    pg = playground()
    ann = member(pg, "ann")
    result, _ = run(ip, ROOMS_CELL.replace('{"said": payload["text"]}', '{"said": payload["text"].upper()}'))
    assert result.error_in_exec is None
    wait_for(lambda: ann.stale, "the open session to be marked stale")
    assert next(r for r in pg.routes if r.path == "/rooms").version == 2
    bob = member(pg, "bob")  # the new channels
    envelope(bob, topic="room:lobby", event="chat", payload={"text": "new code"}, ref="c1")
    assert next_event(bob, "chat")["payload"] == {"said": "NEW CODE"}
    assert next_event(ann, "chat")["payload"] == {"said": "NEW CODE"}, "the room (the bus) survived the re-run"


@pytest.mark.parametrize(("cell", "message"), [
    ("%%ws_hub /rooms\nx = 1\n", "the cell defines no channel"),
    ("%%ws_hub /rooms\nclass NotAChannel:\n    pass\n", "none of the cell's classes (NotAChannel) is a channel"),
    ("%%ws_hub /rooms\nfrom lihil import ChannelBase, Topic\nclass Room(ChannelBase):\n    topic = Topic('r')\n"
     "def on_connect(socket):\n    pass\n", "on_connect (cell line 5) is a sync `def`"),
    ("%%ws_hub rooms\nx = 1\n", "invalid path 'rooms'"),
])
def test_bad_hub_cells_are_clear_errors(ip: Any, cell: str, message: str) -> None:
    result, _ = run(ip, cell)
    assert isinstance(result.error_in_exec, UsageError) and message in str(result.error_in_exec), result


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


class Room(ChannelBase):
    topic = Topic("room:{name}")

    async def on_chat(self, payload: dict[str, Any]) -> None:
        await self.publish({"said": payload["text"]}, event="chat")


def test_lihil_bus_shares_rooms_between_two_playgrounds_through_redis(ip: Any, redis_url: str) -> None:
    run(ip, ROOMS_CELL)
    teacher = playground()
    student = Playground()  # another kernel's playground, on its own server thread and loop
    student.start()
    try:
        ip.user_ns["rooms_url"] = redis_url
        _, shown = run(ip, "%lihil bus $rooms_url")  # a URL from a variable ($ is expanded for bus)
        assert "hubs on RedisSocketBus" in shown.stdout and redis_url.split("@")[-1] in shown.stdout
        student.mount_hub("/rooms", Room)
        student.set_bus(redis_url)
        ann, bob = member(teacher, "ann"), member(student, "bob")
        envelope(bob, topic="room:lobby", event="chat", payload={"text": "across kernels"}, ref="c1")
        assert next_event(ann, "chat")["payload"] == {"said": "across kernels"}
        assert next_event(bob, "chat")["payload"] == {"said": "across kernels"}
    finally:
        student.stop()
        run(ip, "%lihil bus memory")
    # Back to memory: the Redis bus's connections are closed, not left open.
    with redis.Redis.from_url(redis_url) as probe:
        wait_for(lambda: len(probe.client_list()) == 1, "only the probe's own connection on Redis")


def test_lihil_bus_never_shows_a_password(ip: Any) -> None:
    _, shown = run(ip, "%lihil bus redis://:s3cret-pw@127.0.0.1:1/0")  # not dialled until a hub uses it
    try:
        assert "s3cret-pw" not in shown.stdout and "***" in shown.stdout
        assert "s3cret-pw" not in repr(playground().bus)
    finally:
        run(ip, "%lihil bus memory")
    assert playground().bus is None
