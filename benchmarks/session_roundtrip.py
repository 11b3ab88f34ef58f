"""``Session`` round trip against a bare ``websockets`` client, in this process: no kernel around it.

    .venv/bin/python benchmarks/session_roundtrip.py

The same comparison as the blocking rows of ``notebook_latency.py`` (alternating batches; the median ratio, the
middle half of the rounds and their whole range), without a Jupyter kernel: set beside that benchmark, it tells the
cost of the crossing to the session's owner loop from what the kernel's own threads add to it. "bare" negotiates
permessage-deflate (websockets' default, which the server offers); "no compression" is like for like.
"""

from __future__ import annotations

import argparse
import os
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


def spread(ratios: list[float]) -> str:
    ordered = sorted(ratios)
    p25, p75 = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
    return (f"{statistics.median(ratios):.2f}x (p25-p75 {p25:.2f}-{p75:.2f}, rounds {ordered[0]:.2f}-"
            f"{ordered[-1]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    pg = Playground()
    pg.start()
    pg.mount_ws("/echo", echo)
    session = pg.connect("/echo")
    times: dict[str, list[float]] = {"session": [], "bare": [], "plain": []}
    try:
        with connect(pg.ws_url("/echo"), proxy=None) as bare, \
                connect(pg.ws_url("/echo"), proxy=None, compression=None) as plain:
            clients = [("session", session.send, session.receive), ("bare", bare.send, bare.recv),
                       ("plain", plain.send, plain.recv)]
            for round_ in range(args.rounds):
                for name, send, receive in clients if round_ % 2 else clients[::-1]:
                    times[name].append(batch(send, receive, args.batch))
    finally:
        session.close()
        pg.stop()
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; µs per round trip: Session "
          f"{medians['session']:.1f}, bare {medians['bare']:.1f}, no compression {medians['plain']:.1f}")
    for ref, label in (("bare", "bare"), ("plain", "bare, no compression")):
        ratios = [s / b for s, b in zip(times["session"], times[ref], strict=True)]
        print(f"Session / {label}: {spread(ratios)}")


if __name__ == "__main__":
    main()
