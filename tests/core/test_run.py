"""`Lihil.run(__file__)`: uvicorn with the configured host, port, workers, reload and root path.

The `runner` argument is lihil's own hook for the server function; the last test starts a real multi-worker
uvicorn in a subprocess on 127.0.0.1 and talks to it.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from lihil import AppConfig, Lihil
from lihil.config import ServerConfig, lhl_set_config
from lihil.errors import AppConfiguringError

module_app = Lihil()


@pytest.fixture(autouse=True)
def reset_config() -> Iterator[None]:
    yield
    lhl_set_config()


class Runner:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, app: Any, **options: Any) -> None:
        self.calls.append((app, options))


def test_one_worker_gets_the_app_itself_on_loopback() -> None:
    runner = Runner()
    lhl_set_config(AppConfig())
    module_app.run(__file__, runner=runner)
    assert runner.calls == [
        (module_app, {"host": "127.0.0.1", "port": 8000, "workers": 1, "reload": False, "root_path": ""})
    ]


@pytest.mark.parametrize("server", [ServerConfig(WORKERS=3), ServerConfig(RELOAD=True)])
def test_workers_or_reload_get_an_import_string(server: ServerConfig) -> None:
    runner = Runner()
    module_app.config = AppConfig(server=server)
    module_app.run(__file__, runner=runner)
    [(target, options)] = runner.calls
    assert target == "test_run:module_app"
    assert options["app_dir"] == str(Path(__file__).resolve().parent)
    assert (options["workers"], options["reload"], options["host"]) == (server.WORKERS, server.RELOAD, "127.0.0.1")


def test_an_app_only_a_function_holds_is_named_from_its_locals() -> None:
    runner = Runner()
    local_app = Lihil(app_config=AppConfig(server=ServerConfig(WORKERS=2)))
    local_app.run(__file__, runner=runner)
    assert runner.calls[0][0] == "test_run:local_app"


def test_an_app_nobody_names_is_an_error() -> None:
    Lihil(app_config=AppConfig(server=ServerConfig(WORKERS=2)))
    with pytest.raises(AppConfiguringError, match="must be a module-level variable"):
        Lihil.run(Lihil(), __file__, runner=Runner())


SERVICE = textwrap.dedent(
    """
    import os
    from lihil import Lihil

    app = Lihil()

    @app.get
    async def whoami() -> dict:
        return {"pid": os.getpid()}

    if __name__ == "__main__":
        app.run(__file__)
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LogLines:
    """The service's stderr, line by line, each wait bounded by a deadline (select, no sleeping)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        self.proc, self.stream, self.seen = proc, proc.stderr, b""
        os.set_blocking(self.stream.fileno(), False)

    def wait_for(self, pattern: str, count: int, timeout: float) -> list[re.Match[str]]:
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.stream, selectors.EVENT_READ)
            while len(found := list(re.finditer(pattern, self.seen.decode(errors="replace")))) < count:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise AssertionError(f"{count} x {pattern!r} not logged within {timeout}s:\n{self.text}")
                chunk = self.stream.read()
                if not chunk:  # end of file: the service exited
                    raise AssertionError(f"the service exited ({self.proc.wait()}) before {pattern!r}:\n{self.text}")
                self.seen += chunk
        return found

    @property
    def text(self) -> str:
        return self.seen.decode(errors="replace")


def start_service(script: Path, port: int, *, workers: int, env: dict[str, str] | None = None
                  ) -> subprocess.Popen[bytes]:
    """``python script`` serving on ``port`` with ``workers`` worker processes, free of our LIHIL_* settings, plus
    ``env``; its stderr piped (for :class:`LogLines`)."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("LIHIL_")}
    return subprocess.Popen(  # cwd "/": the import needs app_dir
        [sys.executable, str(script), "--server.PORT", str(port), "--server.WORKERS", str(workers)],
        cwd="/", env={**clean, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_service(proc: subprocess.Popen[bytes], workers: list[psutil.Process]) -> list[psutil.Process]:
    """Stop a multi-worker service by its supervisor's pid (SIGINT, then kill after a timeout); kill any worker
    still alive after that. Returns the workers that had to be killed."""
    proc.send_signal(signal.SIGINT)  # the supervisor stops its workers
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    _, alive = psutil.wait_procs(workers, timeout=10)
    for leftover in alive:
        leftover.kill()
    return list(alive)


def test_run_serves_with_several_worker_processes(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    port = _free_port()
    proc = start_service(script, port, workers=2)
    workers: list[psutil.Process] = []
    try:
        log = LogLines(proc)
        started = log.wait_for(r"Started server process \[(\d+)\]", 2, timeout=30)
        log.wait_for(r"Application startup complete", 2, timeout=30)
        worker_pids = {int(m.group(1)) for m in started}
        workers = [psutil.Process(pid) for pid in worker_pids]
        assert len(worker_pids) == 2 and proc.pid not in worker_pids

        got = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)  # the socket is bound before workers start
        assert got.json()["pid"] in worker_pids
        listening = {c.laddr.ip for c in psutil.net_connections("tcp")
                     if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}
    finally:
        alive = stop_service(proc, workers)
    assert alive == [], f"workers left running: {alive}"
    assert proc.returncode == 0, log.text
