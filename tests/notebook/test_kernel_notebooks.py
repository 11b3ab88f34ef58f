"""The extension in real kernels: the notebooks under tests/notebooks/ run with nbclient, plus protocol-level tests.

Each notebook asserts in its own cells (a failing cell fails the test, with its traceback); this file adds what a
notebook cannot check about itself — what its outputs show, and what happens at kernel shutdown and interrupt.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel
from nbclient import NotebookClient
from nbformat import NotebookNode
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.kernel

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["echo_and_sessions", "redefine_while_open", "stop_and_restart", "reload_extension"]
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
#: Seconds one notebook cell, or one kernel request, may take.
CELL_TIMEOUT = 60


def run_notebook(name: str, workdir: Path) -> NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    # allow_errors: the notebook runs to the end and unexpected_errors() names every cell that failed (without it
    # nbclient raises at the first error, and that check could never fail).
    NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return notebook


def tagged(notebook: NotebookNode, tag: str) -> NotebookNode:
    return next(cell for cell in notebook.cells if tag in cell.metadata.get("tags", []))


def shown_text(cell: NotebookNode) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        parts.append(output.get("evalue", ""))
    return "".join(parts)


def unexpected_errors(notebook: NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(notebook.cells):
        expected = "raises-exception" in cell.metadata.get("tags", [])
        for output in cell.get("outputs", []):
            if output.output_type == "error" and not expected:
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            if output.output_type == "stream" and output.name == "stderr" and not expected:
                found.append(f"cell {index} stderr: {output.text}")
    return found


def assert_committed_clean(name: str) -> None:
    """notebooks/tests/<name>.ipynb is valid, on our kernelspec, and committed without outputs."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec == KERNELSPEC
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: clear outputs before committing"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean(name: str) -> None:
    assert_committed_clean(name)


def test_echo_notebook_shows_the_route_and_keeps_handler_prints_out_of_cells(tmp_path: Path) -> None:
    notebook = run_notebook("echo_and_sessions", tmp_path)
    assert unexpected_errors(notebook) == []
    card = shown_text(tagged(notebook, "route-card"))
    assert "/echo/{room} is live" in card and "ws://127.0.0.1:" in card
    assert "room: str (path)" in card and "upper: bool = False (query)" in card
    html = tagged(notebook, "route-card").outputs[0].data["text/html"]
    assert "<code>ws://127.0.0.1:" in html

    assert "got hello" not in shown_text(tagged(notebook, "no-server-print"))
    assert all("got " not in shown_text(cell) for cell in notebook.cells if cell.cell_type == "code")

    status = shown_text(tagged(notebook, "status"))
    assert "/echo/{room}  [ws]  echo  v1" in status and "ValueError: boom in kitchen" in status

    # IPython shows a UsageError as one stderr line (the cell's status is "error": see the protocol test below)
    assert "UsageError: %%ws_route: not_async (cell line 2) is a sync `def`" in shown_text(tagged(notebook, "bad-cell"))


def test_redefining_a_route_while_a_session_is_open(tmp_path: Path) -> None:
    notebook = run_notebook("redefine_while_open", tmp_path)
    assert unexpected_errors(notebook) == []
    assert "/echo/{room}  [ws]  shout  v2  2 open" in shown_text(tagged(notebook, "status"))


def test_stopping_and_restarting_the_server(tmp_path: Path) -> None:
    notebook = run_notebook("stop_and_restart", tmp_path)
    assert unexpected_errors(notebook) == []


def test_unloading_and_reloading_the_extension(tmp_path: Path) -> None:
    notebook = run_notebook("reload_extension", tmp_path)
    assert unexpected_errors(notebook) == []


# --- protocol-level: shutdown and interrupt --------------------------------------------------------------------


@pytest.fixture
def kernel() -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    manager, client = start_new_kernel(kernel_name="python3")
    yield manager, client
    client.stop_channels()
    if manager.is_alive():
        manager.shutdown_kernel(now=True)


def execute(client: BlockingKernelClient, code: str, timeout: float = CELL_TIMEOUT) -> dict[str, Any]:
    """Run ``code``; return the reply content plus the text the cell printed (under "printed")."""
    printed: list[str] = []

    def hook(message: dict[str, Any]) -> None:
        content = message["content"]
        printed.append(content.get("text", "") + content.get("data", {}).get("text/plain", ""))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    return {**reply["content"], "printed": "".join(printed)}


SETUP = """
%load_ext lihil_notebook
from lihil_notebook import playground
pg = playground()
"""

STUBBORN = """
%%ws_route /stubborn
import asyncio
from lihil import WebSocket

async def stubborn(ws: WebSocket):
    await ws.accept()
    await ws.send_text("hello")
    await asyncio.sleep(3600)  # never reads, never returns
"""


ECHO = """
%%ws_route /echo
from lihil import WebSocket

async def echo(ws: WebSocket):
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)
"""


def test_kernel_shutdown_closes_open_connections_within_3_seconds(kernel: Any) -> None:
    manager, client = kernel
    assert execute(client, SETUP)["status"] == "ok"
    assert execute(client, STUBBORN)["status"] == "ok"
    url = json.loads(execute(client, "import json; print(json.dumps(pg.ws_url('/stubborn')))")["printed"])
    with connect(url, proxy=None) as ws:
        assert ws.recv(timeout=5) == "hello"
        client.shutdown()  # a graceful shutdown request, as Jupyter sends on "Shut down kernel"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=3.0)
    assert closed.value.rcvd is not None and closed.value.rcvd.code in (1001, 1012)
    deadline = time.monotonic() + 10
    while manager.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the process to exit (a condition with a deadline)
    assert not manager.is_alive(), "the daemon server thread must not keep the kernel alive"


def test_bad_cells_fail_with_the_cells_own_line_numbers(kernel: Any) -> None:
    _, client = kernel
    execute(client, SETUP)
    errors: list[dict[str, Any]] = []
    reply = client.execute_interactive(
        "%%ws_route /x\nasync def f(ws):\n    return (\n", timeout=CELL_TIMEOUT,
        output_hook=lambda m: errors.append(m["content"]) if m["msg_type"] == "error" else None)
    assert reply["content"]["status"] == "error"  # "Run all" stops here
    assert [e["ename"] for e in errors] == ["SyntaxError"]
    shown = "".join(errors[0]["traceback"])
    assert "In[2]" in shown and "line 3" in shown and "return (" in shown, shown
    reply = execute(client, "%%ws_route /x\ndef f(ws):\n    pass\n")
    assert (reply["status"], reply["ename"]) == ("error", "UsageError")
    assert execute(client, "print(pg.routes)")["printed"] == "[]\n"


def test_interrupt_kernel_interrupts_a_blocking_receive_and_the_server_keeps_serving(kernel: Any) -> None:
    manager, client = kernel
    for code in (SETUP, ECHO, "s = pg.connect('/echo')"):
        assert execute(client, code)["status"] == "ok"
    msg_id = client.execute("print('waiting', flush=True); s.receive(timeout=60)")
    assert _wait_for_stream(client, "waiting"), "the cell should have started waiting"
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    after = execute(client, "s.send('still there'); print(s.receive())")
    assert after["status"] == "ok" and after["printed"] == "still there\n"


def _wait_for_stream(client: BlockingKernelClient, text: str, timeout: float = 10) -> bool:
    """True once the running cell has printed ``text`` (so it is inside its own code), False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = client.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if message["msg_type"] == "stream" and text in message["content"]["text"]:
            return True
    return False
