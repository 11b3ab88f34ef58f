"""The console flood benchmark runs end to end in a real kernel (tiny counts): a table, not timings to assert."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "console_flood.py"
RUN_TIMEOUT = 120.0
ROW = re.compile(r"^(?P<view>(?:bare|console|naive)\S*)\s+(?P<messages>\d+)\s+\S+\s+\S+\s+(?P<comm>\d+)\s+"
                 r"(?P<mib>[\d.]+)(?:\s+\d+,\s+(?P<median>[\d.]+)\s+/\s+(?P<max>[\d.]+))?")


def test_quick_flood_benchmark_prints_its_table() -> None:
    with subprocess.Popen(
        [sys.executable, str(BENCHMARK), "--quick"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        try:
            stdout, stderr = run.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            run.terminate()  # the benchmark shuts its kernel down on SIGTERM
            run.communicate(timeout=RUN_TIMEOUT)
            raise
    assert run.returncode == 0, stderr
    rows = [ROW.match(line) for line in stdout.splitlines()]
    figures = [(m["view"], int(m["messages"]), int(m["comm"]), float(m["mib"]), float(m["median"] or "nan"),
                float(m["max"] or "nan")) for m in rows if m]
    assert {view for view, *_ in figures} >= {"bare", "console", "naive"}, stdout  # (and console@RATE, paced)
    for view, messages, comm, mib, median, worst in figures:
        # Sane: counts positive, times positive and in order, a view that renders sends something, bare sends nothing.
        assert messages > 0 and (math.isnan(median) or 0 < median <= worst), (view, stdout)  # "-": no cells run
        assert (comm == 0 and mib == 0) if view == "bare" else comm > 0 and mib > 0, (view, stdout)
    ratio = re.search(r"naive / console at (\d+) messages: comm messages (\d+)x, bytes (\d+)x", stdout)
    assert ratio, stdout
    at = int(ratio[1])
    naive = next((f for f in figures if f[0] == "naive" and f[1] == at), None)
    plain = next((f for f in figures if f[0] == "console" and f[1] == at), None)
    assert naive and plain, stdout
    naive_comm, naive_mib, console_comm, console_mib = naive[2], naive[3], plain[2], plain[3]
    assert int(ratio[2]) == round(naive_comm / console_comm), stdout  # the ratio is the two figures divided
    assert abs(int(ratio[3]) - naive_mib / console_mib) <= max(1.0, 0.1 * int(ratio[3])), stdout  # MiB are rounded
