"""The example from lihil's WebSocket docs (issue 2) runs exactly as written, without a single warning."""

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from lihil.vendors import WebSocketDisconnect

# Copied verbatim from issue 2: `ws_handler`, `Lihil[None]`, `include_routes` and `AsyncResource` on purpose.
SEED = textwrap.dedent(
    """
    from lihil import Lihil, WebSocketRoute, WebSocket, Ignore, use, Annotated, AsyncResource
    from lihil.vendors import TestClient

    ws_route = WebSocketRoute("web_socket/{session_id}")

    async def ws_factory(ws: Ignore[WebSocket]) -> Ignore[AsyncResource[WebSocket]]:
        await ws.accept()
        yield ws
        await ws.close()

    @ws_route.ws_handler
    async def ws_handler(ws: Annotated[WebSocket, use(ws_factory, reuse=False)], session_id: str, max_users: int):
        assert session_id == "session123" and max_users == 5
        await ws.send_text("Hello, world!")

    lhl = Lihil[None]()
    lhl.include_routes(ws_route)

    client = TestClient(lhl)
    with client:
        with client.websocket_connect("/web_socket/session123?max_users=5") as websocket:
            assert websocket.receive_text() == "Hello, world!"
    """
)

SUBPROCESS_TIMEOUT = 60.0


def run_python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, so import-time warnings are seen too."""
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )


def test_seed_runs_in_process_with_warnings_as_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(SEED, "<seed>", "exec"), {"__name__": "seed"})


def test_seed_runs_in_a_fresh_interpreter_with_no_warning_at_all() -> None:
    result = run_python(SEED, "-W", "error")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    assert result.stdout == ""


def test_seed_factory_teardown_closes_with_1000() -> None:
    """After the seed ran, its route keeps working: the factory's teardown `close()` reaches the client as 1000."""
    namespace: dict[str, Any] = {"__name__": "seed"}
    exec(compile(SEED, "<seed>", "exec"), namespace)
    client = namespace["client"]
    with client, client.websocket_connect("/web_socket/session123?max_users=5") as websocket:
        assert websocket.receive_text() == "Hello, world!"
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_text()
    assert closed.value.code == 1000


def test_testclient_import_and_use_emit_no_warning() -> None:
    code = textwrap.dedent(
        """
        from lihil import Lihil, WebSocketRoute, WebSocket
        from lihil.vendors import TestClient

        route = WebSocketRoute("/ping")

        @route.endpoint
        async def ping(ws: WebSocket) -> None:
            await ws.accept()
            await ws.send_text("pong")
            await ws.close()

        app = Lihil(route)

        @app.get
        async def hello() -> dict[str, str]:
            return {"hello": "world"}

        with TestClient(app) as client:
            assert client.get("/").json() == {"hello": "world"}
            with client.websocket_connect("/ping") as ws:
                assert ws.receive_text() == "pong"
        client = TestClient(app)
        assert client.get("/").status_code == 200
        """
    )
    result = run_python(code, "-W", "error")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_seed_type_checks(tmp_path: Path) -> None:
    """lihil's docs write `Lihil[None]()`: a type checker must accept the seed as it stands, not only Python."""
    seed_file = tmp_path / "seed.py"
    seed_file.write_text(SEED)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file=/dev/null", str(seed_file)],
        capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
