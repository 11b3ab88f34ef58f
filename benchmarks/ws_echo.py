"""WebSocket echo: lihil (ours) against plain Starlette, side by side, under every uvicorn WebSocket implementation.

    .venv/bin/python benchmarks/ws_echo.py            # full run (~3 min on 2 cores)
    .venv/bin/python benchmarks/ws_echo.py --quick    # seconds; proves the harness works, figures mean little
    .venv/bin/python benchmarks/ws_echo.py --edge     # the playground's edge on vs off (~1 min)
    ... --json FILE                                   # also write every round's raw figures and ratios

Three servers, each under uvicorn on 127.0.0.1 in its own process (so server CPU and memory are measured per process):

* ``starlette``    -- a Starlette ``WebSocketRoute`` echo: accept, then echo text frames until the client leaves;
* ``lihil-plain``  -- the same loop as a lihil ``WebSocketRoute`` handler taking ``ws: WebSocket``;
* ``lihil-seed``   -- the shape of lihil's docs example: path param, ``int`` query param and a ``use(...)`` resource
  factory that accepts before ``yield`` and closes after it.

One client process (asyncio + ``websockets``, no compression) drives them, measurement by measurement, rotating the
server order each round; the machine's speed drifts, so only ratios taken within a round mean anything. For each
round the lihil figures are divided by Starlette's; the table shows the median ratio over the rounds (and its range).

``--edge`` measures the playground's security edge instead (lihil_notebook.server.edge: Host/Origin/token checks
and the request limits), all three servers being lihil-plain under the playground's own WebSocket protocol:
``edge-off`` (baseline), ``edge-on`` (the default checks, no token) and ``edge-token`` (a token, carried in the URL
as a copied URL would). Targets: handshake cost <= 1.03x, per-message cost unchanged.

Measurements: server CPU µs per echoed message and messages/s (concurrent connections, one frame in flight each);
handshakes/s and server CPU µs per handshake (open + close); server RSS growth per idle connection.
Everything is bounded: fixed counts, timeouts on every wait, server processes stopped by pid at the end.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from bench_support import (
    ClientProcess,
    Server,
    announce_ports,
    answer_commands,
    client_process,
    listen,
    overridden,
    run_child,
    server_cpu_seconds,
    servers,
)

WS_IMPLS = ("websockets-sansio", "websockets", "wsproto")
EDGE_IMPL = "playground"  # lihil_notebook's websockets-sansio protocol, as the playground serves
BENCH_TOKEN = "benchmark-token-0123456789"


@dataclass(frozen=True)
class Suite:
    """Three servers measured side by side: the first is the baseline the other two are divided by."""

    kinds: tuple[str, str, str]
    paths: dict[str, str]
    title: str
    targets: str


FRAMEWORKS = Suite(
    ("starlette", "lihil-plain", "lihil-seed"),
    {"starlette": "/echo", "lihil-plain": "/echo", "lihil-seed": "/echo/s1?max_users=5"},
    "ws echo: lihil vs Starlette under uvicorn",
    "targets: server CPU/message <= 1.05x; seed handshakes/s >= 0.95x; RSS per idle connection <= 1.00x",
)
EDGE = Suite(
    ("edge-off", "edge-on", "edge-token"),
    {"edge-off": "/echo", "edge-on": "/echo", "edge-token": f"/echo?lihil_token={BENCH_TOKEN}"},
    "ws echo: the playground's edge on vs off (lihil-plain)",
    "targets: handshake cost (server CPU/handshake) <= 1.03x; server CPU/message unchanged (~1.00x)",
)
KINDS = FRAMEWORKS.kinds + EDGE.kinds
METRICS = (  # key, label, higher is better
    ("cpu_us_per_msg", "server CPU µs / message", False),
    ("msgs_per_s", "messages / s", True),
    ("handshakes_per_s", "handshakes / s", True),
    ("cpu_us_per_handshake", "server CPU µs / handshake", False),
    ("rss_kib_per_idle_conn", "server RSS KiB / idle connection", False),
)


@dataclass(frozen=True)
class Workload:
    """How much each measurement does. Every count is bounded; `timeout` bounds every wait on a process."""

    rounds: int = 7
    echo_connections: int = 8
    echo_messages: int = 3000  # per connection
    handshakes: int = 1500
    handshake_concurrency: int = 8
    idle_connections: int = 300
    timeout: float = 60.0


QUICK = Workload(
    rounds=1, echo_connections=2, echo_messages=20, handshakes=10, handshake_concurrency=2, idle_connections=5
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if run_child(args, lambda: _serve(args.serve, args.ws), _client_loop):
        return 0
    work = overridden(QUICK if args.quick else Workload(), rounds=args.rounds)
    suite = EDGE if args.edge else FRAMEWORKS
    impls = [EDGE_IMPL] if args.edge else args.impl or list(WS_IMPLS)
    started = time.monotonic()
    with client_process(__file__, work.timeout) as client:
        results = {impl: _measure_impl(client, suite, impl, work) for impl in impls}
    print(_format_table(results, suite, work))
    print(f"\n(finished in {time.monotonic() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"suite": suite.kinds, "rounds": work.rounds, "results": results}, out, indent=1)
    return 0


# --- orchestration (parent process) ----------------------------------------------------------------------------

# kind -> metric -> {"raw": per-round figures, "ratio": per-round figure / the baseline's (not for the baseline)}
Results = dict[str, dict[str, dict[str, list[float]]]]


def _measure_impl(client: ClientProcess, suite: Suite, impl: str, work: Workload) -> Results:
    kinds, paths = suite.kinds, suite.paths
    per_round: Results = {kind: {key: {"raw": [], "ratio": []} for key, _, _ in METRICS} for kind in kinds}
    for round_no in range(work.rounds):
        order = kinds[round_no % len(kinds) :] + kinds[: round_no % len(kinds)]
        with _servers(order, impl, work.timeout) as servers:
            raw: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
            for kind in order:  # fresh processes: idle memory first, then warm up
                raw[kind].update(_call(client, "idle", servers[kind], paths[kind], count=work.idle_connections))
                _call(client, "echo", servers[kind], paths[kind], connections=2, messages=50)
            for op, params in (
                ("echo", {"connections": work.echo_connections, "messages": work.echo_messages}),
                ("handshake", {"count": work.handshakes, "concurrency": work.handshake_concurrency}),
            ):
                for kind in order:  # alternate the servers measurement by measurement
                    raw[kind].update(_call(client, op, servers[kind], paths[kind], **params))
        for key, _, _ in METRICS:
            base = raw[kinds[0]][key]
            for kind in kinds:
                per_round[kind][key]["raw"].append(raw[kind][key])
                if kind != kinds[0]:
                    per_round[kind][key]["ratio"].append(raw[kind][key] / base if base else float("nan"))
        print(f"  {impl}: round {round_no + 1}/{work.rounds} done", file=sys.stderr, flush=True)
    return per_round


def _servers(kinds: Sequence[str], impl: str, timeout: float) -> AbstractContextManager[dict[str, Server]]:
    """Start one uvicorn process per kind; stop each by its pid on the way out."""
    return servers({kind: [sys.executable, __file__, "--serve", kind, "--ws", impl] for kind in kinds}, timeout,
                   f" ({impl})")


def _call(client: ClientProcess, op: str, server: Server, path: str, **params: Any) -> dict[str, float]:
    command = {
        "op": op,
        "url": f"ws://127.0.0.1:{server.port}{path}",
        "pid": server.pid,
        "cpu_port": server.cpu_port,
        **params,
    }
    return client.ask(command, server.kind)


def _format_table(results: dict[str, Results], suite: Suite, work: Workload) -> str:
    base_kind, *others = suite.kinds
    rows = [
        f"{suite.title}, median of {work.rounds} round(s); the {others[0]} and {others[1]} columns are ratios to "
        f"{base_kind} (range over rounds)",
        f"{'uvicorn ws impl':<18} {'metric':<33} {base_kind:>10}   {others[0]:<22} {others[1]:<22}",
    ]
    for impl, per_kind in results.items():
        for key, label, _ in METRICS:
            base = statistics.median(per_kind[base_kind][key]["raw"])
            cells = []
            for kind in others:
                values = per_kind[kind][key]["ratio"]
                cells.append(f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})")
            rows.append(f"{impl:<18} {label:<33} {base:>10.1f}   {cells[0]:<22} {cells[1]:<22}")
    rows.append(suite.targets)
    return "\n".join(rows)


# --- servers (one process each) ----------------------------------------------------------------------------


def _serve(kind: str, impl: str) -> None:
    import uvicorn

    sock = listen(backlog=2048)  # clients wait in the backlog until uvicorn runs
    app = _build_app(kind, sock.getsockname()[1])
    announce_ports(sock)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # uvicorn's legacy `websockets` implementation warns on import
        if impl == EDGE_IMPL:
            from lihil_notebook.server.ws_protocol import AnsweringSansIOProtocol

            ws: Any = AnsweringSansIOProtocol
        else:
            ws = impl
        config = uvicorn.Config(
            app,
            ws=ws,
            lifespan="on",
            log_level="warning",
            access_log=False,
            loop="asyncio",
        )
        config.load()
    uvicorn.Server(config).run(sockets=[sock])


def _build_app(kind: str, port: int) -> Any:
    if kind.startswith("edge-"):
        from lihil_notebook.server.edge import Edge, EdgeLog, EdgeRules

        app = _build_app("lihil-plain", port)
        if kind == "edge-off":
            return app
        rules = EdgeRules(port=port, token=BENCH_TOKEN if kind == "edge-token" else None)
        return Edge(app, lambda: rules, EdgeLog())
    if kind == "starlette":
        from starlette.applications import Starlette
        from starlette.routing import WebSocketRoute as StarletteWebSocketRoute
        from starlette.websockets import WebSocket as StarletteWebSocket

        async def starlette_echo(ws: StarletteWebSocket) -> None:
            await ws.accept()
            await _echo_until_disconnect(ws)

        return Starlette(routes=[StarletteWebSocketRoute("/echo", starlette_echo)])

    from lihil import Annotated, AsyncResource, Ignore, Lihil, WebSocket, WebSocketRoute, use

    if kind == "lihil-plain":
        route = WebSocketRoute("/echo")

        async def plain_echo(ws: WebSocket) -> None:
            await ws.accept()
            await _echo_until_disconnect(ws)

        route.endpoint(plain_echo)
        return Lihil(route)

    async def ws_factory(ws: Ignore[WebSocket]) -> Ignore[AsyncResource[WebSocket]]:
        await ws.accept()
        yield ws
        await ws.close()

    seed = WebSocketRoute("/echo/{session_id}")

    async def seed_echo(
        ws: Annotated[WebSocket, use(ws_factory, reuse=False)], session_id: str, max_users: int
    ) -> None:
        await _echo_until_disconnect(ws)

    seed.endpoint(seed_echo)
    return Lihil(seed)


async def _echo_until_disconnect(ws: Any) -> None:
    from starlette.websockets import WebSocketDisconnect

    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


# --- load generator (client process) ------------------------------------------------------------------------


async def _client_loop() -> None:
    async def handle(command: dict[str, Any]) -> dict[str, float]:
        return await _CLIENT_OPS[command.pop("op")](**command)

    await answer_commands(handle)


def _connect(url: str) -> Any:
    from websockets.asyncio.client import connect

    return connect(url, compression=None, proxy=None, open_timeout=10, close_timeout=5, ping_interval=None)


async def _echo(url: str, pid: int, cpu_port: int, connections: int, messages: int) -> dict[str, float]:
    conns = [await _connect(url) for _ in range(connections)]

    async def talk(ws: Any) -> None:
        for i in range(messages):
            await ws.send(f"message {i}")
            await asyncio.wait_for(ws.recv(), 10)

    cpu, wall = server_cpu_seconds(cpu_port), time.perf_counter()
    await asyncio.gather(*(talk(ws) for ws in conns))
    wall, cpu = time.perf_counter() - wall, server_cpu_seconds(cpu_port) - cpu
    await asyncio.gather(*(ws.close() for ws in conns))
    total = connections * messages
    return {"cpu_us_per_msg": cpu / total * 1e6, "msgs_per_s": total / wall}


async def _handshake(url: str, pid: int, cpu_port: int, count: int, concurrency: int) -> dict[str, float]:
    async def worker(n: int) -> None:
        for _ in range(n):
            ws = await _connect(url)
            await ws.close()

    shares = [count // concurrency + (i < count % concurrency) for i in range(concurrency)]
    cpu, wall = server_cpu_seconds(cpu_port), time.perf_counter()
    await asyncio.gather(*(worker(n) for n in shares))
    wall, cpu = time.perf_counter() - wall, server_cpu_seconds(cpu_port) - cpu
    return {"handshakes_per_s": count / wall, "cpu_us_per_handshake": cpu / count * 1e6}


async def _idle(url: str, pid: int, cpu_port: int, count: int) -> dict[str, float]:
    import psutil

    server = psutil.Process(pid)
    await _echo(url, pid, cpu_port, 1, 1)  # the server has served once: lazy imports and setup are behind us
    before = server.memory_info().rss
    conns = [await _connect(url) for _ in range(count)]
    for ws in conns:  # every handler is now parked in its receive loop
        await ws.send("ping")
        await asyncio.wait_for(ws.recv(), 10)
    after = server.memory_info().rss
    await asyncio.gather(*(ws.close() for ws in conns))
    return {"rss_kib_per_idle_conn": (after - before) / count / 1024}


_CLIENT_OPS: dict[str, Callable[..., Awaitable[dict[str, float]]]] = {
    "echo": _echo,
    "handshake": _handshake,
    "idle": _idle,
}


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny counts, one round: proves the harness runs"
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds per uvicorn ws implementation (default 7; quick 1)"
    )
    parser.add_argument(
        "--impl", action="append", choices=WS_IMPLS, help="only this ws implementation (repeatable)"
    )
    parser.add_argument("--edge", action="store_true", help="measure the playground's edge on vs off instead")
    parser.add_argument("--json", metavar="FILE", help="also write every round's raw figures and ratios to FILE")
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--ws", choices=(*WS_IMPLS, EDGE_IMPL), default="websockets-sansio", help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
