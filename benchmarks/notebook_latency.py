"""What a notebook user waits for, measured in real Jupyter kernels on real sockets.

    .venv/bin/python benchmarks/notebook_latency.py            # about a minute
    .venv/bin/python benchmarks/notebook_latency.py --quick    # seconds; proves the harness, figures mean little

1. ``%load_ext lihil_notebook`` to listening (target <= 1 s): a fresh kernel per sample; timed inside the kernel
   around the magic (first imports included), then the port is connected to, to prove it listens.
2. ``%%ws_route`` cell to the first successful handshake (target <= 50 ms median): this process sends the cell to
   the kernel and, from the moment it sends it, dials the route until a handshake succeeds. Two cases: a new path
   (404 until mounted) and a redefinition (the handler reports its version; the old one is still served until then).
3. A ``Session`` round trip against a bare ``websockets`` client on the same route (target <= 1.5x): inside one
   kernel, batches of send+receive alternate between them, each batch timed; each round gives a ratio and the table
   shows the median ratio with the middle half of the rounds (p25-p75) and their whole range. "bare" is
   ``websockets`` with its defaults (permessage-deflate negotiated, as our server offers it); "bare, no
   compression" is the like-for-like reference (a ``Session`` never compresses), alternated in the same rounds.
   Blocking API against ``websockets.sync.client`` (which writes from the cell's thread and reads on a thread of its
   own); the awaitable API (top-level ``await`` in a cell) against ``websockets.asyncio.client`` running on the
   kernel's own loop. A ``Session``'s connection belongs to the playground's server loop alone (one owner), so each
   of its round trips crosses from the cell to that loop and back.
4. The same awaited round trip with a playground forced in-process (``Playground(transport="in-process")``): the app
   called on the kernel's own loop with no socket, as in JupyterLite; reported beside the TCP one.

The load average is printed before and after: on a busy machine the figures mean little.

Everything is bounded: fixed counts, a timeout on every wait, every kernel shut down at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import start_new_kernel
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

#: Seconds any single kernel request may take.
REQUEST_TIMEOUT = 120.0
#: Seconds to keep dialling a route before calling the sample a failure.
HANDSHAKE_DEADLINE = 5.0


@dataclass(frozen=True)
class Workload:
    load_samples: int = 5  # fresh kernels for %load_ext
    route_samples: int = 30  # %%ws_route cells per case
    rounds: int = 31  # alternating batches for the round-trip comparison
    batch: int = 200  # round trips per batch


QUICK = Workload(load_samples=1, route_samples=3, rounds=3, batch=50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny workload: checks the harness only")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help=f"alternating round-trip batches (default {Workload.rounds}; more: a steadier median)")
    args = parser.parse_args()
    work = QUICK if args.quick else Workload()
    if args.rounds is not None:
        if args.rounds < 2:
            parser.error(f"--rounds: expected at least 2 rounds, got {args.rounds}")
        work = replace(work, rounds=args.rounds)

    results: dict[str, Any] = {"load_before": os.getloadavg()[0], "load_ext": measure_load_ext(work)}
    with kernel() as client:
        run(client, "%load_ext lihil_notebook\nfrom lihil_notebook import playground\npg = playground()")
        port = int(run(client, "print(pg.port)"))
        # The token is on by default: the dialler below sends it as any client would (it is printed to this
        # process only, never shown).
        auth = {"Authorization": "Bearer " + run(client, "print(pg.token)").strip()}
        results["route_new"] = measure_new_routes(client, port, work, auth)
        results["route_redefined"] = measure_redefinitions(client, port, work, auth)
        results["round_trip"] = json.loads(run(client, round_trip_cell(work)))
        results["in_process"] = measure_in_process(client, work)
    results["load_after"] = os.getloadavg()[0]
    report(results, work)
    if args.json:
        print(json.dumps(results, indent=2))


# --- 1. %load_ext to listening -----------------------------------------------------------------------------------

LOAD_CELL = """
import time as _t, socket as _s
_start = _t.perf_counter()
%load_ext lihil_notebook
_elapsed = _t.perf_counter() - _start
from lihil_notebook import playground as _pg
with _s.create_connection(("127.0.0.1", _pg().port), timeout=5):
    pass  # it listens
