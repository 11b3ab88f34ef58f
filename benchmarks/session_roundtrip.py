"""``Session`` round trip against a bare ``websockets`` client, in this process: no kernel around it.

    .venv/bin/python benchmarks/session_roundtrip.py

The same comparison as the blocking row of ``notebook_latency.py`` (alternating batches, the median ratio and the
rounds' range), without a Jupyter kernel: set beside that benchmark, it tells the cost of the thread crossing
itself from what the kernel's own threads add to it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from websockets.sync.client import connect

from lihil import WebSocket
from lihil_notebook.playground import Playground


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


def batch(send: Callable[[str], object], receive: Callable[[], object], size: int) -> float:
    """Microseconds per round trip over ``size`` round trips."""
    started = time.perf_counter()
    for _ in range(size):
        send("x")
        receive()
    return (time.perf_counter() - started) / size * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    pg = Playground()
    pg.start()
    pg.mount_ws("/echo", echo)
    session = pg.connect("/echo")
    try:
        with connect(pg.ws_url("/echo"), proxy=None) as bare:
            ours, theirs, ratios = [], [], []
            for _ in range(args.rounds):
                a = batch(session.send, session.receive, args.batch)
                b = batch(bare.send, bare.recv, args.batch)
                ours.append(a)
                theirs.append(b)
                ratios.append(a / b)
    finally:
        session.close()
        pg.stop()
    print(f"Session {statistics.median(ours):.1f} µs, bare {statistics.median(theirs):.1f} µs per round trip; "
          f"Session / bare {statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
