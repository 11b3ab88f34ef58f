"""Console flood: a route sends N messages as fast as it can to a console session, in a real Jupyter kernel.

    .venv/bin/python benchmarks/console_flood.py            # 10,000 messages, reference at 1,000 (~1 min)
    .venv/bin/python benchmarks/console_flood.py --quick    # seconds; proves the harness works

A kernel is started with jupyter_client; everything the kernel publishes on IOPub is recorded, so the widget
traffic counted here is exactly what a front end would receive (comm messages and their bytes, JSON content
plus binary buffers). Per run:

* ``log``: seconds from sending "go" until all N messages are in the session's ``log``;
* ``view``: seconds until the last message is in the widget state (what the page shows);
* ``updates`` / ``bytes``: comm messages sent and their size, from "go" until the traffic stops;
* ``cell``: round-trip time of trivial cells (``1 + 1``) executed one after another from "go" until the
  last message is on screen (how many ran, median and max) — the kernel stays usable if these stay short
  (target: under 100 ms).

Three runs side by side, on the same flood:

* ``bare``     — a session with no view: the cost of the flood itself (the websockets client, the server);
* ``console``  — the console (UI pump at 15 Hz, incremental chunked log of the last 500 entries);
* ``naive``    — the reference a console must not be: an HTML widget re-rendered with the last 500 entries on
  every message, from the server thread. Its traffic grows with N × the view size, so it runs at a smaller N.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

KERNEL_SETUP = textwrap.dedent(
    """\
    %load_ext lihil_notebook
    import asyncio, collections, json, threading, time
    import ipywidgets
    from lihil import WebSocket
    from lihil.vendors import WebSocketDisconnect
    from lihil_notebook import console, playground
    from lihil_notebook.ui.console.log_view import render_entry

    async def flood(ws: WebSocket, count: int, rate: float = 0.0) -> None:
        # rate > 0: paced at `rate` messages a second (on schedule, however long each send takes)
        await ws.accept()
        await ws.receive_text()
        loop = asyncio.get_running_loop()
        start = loop.time()
        for number in range(count):
            if rate and (delay := start + number / rate - loop.time()) > 0:
                await asyncio.sleep(delay)
            await ws.send_text(f"message {number:05d} " + "x" * 40)
        try:
            await ws.receive_text()
        except WebSocketDisconnect:
            pass

    playground().mount_ws("/flood", flood)

    class FloodRun:
        '''One flood into one view; times are perf_counter seconds, measured in the kernel.'''

        def __init__(self, view: str, count: int, open_timeout: float, rate: float = 0.0) -> None:
            self.count, self.received, self.t_go = count, 0, 0.0
            self.t_log = self.t_view = None
            last = f"message {count - 1:05d}"
            if view == "console":
                self.widget = console(f"/flood?count={count}&rate={rate}", connect=True, max_entries=500)
                panel = self.widget.panels[0]
                self.session = panel.session
                self.shown = lambda: bool(panel.log_view.rows) and last in panel.log_view.rows[-1]
            elif view == "bare":  # no view at all: what the flood itself costs the kernel
                self.widget = None
                self.session = playground().connect_nowait(f"/flood?count={count}&rate={rate}")
                self.shown = lambda: self.t_log is not None
            else:
                self.widget = ipywidgets.HTML()
                rows = collections.deque(maxlen=500)
                self.session = playground().connect_nowait(f"/flood?count={count}&rate={rate}")
                def rerender(entry):  # the whole visible log, on every message
                    rows.append(render_entry(entry))
                    self.widget.value = "".join(rows)
                self.session.subscribe(rerender)
                self.shown = lambda: last in self.widget.value[-400:]
            self.session.subscribe(self._count)
            deadline = time.monotonic() + open_timeout
            while self.session.state != "open":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the flood session did not open: {self.session.log}")
                time.sleep(0.005)

        def _count(self, entry) -> None:
            if entry.direction == "received":
                self.received += 1
                if self.received == self.count:
                    self.t_log = time.perf_counter()

        def go(self) -> None:
            self.t_go, self.wall_go = time.perf_counter(), time.time()
            self.session.send_nowait("go")
            threading.Thread(target=self._watch_view, daemon=True).start()

        def _watch_view(self) -> None:
            deadline = time.monotonic() + 600
            while not self.shown() and time.monotonic() < deadline:
                time.sleep(0.002)
            self.t_view = time.perf_counter()

        def report(self, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while (self.t_log is None or self.t_view is None) and time.monotonic() < deadline:
                time.sleep(0.01)
            stats = self.widget.stats if hasattr(self.widget, "stats") else {}
            self.session.close(1000, "done")
            print(json.dumps({
                "log": None if self.t_log is None else self.t_log - self.t_go,
                "view": None if self.t_view is None else self.t_view - self.t_go,
                "wall_go": self.wall_go, "received": self.received, "stats": stats,
            }))
    """
)


@dataclass(frozen=True)
class Workload:
    """How much the benchmark does; every wait is bounded by ``timeout`` seconds."""

    messages: int = 10_000
    reference_messages: int = 1_000
    paced_messages: int = 5_000  # at paced_rate: what the "1,000 messages/s" means
    paced_rate: float = 1_000.0
    trivial_cells: int = 20  # at least this many, and for at least `cell_window` seconds after "go"
    cell_window: float = 1.0
    timeout: float = 180.0
    quiet_period: float = 0.5  # no comm traffic for this long = the view has settled


@dataclass
class FloodResult:
    view: str
    messages: int
    log_s: float | None
    view_s: float | None
    updates: int
    comm_bytes: int
    cell_ms: list[float]  # the trivial cells that started before the last message was on screen
    stats: dict[str, int] = field(default_factory=dict)


class Kernel:
    """A real kernel; IOPub is read by a background thread and every message is kept with its arrival time."""

    def __init__(self, manager: KernelManager, client: BlockingKernelClient) -> None:
        self.manager, self.client = manager, client
        self.iopub: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._reader = threading.Thread(target=self._read_iopub, daemon=True)
        self._reader.start()

    def run(self, code: str, *, timeout: float) -> str:
        """Execute ``code``; return its stdout. Raise with the traceback if it failed."""
        msg_id = self.client.execute(code, store_history=False)
        reply = self._reply(msg_id, timeout)
        deadline = time.monotonic() + timeout
        while not self._idle_seen(msg_id):  # outputs come on IOPub, the reply on shell: wait for both
            if time.monotonic() > deadline:
                raise TimeoutError(f"no idle status for {code[:60]!r}")
            time.sleep(0.002)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(
                f"cell failed: {code[:80]!r}\n" + "\n".join(reply["content"].get("traceback", []))
            )
        return "".join(
            m["content"]["text"]
            for _, m in self._messages_for(msg_id)
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )

    def time_trivial_cell(self, *, timeout: float) -> tuple[float, float]:
        """(wall-clock start, milliseconds from sending ``1 + 1`` until its execute_reply)."""
        wall, started = time.time(), time.perf_counter()
        self._reply(self.client.execute("1 + 1", store_history=False), timeout)
        return wall, (time.perf_counter() - started) * 1000

    def comm_traffic_since(self, mark: int) -> tuple[int, int]:
        """(comm messages, bytes) published since position ``mark`` of the IOPub record."""
        with self._lock:
            messages = [m for _, m in self.iopub[mark:] if m["msg_type"].startswith("comm_")]
        size = sum(
            len(json.dumps(m["content"])) + sum(len(b) for b in m.get("buffers") or []) for m in messages
        )
        return len(messages), size

    def wait_quiet(self, period: float, timeout: float) -> None:
        """Wait until no comm message has arrived for ``period`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = max((t for t, m in self.iopub if m["msg_type"].startswith("comm_")), default=0.0)
            if time.monotonic() - last >= period:
                return
            time.sleep(period / 5)
        raise TimeoutError("the widget traffic did not settle")

    def mark(self) -> int:
        with self._lock:
            return len(self.iopub)

    def stop(self, *, reader_timeout: float = 2.0) -> None:
        self._stopping.set()
        self._reader.join(reader_timeout)  # before the sockets close under it
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)

    def _reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no execute_reply for {msg_id} within {timeout} s")
            try:
                reply: dict[str, Any] = self.client.get_shell_msg(timeout=remaining)
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def _read_iopub(self) -> None:
        while not self._stopping.is_set():
            try:
                message = self.client.get_iopub_msg(timeout=0.2)
            except (queue.Empty, RuntimeError, ValueError):
                continue
            with self._lock:
                self.iopub.append((time.monotonic(), message))

    def _messages_for(self, msg_id: str) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return [(t, m) for t, m in self.iopub if m["parent_header"].get("msg_id") == msg_id]

    def _idle_seen(self, msg_id: str) -> bool:
        return any(
            m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
            for _, m in self._messages_for(msg_id)
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so `finally` shuts the kernel down
    work = (Workload(messages=500, reference_messages=200, paced_messages=200, trivial_cells=5) if args.quick
            else Workload())
    with tempfile.TemporaryDirectory() as cwd:
        manager, client = start_new_kernel(kernel_name="python3", cwd=cwd)
        kernel = Kernel(manager, client)
        try:
            kernel.run(KERNEL_SETUP, timeout=work.timeout)
            results = [
                flood(kernel, "bare", work.messages, work),
                flood(kernel, "console", work.messages, work),
                flood(kernel, "console", work.paced_messages, work, rate=work.paced_rate),
                flood(kernel, "console", work.reference_messages, work),
                flood(kernel, "naive", work.reference_messages, work),
            ]
        finally:
            kernel.stop()
    print(_table(results))
    return 0


def flood(kernel: Kernel, view: str, messages: int, work: Workload, *, rate: float = 0.0) -> FloodResult:
    """One flood of ``messages`` into ``view`` (as fast as possible, or paced at ``rate`` per second); trivial
    cells are timed while it runs."""
    kernel.run(f"run = FloodRun({view!r}, {messages}, open_timeout=10, rate={rate})", timeout=work.timeout)
    kernel.wait_quiet(work.quiet_period, work.timeout)
    mark = kernel.mark()
    kernel.run("run.go()", timeout=work.timeout)
    cells: list[tuple[float, float]] = []
    window_ends = time.monotonic() + work.cell_window
    while len(cells) < work.trivial_cells or time.monotonic() < window_ends:
        cells.append(kernel.time_trivial_cell(timeout=work.timeout))
    report = json.loads(kernel.run(f"run.report(timeout={work.timeout})", timeout=work.timeout + 10))
    shown_at = report["wall_go"] + (report["view"] or work.timeout)
    cell_ms = [ms for wall, ms in cells if wall < shown_at]
    kernel.wait_quiet(work.quiet_period, work.timeout)
    updates, size = kernel.comm_traffic_since(mark)
    if report["received"] != messages:
        raise RuntimeError(f"{view}: {report['received']} of {messages} messages arrived")
    label = f"{view}@{rate:g}/s" if rate else view
    return FloodResult(label, messages, report["log"], report["view"], updates, size, cell_ms, report["stats"])


def _table(results: list[FloodResult]) -> str:
    lines = [
        "view            messages   log s   view s   comm msgs   comm MiB   cells: n, ms median / max   console stats",
        "-" * 110,
    ]
    for r in results:
        cell = (
            f"{len(r.cell_ms):3}, {statistics.median(r.cell_ms):5.1f} / {max(r.cell_ms):5.1f}"
            if r.cell_ms
            else "-"
        )
        log = "-" if r.log_s is None else f"{r.log_s:6.2f}"
        shown = "-" if r.view_s is None else f"{r.view_s:6.2f}"
        lines.append(
            f"{r.view:14} {r.messages:9,} {log:>7} {shown:>8} {r.updates:11,} {r.comm_bytes / 2**20:10.2f}"
            f"   {cell:>24}   {r.stats or ''}"
        )
    same = [r for r in results if r.messages == results[-1].messages and "@" not in r.view]
    if len(same) == 2:
        console_run, naive_run = same
        lines.append(
            f"naive / console at {naive_run.messages:,} messages: comm messages "
            f"{naive_run.updates / max(console_run.updates, 1):.0f}x, bytes "
            f"{naive_run.comm_bytes / max(console_run.comm_bytes, 1):.0f}x"
        )
    return "\n".join(lines)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small counts: checks the harness, not the speed"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
