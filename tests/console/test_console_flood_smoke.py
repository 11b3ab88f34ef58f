"""The console flood benchmark runs end to end in a real kernel (tiny counts): a table, not timings to assert."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "console_flood.py"
RUN_TIMEOUT = 120.0


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
    rows = {
        line.split()[0]: line
        for line in stdout.splitlines()
        if line.split()[:1] in (["bare"], ["console"], ["naive"])
    }
    assert set(rows) == {"bare", "console", "naive"}, stdout
    assert re.search(r"naive / console at 200 messages: comm messages \d+x, bytes \d+x", stdout), stdout
