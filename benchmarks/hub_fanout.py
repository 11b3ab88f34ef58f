"""Hub fan-out: one publisher, 1,000 subscribers in one room — our SocketHub against a hand-written Starlette loop.

    .venv/bin/python benchmarks/hub_fanout.py            # full run (~3 min on 2 cores)
    .venv/bin/python benchmarks/hub_fanout.py --quick    # seconds; proves the harness works, figures mean little

Three servers, each under uvicorn (websockets-sansio) on 127.0.0.1 in its own process, so CPU is measured per server:

* ``starlette`` -- the loop people write by hand: a module-level set of subscriber sockets; each message from the
  publisher is wrapped in a JSON envelope once and ``send_text`` to every subscriber in turn;
* ``hub``       -- ``SocketHub`` with its default in-memory bus: subscribers ``join`` ``room:bench``; the publisher's
  ``say`` event publishes to the room (each subscriber gets its own envelope: its ``join_ref`` and ``seq``);
* ``hub-redis`` -- the same hub on ``RedisSocketBus``, against a redis-server this script starts on a free port
  (skipped, saying so, where ``redis-server`` is not installed).

One client process (asyncio + ``websockets``) holds every server's subscribers and publisher at once. Per measurement
a publisher sends ``messages`` messages in bursts of ``burst`` and waits until every subscriber has received each
burst; deliveries = subscribers × messages. Figures: deliveries/s and server CPU µs per delivery. Within a round the
servers are measured in turn, ``reps`` times over (so a drift in the machine's load hits them alike), and the round
keeps each server's median; only ratios taken within a round are compared, and the table shows each ratio's median
over the rounds with its range (min-max). Every wait is bounded; servers are stopped by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from bench_support import (
    STOP_TIMEOUT,
    ClientProcess,
    Server,
    announce_ports,
    answer_commands,
    client_process,
    free_port,
    listen,
    overridden,
    run_child,
    server_cpu_seconds,
    servers,
    stop,
)

KINDS = ("starlette", "hub", "hub-redis")
METRICS = (  # key, label
    ("deliveries_per_s", "deliveries / s"),
    ("cpu_us_per_delivery", "server CPU µs / delivery"),
)
RATIOS = (("hub", "starlette"), ("hub-redis", "hub"))  # (numerator, denominator)


@dataclass(frozen=True)
class Workload:
    """How much each measurement does. Every count is bounded; `timeout` bounds every wait."""

    rounds: int = 5
    reps: int = 3  # measurements per server per round, interleaved across servers; the round keeps their median
    subscribers: int = 1000
    messages: int = 60
    burst: int = 10
    warmup: int = 5
    timeout: float = 120.0


QUICK = Workload(rounds=1, reps=1, subscribers=20, messages=10, burst=5, warmup=2, timeout=60.0)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if run_child(args, lambda: _serve(args.serve, args.redis_url), _client_loop):
        return 0
    work = overridden(QUICK if args.quick else Workload(), rounds=args.rounds, subscribers=args.subscribers,
                      messages=args.messages)
    started = time.monotonic()
    with _redis_server(work.timeout) as redis_url:
        kinds = KINDS if redis_url else KINDS[:2]
        if not redis_url:
            print("hub-redis skipped: redis-server is not installed (make services)", file=sys.stderr)
        with client_process(__file__, work.timeout) as client:
            rounds = [_measure_round(client, kinds, work, n, redis_url) for n in range(work.rounds)]
    report = _report(rounds, kinds, work)
    print(_format_table(report, work))
    print(f"\n(finished in {time.monotonic() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


# --- orchestration (parent process) ----------------------------------------------------------------------------

Raw = dict[str, dict[str, float]]  # kind -> metric -> value


def _measure_round(client: ClientProcess, kinds: Sequence[str], work: Workload, n: int, redis_url: str) -> Raw:
    """Open every server's room, then measure them in turn, ``reps`` times; each figure is the median of its reps."""
    order = list(kinds[n % len(kinds):]) + list(kinds[: n % len(kinds)])
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in order}
    with _servers(order, redis_url, work.timeout) as servers:
        for kind in order:
            _call(client, "open", servers[kind], subscribers=work.subscribers, warmup=work.warmup)
        try:
            for _ in range(work.reps):
                for kind in order:
                    samples[kind].append(_call(client, "measure", servers[kind], messages=work.messages,
                                               burst=work.burst))
        finally:
            for kind in order:
                _call(client, "close", servers[kind])
    print(f"  round {n + 1}/{work.rounds} done", file=sys.stderr, flush=True)
    return {kind: {key: statistics.median(s[key] for s in runs) for key, _ in METRICS}
            for kind, runs in samples.items()}


