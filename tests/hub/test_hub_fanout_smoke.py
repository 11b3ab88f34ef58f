"""benchmarks/hub_fanout.py runs end to end at a tiny size and its figures are sane (not timings to assert on)."""

import json
import math
import os
import re
import statistics
import sys
from pathlib import Path

import pytest

from benchmarks.bench_support import run_in_own_session

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "hub_fanout.py"
RUN_TIMEOUT = 180.0
METRICS = ("deliveries_per_s", "cpu_us_per_delivery")


def test_quick_fanout_benchmark_reports_sane_figures(tmp_path: Path) -> None:
    out = tmp_path / "fanout.json"
    result = run_in_own_session([sys.executable, str(BENCHMARK), "--quick", "--rounds", "2", "--json", str(out)],
                                timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    rounds = report["rounds"]
    assert len(rounds) == 2
    kinds = set(rounds[0])
    assert {"starlette", "hub"} <= kinds
    if "hub-redis" not in kinds:
        assert "hub-redis skipped: redis-server is not installed" in result.stderr
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but the benchmark ran without redis-server")
    for figures in rounds:
        for kind in kinds:
            for key in METRICS:
                value = figures[kind][key]
                assert math.isfinite(value) and value > 0, (kind, key, value)
    for name, ratio in report["ratios"].items():
        top, rest = name.split("/", 1)
        bottom, key = rest.split(" ")
        expected = [r[top][key] / r[bottom][key] for r in rounds]
        assert ratio["per_round"] == pytest.approx(expected)  # each ratio is the two figures divided
        assert ratio["median"] == pytest.approx(statistics.median(expected))
        assert ratio["min"] == pytest.approx(min(expected)) and ratio["max"] == pytest.approx(max(expected))
    table = result.stdout
    assert "hub / starlette" in table and "target: hub / starlette deliveries/s >= 0.90x" in table
    for label in ("deliveries / s", "server CPU µs / delivery"):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d.]+.*\d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\)", table, re.M), table
