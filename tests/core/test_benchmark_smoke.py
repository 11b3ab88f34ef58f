"""The benchmark runs end to end (tiny counts): it prints the ratio table, not timings to assert on — but the figures
must be sane: positive and finite, and every ratio the two raw figures divided."""

import json
import math
import re
import sys
from pathlib import Path

from benchmarks.bench_support import run_in_own_session

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "ws_echo.py"
RUN_TIMEOUT = 120.0
WS_IMPLS = ("websockets-sansio", "websockets", "wsproto")
METRIC_LABELS = (
    "server CPU µs / message",
    "messages / s",
    "handshakes / s",
    "server CPU µs / handshake",
    "server RSS KiB / idle connection",
)
RATIO = r"\d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\)"


def check_figures(path: Path, kinds: tuple[str, ...]) -> None:
    data = json.loads(path.read_text())
    assert tuple(data["suite"]) == kinds
    for impl, per_kind in data["results"].items():
        base = per_kind[kinds[0]]
        for metric, figures in base.items():
            # Times and rates are positive; memory growth over a few idle connections may round to 0.
            sane = (lambda v: math.isfinite(v)) if metric.startswith("rss") else (lambda v: math.isfinite(v) and v > 0)
            assert len(figures["raw"]) == data["rounds"] and figures["ratio"] == []
            assert all(sane(v) for v in figures["raw"]), (impl, metric, figures)
            for kind in kinds[1:]:
                theirs = per_kind[kind][metric]
                assert all(sane(v) for v in theirs["raw"]), (impl, kind, metric, theirs)
                for mine, b, ratio in zip(theirs["raw"], figures["raw"], theirs["ratio"], strict=True):
                    assert (math.isnan(ratio) and b == 0) or ratio == mine / b, (impl, kind, metric)


def test_quick_benchmark_prints_ratio_table(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    result = run_in_own_session([sys.executable, str(BENCHMARK), "--quick", "--json", str(figures)],
                                timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("ratios to starlette" in line for line in lines), result.stdout
    for impl in WS_IMPLS:
        for label in METRIC_LABELS:
            row = [line for line in lines if line.startswith(impl + " ") and label in line]
            assert len(row) == 1, f"no single row for {impl} / {label}:\n{result.stdout}"
            # Starlette's raw figure, then one ratio per lihil server (plain, seed).
            assert re.search(rf"\d+\.\d\s+{RATIO}\s+{RATIO}\s*$", row[0]), row[0]
    assert any(line.startswith("targets:") for line in lines)
    check_figures(figures, ("starlette", "lihil-plain", "lihil-seed"))


def test_quick_edge_benchmark_measures_edge_on_against_off(tmp_path: Path) -> None:
    figures = tmp_path / "edge.json"
    result = run_in_own_session([sys.executable, str(BENCHMARK), "--quick", "--edge", "--json", str(figures)],
                                timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert "the playground's edge on vs off" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("playground ")]
    assert len(rows) == len(METRIC_LABELS) and all(re.search(rf"{RATIO}\s+{RATIO}\s*$", r) for r in rows), rows
    check_figures(figures, ("edge-off", "edge-on", "edge-token"))
