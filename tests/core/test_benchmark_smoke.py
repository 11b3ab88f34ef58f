"""The benchmark runs end to end (tiny counts): it prints the ratio table, not timings to assert on."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

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


def run_in_own_session(argv: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run `argv` in its own process group, so a timeout also ends the server processes it started."""
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def test_quick_benchmark_prints_ratio_table() -> None:
    result = run_in_own_session([sys.executable, str(BENCHMARK), "--quick"], timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("ratios to Starlette" in line for line in lines), result.stdout
    for impl in WS_IMPLS:
        for label in METRIC_LABELS:
            row = [line for line in lines if line.startswith(impl + " ") and label in line]
            assert len(row) == 1, f"no single row for {impl} / {label}:\n{result.stdout}"
            # Starlette's raw figure, then one ratio per lihil server (plain, seed).
            assert re.search(rf"\d+\.\d\s+{RATIO}\s+{RATIO}\s*$", row[0]), row[0]
    assert any(line.startswith("targets:") for line in lines)
