"""What the benchmarks share: server processes that report their ports, a load-generator process spoken to in JSON
lines, server CPU time read over a side socket, and stopping every process by its pid.

A benchmark script imports this as ``bench_support`` (its folder is on ``sys.path`` when it runs); the tests that
run the benchmarks import it as ``benchmarks.bench_support``. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

STOP_TIMEOUT = 5.0
"""Seconds a process may take to exit after SIGTERM (then SIGKILL), or after its input ends."""

W = TypeVar("W", bound="DataclassInstance")


def run_child(args: argparse.Namespace, serve: Callable[[], None],
              client_loop: Callable[[], Coroutine[Any, Any, None]]) -> bool:
    """Be a server (``--serve``, as :func:`servers` starts one) or the load generator (``--client``, as
    :func:`client_process` starts it), and say True; False in the parent process, which runs the measurements."""
    if args.serve:
        serve()
        return True
    if args.client:
        asyncio.run(client_loop())
        return True
    return False


def overridden(work: W, **values: Any) -> W:
    """The workload ``work`` (a dataclass) with the fields given a value on the command line (None: keep)."""
    return dataclasses.replace(work, **{name: value for name, value in values.items() if value})


@dataclass
class Server:
    kind: str
    pid: int
    port: int
    cpu_port: int  # answers each connection with the server process's CPU seconds


@contextmanager
def servers(argvs: dict[str, list[str]], timeout: float, what: str = "") -> Iterator[dict[str, Server]]:
    """Start one process per kind (``argvs[kind]``), each printing ``PORTS <port> <cpu_port>``; stop each by its pid
    on the way out. ``what`` names the run in the error when a server does not report its ports."""
    procs: list[subprocess.Popen[str]] = []
    try:
        started = {}
        for argv in argvs.values():
            procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
        for kind, proc in zip(argvs, procs, strict=True):
            line = read_line(proc, timeout)
            if not line.startswith("PORTS "):
                raise RuntimeError(f"{kind} server{what} did not report its ports: {line!r}")
            port, cpu_port = map(int, line.split()[1:])
            started[kind] = Server(kind, proc.pid, port, cpu_port)
        yield started
    finally:
        for proc in procs:
            stop(proc, timeout=STOP_TIMEOUT)


def stop(proc: subprocess.Popen[Any], *, timeout: float) -> None:
    """SIGTERM by pid, SIGKILL if it has not exited within ``timeout``; then close its stdout pipe."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    if proc.stdout:
        proc.stdout.close()


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no answer from pid {proc.pid} within {timeout} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"pid {proc.pid} exited (code {proc.poll()})")
    return line.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the load generator's process ---------------------------------------------------------------------------


class ClientProcess:
    """The load generator, in its own process: one JSON command line in, one JSON result line out."""

    def __init__(self, proc: subprocess.Popen[str], timeout: float) -> None:
        self.proc, self.timeout = proc, timeout

    def ask(self, command: dict[str, Any], against: str) -> dict[str, float]:
        """Send ``command``; its result, or RuntimeError naming the op and ``against`` (the server) on an error."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        reply: dict[str, float] = json.loads(read_line(self.proc, self.timeout))
        if "error" in reply:
            raise RuntimeError(f"client failed on {command['op']} against {against}: {reply['error']}")
        return reply


@contextmanager
def client_process(script: str, timeout: float) -> Iterator[ClientProcess]:
    """``python script --client``; it exits on end of input, else it is stopped by its pid."""
    proc = subprocess.Popen([sys.executable, script, "--client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        yield ClientProcess(proc, timeout)
    finally:
        if proc.stdin:
            proc.stdin.close()  # the client exits on end of input
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        stop(proc, timeout=STOP_TIMEOUT)


async def answer_commands(handle: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> None:
    """The client process's loop: each JSON line on stdin to ``handle``, its result (or the error) as a JSON line."""
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        result: dict[str, Any]
        try:
            result = await handle(command)
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


# --- a server's process ---------------------------------------------------------------------------------------


def listen(*, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    return sock


def announce_ports(sock: socket.socket) -> None:
    """Serve this process's CPU time on a side socket, and print ``PORTS <port> <cpu_port>`` for :func:`servers`."""
    cpu_sock = listen(backlog=8)
    threading.Thread(target=_report_cpu_time, args=(cpu_sock,), daemon=True).start()
    print(f"PORTS {sock.getsockname()[1]} {cpu_sock.getsockname()[1]}", flush=True)


def _report_cpu_time(sock: socket.socket) -> None:
    """psutil's CPU times tick in 10 ms; the process's own clock is exact. Blocked in accept() between reads."""
    while True:
        conn, _ = sock.accept()
        with conn:
            conn.sendall(f"{time.process_time()}\n".encode())


def server_cpu_seconds(cpu_port: int, timeout: float = 10.0) -> float:
    with socket.create_connection(("127.0.0.1", cpu_port), timeout=timeout) as sock:
        return float(sock.makefile().readline())


# --- for the tests that run a benchmark ---------------------------------------------------------------------


def run_in_own_session(argv: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in its own process group, so a timeout also ends the server processes it started."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, stdout, stderr)