print(_elapsed)
"""


def measure_load_ext(work: Workload) -> dict[str, Any]:
    inside, wall = [], []
    for _ in range(work.load_samples):
        with kernel() as client:
            started = time.perf_counter()
            inside.append(float(run(client, LOAD_CELL)))
            wall.append(time.perf_counter() - started)
    return {"in_kernel_s": inside, "request_to_reply_s": wall}


# --- 2. %%ws_route to the first handshake ------------------------------------------------------------------------

ROUTE_CELL = """%%ws_route {path}
from lihil import WebSocket

async def versioned(ws: WebSocket, room: str):
    await ws.accept()
    await ws.send_text("{version}")
"""


def measure_new_routes(client: BlockingKernelClient, port: int, work: Workload, auth: dict[str, str]) -> list[float]:
    samples = []
    for i in range(work.route_samples):
        path = f"/new{i}/{{room}}"
        started = time.perf_counter()
        msg_id = client.execute(ROUTE_CELL.format(path=path, version=i))
        first_handshake(f"ws://127.0.0.1:{port}/new{i}/x", expect=str(i), headers=auth)
        samples.append(time.perf_counter() - started)
        wait_reply(client, msg_id)
    return samples


def measure_redefinitions(client: BlockingKernelClient, port: int, work: Workload,
                          auth: dict[str, str]) -> list[float]:
    run(client, ROUTE_CELL.format(path="/again/{room}", version="v0"))
    samples = []
    for i in range(work.route_samples):
        started = time.perf_counter()
        msg_id = client.execute(ROUTE_CELL.format(path="/again/{room}", version=f"v{i + 1}"))
        first_handshake(f"ws://127.0.0.1:{port}/again/x", expect=f"v{i + 1}", headers=auth)
        samples.append(time.perf_counter() - started)
        wait_reply(client, msg_id)
    return samples


def first_handshake(url: str, expect: str, headers: dict[str, str]) -> None:
    """Dial ``url`` until a connection's first message is ``expect`` (the new handler answered)."""
    deadline = time.perf_counter() + HANDSHAKE_DEADLINE
    while time.perf_counter() < deadline:
        try:
            with connect(url, additional_headers=headers, proxy=None, open_timeout=HANDSHAKE_DEADLINE,
                         compression=None) as ws:
                if ws.recv(timeout=HANDSHAKE_DEADLINE) == expect:
                    return
        except InvalidStatus:  # 404: not mounted yet
            pass
        time.sleep(0.0005)  # pacing, so the dialling does not starve the kernel it measures
    raise TimeoutError(f"no handshake with {url} answering {expect!r} within {HANDSHAKE_DEADLINE} s")


# --- 3. Session round trip vs a bare websockets client -------------------------------------------------------------


def round_trip_cell(work: Workload) -> str:
    return f"""
import json, time, statistics
import websockets.asyncio.client
from websockets.sync.client import connect
from lihil import WebSocket

async def echo(ws: WebSocket):
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)

pg.mount_ws("/bench-echo", echo)
url = pg.ws_url("/bench-echo")
session = pg.connect("/bench-echo")
bare_async = await websockets.asyncio.client.connect(url, proxy=None)
plain_async = await websockets.asyncio.client.connect(url, proxy=None, compression=None)

def timed_sync(send, receive):
    started = time.perf_counter()
    for _ in range({work.batch}):
        send("x"); receive()
    return (time.perf_counter() - started) / {work.batch}

async def timed_async(send, receive):
    started = time.perf_counter()
    for _ in range({work.batch}):
        await send("x"); await receive()
    return (time.perf_counter() - started) / {work.batch}

sync = {{"session": [], "bare": [], "plain": []}}
aio = {{"session": [], "bare": [], "plain": []}}
with connect(url, proxy=None) as bare, connect(url, proxy=None, compression=None) as plain:
    for round_ in range({work.rounds}):
        pairs = [("session", session.send, session.receive), ("bare", bare.send, bare.recv),
                 ("plain", plain.send, plain.recv)]
        for name, send, receive in (pairs if round_ % 2 else pairs[::-1]):
            sync[name].append(timed_sync(send, receive))
        pairs = [("session", session.asend, session.areceive), ("bare", bare_async.send, bare_async.recv),
                 ("plain", plain_async.send, plain_async.recv)]
        for name, send, receive in (pairs if round_ % 2 else pairs[::-1]):
            aio[name].append(await timed_async(send, receive))
await bare_async.close()
await plain_async.close()
session.close()
print(json.dumps({{"sync": sync, "async": aio}}))
"""