def _call(client: ClientProcess, op: str, server: Server, **params: Any) -> dict[str, float]:
    command = {"op": op, "kind": server.kind, "port": server.port, "cpu_port": server.cpu_port, **params}
    return client.ask(command, server.kind)


def _report(rounds: list[Raw], kinds: Sequence[str], work: Workload) -> dict[str, Any]:
    """Raw figures per round, and per ratio: each round's value (numerator / denominator) and their summary."""
    ratios: dict[str, dict[str, Any]] = {}
    for top, bottom in RATIOS:
        if top not in kinds:
            continue
        for key, _ in METRICS:
            values = [r[top][key] / r[bottom][key] for r in rounds]
            ratios[f"{top}/{bottom} {key}"] = {
                "per_round": values, "median": statistics.median(values), "min": min(values), "max": max(values)}
    return {"workload": asdict(work), "rounds": rounds, "ratios": ratios}


def _servers(kinds: Sequence[str], redis_url: str, timeout: float) -> AbstractContextManager[dict[str, Server]]:
    return servers({kind: [sys.executable, __file__, "--serve", kind, "--redis-url", redis_url] for kind in kinds},
                   timeout)


@contextmanager
def _redis_server(timeout: float) -> Iterator[str]:
    """A redis-server on a free 127.0.0.1 port (no persistence, temp dir), or "" where none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield ""
        return
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="hub-fanout-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + timeout
        while not _redis_answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not answer PING")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc, timeout=STOP_TIMEOUT)
        shutil.rmtree(workdir, ignore_errors=True)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _format_table(report: dict[str, Any], work: Workload) -> str:
    rounds: list[Raw] = report["rounds"]
    rows = [
        f"hub fan-out: 1 publisher, {work.subscribers} subscribers in one room, {work.messages} messages; "
        f"median of {work.rounds} round(s) (range over rounds)",
        f"{'metric':<26} " + " ".join(f"{kind:>12}" for kind in rounds[0]) + "   "
        + "   ".join(f"{top + ' / ' + bottom:<26}" for top, bottom in RATIOS if top in rounds[0]),
    ]
    for key, label in METRICS:
        raws = " ".join(f"{statistics.median(r[kind][key] for r in rounds):>12.2f}" for kind in rounds[0])
        cells = []
        for top, bottom in RATIOS:
            ratio = report["ratios"].get(f"{top}/{bottom} {key}")
            if ratio:
                cells.append(f"{ratio['median']:.2f}x ({ratio['min']:.2f}-{ratio['max']:.2f})".ljust(26))
        rows.append(f"{label:<26} {raws}   " + "   ".join(cells))
    rows.append("target: hub / starlette deliveries/s >= 0.90x")
    return "\n".join(rows)


# --- servers (one process each) ----------------------------------------------------------------------------


def _serve(kind: str, redis_url: str) -> None:
    import uvicorn

    _raise_fd_limit()
    app = _build_app(kind, redis_url)
    sock = listen(backlog=4096)
    announce_ports(sock)
    config = uvicorn.Config(app, ws="websockets-sansio", lifespan="on", log_level="warning", access_log=False,
                            loop="asyncio")
    uvicorn.Server(config).run(sockets=[sock])


def _build_app(kind: str, redis_url: str) -> Any:
    if kind == "starlette":
        from starlette.applications import Starlette
        from starlette.routing import WebSocketRoute
        from starlette.websockets import WebSocket, WebSocketDisconnect

        subscribers: set[WebSocket] = set()

        async def subscribe(ws: WebSocket) -> None:
            await ws.accept()
            subscribers.add(ws)
            try:
                while True:
                    await ws.receive_text()
            except WebSocketDisconnect:
                pass
            finally:
                subscribers.discard(ws)

        async def publish(ws: WebSocket) -> None:
            await ws.accept()
            try:
                while True:
                    payload = json.loads(await ws.receive_text())["payload"]
                    text = json.dumps({"topic": "room:bench", "event": "chat", "payload": payload})
                    for sub in list(subscribers):
                        try:
                            await sub.send_text(text)
                        except (WebSocketDisconnect, RuntimeError):
                            subscribers.discard(sub)
            except WebSocketDisconnect:
                pass

        return Starlette(routes=[WebSocketRoute("/sub", subscribe), WebSocketRoute("/pub", publish)])

    from lihil import ChannelBase, Lihil, SocketHub, Topic

    class Room(ChannelBase):
        topic = Topic("room:{name}")

    class Megaphone(ChannelBase):
        """The publisher: not a member of the room it speaks to."""

        topic = Topic("megaphone:{name}")

        async def on_join(self, name: str) -> None:
            self.room = f"room:{name}"

        async def on_say(self, payload: Any) -> None:
            await self.bus.publish(self.room, "chat", payload)

    if kind == "hub-redis":
        from lihil.socket import RedisSocketBus

        hub = SocketHub("/ws", bus=RedisSocketBus(redis_url))
    else:
        hub = SocketHub("/ws")
    hub.channel(Room)
    hub.channel(Megaphone)
    return Lihil(hub)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- load generator (client process) ------------------------------------------------------------------------


async def _client_loop() -> None:
    _raise_fd_limit()
    rooms: dict[str, Room] = {}

    async def handle(command: dict[str, Any]) -> dict[str, Any]:
        op, kind = command.pop("op"), command.pop("kind")
        if op == "open":
            rooms[kind] = await Room.open(kind, **command)
            return {}
        if op == "measure":
            return await rooms[kind].measure(**command)
        await rooms.pop(kind).close()
        return {}

    await answer_commands(handle)


def _connect(url: str) -> Any:
    from websockets.asyncio.client import connect

    return connect(url, compression=None, proxy=None, open_timeout=30, close_timeout=5, ping_interval=None,
                   max_queue=None)


class Subscriber:
    """Counts the frames one subscriber receives; wakes the waiter when the count reaches a target."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.count, self.target = ws, 0, 0
        self.reached = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._read())

    def expect(self, total: int) -> None:
        self.target = total
        if self.count >= total:
            self.reached.set()
        else:
            self.reached.clear()

    async def _read(self) -> None:
        async for _ in self.ws:
            self.count += 1
            if self.count >= self.target:
                self.reached.set()


