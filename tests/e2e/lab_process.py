"""A JupyterLab server started for one test session, isolated from the user's Jupyter setup.

The server binds 127.0.0.1 on a free port, authenticates with a random token and keeps every piece of state
(config, data, runtime, settings, workspaces, IPython profile) in a temporary directory, so a test run neither
reads nor changes the machine's Jupyter configuration. Stopping it asks the server to shut down, then ends the
server and every process it started (kernels run in their own process session, so killing the server's process
group would miss them) by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

#: Settings that keep JupyterLab's news and update toasts from covering the page.
QUIET_NOTIFICATIONS = {"fetchNews": "false", "checkForUpdates": False}


@dataclass
class JupyterLab:
    """A running JupyterLab server: its URL, token, notebook directory and process.

    Create it with :meth:`start`; end it with :meth:`stop` (idempotent).
    """

    url: str
    token: str
    root_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        python: str = sys.executable,
        ready_timeout: float = 60.0,
        attempts: int = 3,
        extra_arguments: Sequence[str] = (),
    ) -> JupyterLab:
        """Start JupyterLab with all its state under ``state_dir``; return once ``/api/status`` answers.

        ``ready_timeout`` bounds the wait for one start; a start that loses the race for its port is retried
        up to ``attempts`` times on a new port. ``extra_arguments`` go to the server's command line
        (e.g. ``--ServerApp.allow_remote_access=True`` to be opened under another host name).
        """
        root_dir = state_dir / "notebooks"
        root_dir.mkdir(parents=True, exist_ok=True)
        env = _isolated_environment(state_dir)
        token = secrets.token_hex(16)
        failure = ""
        for attempt in range(attempts):
            port = _free_port()
            log_path = state_dir / f"jupyterlab-{attempt}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [python, "-m", "jupyterlab", *_server_arguments(port, token, root_dir), *extra_arguments],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=root_dir,
                )
            lab = cls(f"http://127.0.0.1:{port}", token, root_dir, process, log_path)
            if lab._wait_ready(ready_timeout):
                return lab
            lab.stop()
            failure = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"JupyterLab did not become ready in {attempts} attempts; last log:\n{failure}")

    def notebook_url(self, name: str) -> str:
        """The URL that opens notebook ``name`` (relative to ``root_dir``) in a fresh workspace."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def notebook7_url(self, name: str) -> str:
        """The URL that opens notebook ``name`` in Notebook 7's single-document page (same server)."""
        return f"{self.url}/notebooks/{name}?token={self.token}"

    def kernel_state(self, notebook: str) -> str | None:
        """The execution state of the kernel attached to ``notebook`` (a path under ``root_dir``), or None."""
        for session in self._get_json("/api/sessions"):
            if session.get("path") == notebook and session.get("kernel"):
                return str(session["kernel"].get("execution_state", "unknown"))
        return None

    def stop(self, *, shutdown_timeout: float = 10.0) -> None:
        """Shut the server down and end it and every process it started (kernels), by pid."""
        if self._stopped:
            return
        self._stopped = True
        try:
            started = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            started = []
        if self.process.poll() is None:
            # Already going down, or never came up: the signals below finish the job.
            with contextlib.suppress(OSError):
                self._api("POST", "/api/shutdown", timeout=shutdown_timeout)
            try:
                self.process.wait(timeout=shutdown_timeout)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=shutdown_timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=shutdown_timeout)
        for child in started:
            try:
                child.kill()
                child.wait(timeout=shutdown_timeout)
            except psutil.NoSuchProcess:
                pass
            except psutil.TimeoutExpired:
                pass  # a zombie whose parent is gone; the OS reaps it, nothing holds our ports

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if self._api("GET", "/api/status", timeout=2.0) == 200:
                    return True
            except OSError:
                pass
            self._wait_exit(0.2)
        return False

    def _wait_exit(self, seconds: float) -> None:
        # The poll interval of _wait_ready: ends early if the server dies.
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=seconds)

    def _get_json(self, path: str, *, timeout: float = 5.0) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def _api(self, method: str, path: str, *, timeout: float) -> int:
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


def _server_arguments(port: int, token: str, root_dir: Path) -> list[str]:
    arguments = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        arguments.append("--allow-root")
    return arguments


def _isolated_environment(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for variable, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("IPYTHONDIR", "ipython"),
    ]:
        path = state_dir / sub
        path.mkdir(parents=True, exist_ok=True)
        env[variable] = str(path)
    settings = state_dir / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(QUIET_NOTIFICATIONS))
    env.pop("JUPYTER_TOKEN", None)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_lab(state_dir: Path, **options: Any) -> Iterator[JupyterLab]:
    """``JupyterLab.start(state_dir, **options)``; stopped (with its kernels) on the way out."""
    lab = JupyterLab.start(state_dir, **options)
    try:
        yield lab
    finally:
        lab.stop()