# --- 4. the in-process transport's round trip (issue 23) ---------------------------------------------------------


def measure_in_process(client: BlockingKernelClient, work: Workload) -> list[float]:
    """Seconds per awaited ``Session`` round trip with a second playground forced in-process in the same kernel:
    the app called on the kernel's own loop, no socket (JupyterLite's only transport), for the table beside the
    TCP Session's. In a kernel cell the blocking calls would raise (the cell runs on the loop they need), so only
    the ``await`` API is measured."""
    cell = f"""
import json, time
from lihil_notebook import Playground
from lihil import WebSocket

async def echo(ws: WebSocket):
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)

local = Playground(transport="in-process")
local.start()
local.mount_ws("/bench-echo", echo)
local_session = await local.aconnect("/bench-echo")
batches = []
for _ in range({work.rounds}):
    started = time.perf_counter()
    for _ in range({work.batch}):
        await local_session.asend("x"); await local_session.areceive()
    batches.append((time.perf_counter() - started) / {work.batch})
await local_session.aclose()
local.stop()
print(json.dumps(batches))
"""
    return list(json.loads(run(client, cell)))


# --- kernels and reporting -------------------------------------------------------------------------------------


@contextmanager
def kernel() -> Iterator[BlockingKernelClient]:
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=REQUEST_TIMEOUT)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client: BlockingKernelClient, code: str) -> str:
    """Execute ``code``; return what it printed; raise with the kernel's error if it failed."""
    printed: list[str] = []

    def keep(message: dict[str, Any]) -> None:
        if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
            printed.append(message["content"]["text"])

    reply = client.execute_interactive(code, timeout=REQUEST_TIMEOUT, output_hook=keep)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return "".join(printed).strip()


def wait_reply(client: BlockingKernelClient, msg_id: str) -> None:
    deadline = time.perf_counter() + REQUEST_TIMEOUT
    while time.perf_counter() < deadline:
        reply = client.get_shell_msg(timeout=REQUEST_TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"kernel error: {reply['content'].get('evalue')}")
            return
    raise TimeoutError("no execute_reply")


def report(results: dict[str, Any], work: Workload) -> None:
    ms = 1000.0
    load = results["load_ext"]
    rows = [
        ("%load_ext -> listening (in kernel)", statistics.median(load["in_kernel_s"]) * ms, "ms", "<= 1000 ms"),
        ("%load_ext request -> reply (client)", statistics.median(load["request_to_reply_s"]) * ms, "ms", ""),
        ("%%ws_route new path -> 1st handshake", statistics.median(results["route_new"]) * ms, "ms", "<= 50 ms"),
        ("%%ws_route redefined -> 1st handshake", statistics.median(results["route_redefined"]) * ms, "ms",
         "<= 50 ms"),
    ]
    for api in ("sync", "async"):
        figures = results["round_trip"][api]
        rows.append((f"round trip, {api}: Session", statistics.median(figures["session"]) * 1e6, "µs", ""))
        for ref, label in (("bare", "bare"), ("plain", "bare, no compression")):
            ratios = [s / b for s, b in zip(figures["session"], figures[ref], strict=True)]
            ordered = sorted(ratios)
            p25, p75 = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
            rows.append((f"round trip, {api}: {label} websockets", statistics.median(figures[ref]) * 1e6, "µs", ""))
            rows.append((f"round trip, {api}: Session / {label} (median)", statistics.median(ratios), "x",
                         f"<= 1.5x  (p25-p75 {p25:.2f}-{p75:.2f}, rounds {min(ratios):.2f}-{max(ratios):.2f})"))
    rows.append(("round trip, async: Session in-process (no socket)", statistics.median(results["in_process"]) * 1e6,
                 "µs", "the transport JupyterLite uses; beside the TCP Session above"))
    print(f"notebook latency, {work}\nPython {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{results['load_before']:.2f} before, {results['load_after']:.2f} after\n")
    width = max(len(r[0]) for r in rows)
    for label, value, unit, target in rows:
        print(f"{label:<{width}}  {value:9.2f} {unit:<3} {target}")


if __name__ == "__main__":
    main()