class Room:
    """One server's subscribers and publisher, kept open across the measurements of a round."""

    def __init__(self, kind: str, cpu_port: int, subs: list[Subscriber], publisher: Any, timeout: float) -> None:
        self.kind, self.cpu_port, self.subs, self.publisher, self.timeout = kind, cpu_port, subs, publisher, timeout
        self.sent = 0

    @classmethod
    async def open(cls, kind: str, port: int, cpu_port: int, subscribers: int, warmup: int,
                   timeout: float = 120.0) -> Room:
        hub = kind != "starlette"
        base = f"ws://127.0.0.1:{port}"
        socks = []
        for _ in range(subscribers):
            ws = await _connect(base + ("/ws" if hub else "/sub"))
            if hub:
                await ws.send(json.dumps({"topic": "room:bench", "event": "join", "ref": "j"}))
                await asyncio.wait_for(ws.recv(), timeout)
            socks.append(ws)
        publisher = await _connect(base + ("/ws" if hub else "/pub"))
        if hub:
            await publisher.send(json.dumps({"topic": "megaphone:bench", "event": "join", "ref": "p"}))
            await asyncio.wait_for(publisher.recv(), timeout)
        room = cls(kind, cpu_port, [Subscriber(ws) for ws in socks], publisher, timeout)
        await room.publish(warmup, burst=warmup)
        return room

    async def publish(self, count: int, burst: int) -> None:
        """Send ``count`` messages in bursts; after each burst, wait until every subscriber has all of them."""
        for start in range(0, count, burst):
            n = min(burst, count - start)
            for i in range(n):
                await self.publisher.send(json.dumps({"topic": "megaphone:bench", "event": "say",
                                                      "payload": {"n": self.sent + i, "text": "hello room"}}))
            self.sent += n
            for sub in self.subs:
                sub.expect(self.sent)
            await asyncio.wait_for(asyncio.gather(*(sub.reached.wait() for sub in self.subs)), self.timeout)

    async def measure(self, port: int, cpu_port: int, messages: int, burst: int) -> dict[str, float]:
        cpu, wall = server_cpu_seconds(self.cpu_port), time.perf_counter()
        await self.publish(messages, burst)
        wall, cpu = time.perf_counter() - wall, server_cpu_seconds(self.cpu_port) - cpu
        deliveries = len(self.subs) * messages
        result = {"deliveries_per_s": deliveries / wall, "cpu_us_per_delivery": cpu / deliveries * 1e6}
        assert all(math.isfinite(v) and v > 0 for v in result.values()), result
        return result

    async def close(self, port: int = 0, cpu_port: int = 0) -> None:
        await self.publisher.close()
        await asyncio.gather(*(sub.ws.close() for sub in self.subs))
        for sub in self.subs:
            sub.task.cancel()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts, one round: proves the harness runs")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; quick 1)")
    parser.add_argument("--subscribers", type=int, help="subscribers in the room (default 1000; quick 20)")
    parser.add_argument("--messages", type=int, help="messages per measurement (default 60; quick 10)")
    parser.add_argument("--json", help="also write the raw figures and ratios to this file")
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
