"""Rooms across `Lihil.run` worker processes: a service run with two workers and a RedisSocketBus shares a room
between members connected to different workers (a real multi-worker uvicorn, a real redis-server)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.core.test_run import LogLines, _free_port, start_service, stop_service
from tests.hub.hub_support import HubClient, redis_server

SERVICE = textwrap.dedent(
    """
    import os
    from lihil import ChannelBase, Lihil, SocketHub, Topic
    from lihil.socket import RedisSocketBus

    hub = SocketHub("/ws", bus=RedisSocketBus(os.environ["ROOMS_REDIS_URL"]))

    @hub.channel
    class Room(ChannelBase):
        topic = Topic("room:{name}")

        async def on_whoami(self) -> dict:
            return {"pid": os.getpid()}

        async def on_chat(self, payload: dict) -> None:
            await self.publish(payload, event="chat")

    app = Lihil(hub)

    if __name__ == "__main__":
        app.run(__file__)
    """
)
MAX_CLIENTS = 24
"""Connections opened at most to find members on both workers (the kernel spreads them; all on one is unlikely)."""


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


def test_a_room_spans_the_worker_processes_of_lihil_run(tmp_path: Path, redis_url: str) -> None:
    script = tmp_path / "rooms_service.py"
    script.write_text(SERVICE)
    port = _free_port()
    proc = start_service(script, port, workers=2, env={"ROOMS_REDIS_URL": redis_url})
    workers: list[psutil.Process] = []
    clients: list[HubClient] = []
    try:
        log = LogLines(proc)
        started = log.wait_for(r"Started server process \[(\d+)\]", 2, timeout=30)
        log.wait_for(r"Application startup complete", 2, timeout=30)
        workers = [psutil.Process(int(m.group(1))) for m in started]
        by_pid: dict[int, HubClient] = {}
        while len(by_pid) < 2 and len(clients) < MAX_CLIENTS:
            client = HubClient(f"ws://127.0.0.1:{port}/ws")
            clients.append(client)
            client.join("room:lobby")
            client.send("room:lobby", "whoami", ref="w")
            by_pid.setdefault(client.recv_event("reply")["payload"]["response"]["pid"], client)
        assert len(by_pid) == 2, f"{len(clients)} connections all landed on one worker"
        (pid_a, a), (pid_b, _) = by_pid.items()
        a.send("room:lobby", "chat", {"text": f"from worker {pid_a}"}, ref="c")
        for member in clients:  # every member, on either worker, gets it exactly once
            assert member.recv_event("chat")["payload"] == {"text": f"from worker {pid_a}"}
        assert {pid_a, pid_b} == {w.pid for w in workers}
    finally:
        for client in clients:
            client.close()
        stop_service(proc, workers)
