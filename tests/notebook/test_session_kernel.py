"""Sessions in real kernels (nbclient): what a cell does never stalls a session (issue 19), and errors from Python
name their cause (issue 21, trap 5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbformat import NotebookNode

from tests.notebook.test_kernel_notebooks import (
    assert_committed_clean,
    run_notebook,
    tagged,
    unexpected_errors,
)

pytestmark = pytest.mark.kernel

NAMES = ["background_listener", "python_errors"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean(name: str) -> None:
    assert_committed_clean(name)


def test_a_background_listener_does_not_freeze_the_session(tmp_path: Path) -> None:
    """Bug 1: a task awaiting ``s.areceive()`` in a loop, then synchronous cells: replies, the log, ping, a cell
    computing past the server's keepalive, and close all behave as without the listener."""
    notebook = run_notebook("background_listener", tmp_path)
    assert unexpected_errors(notebook) == []


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def shown_error(cell: NotebookNode) -> tuple[str, str, str]:
    """The error a cell shows: its name, its value and its traceback as the user reads it (no colours)."""
    error = next(output for output in cell.outputs if output.output_type == "error")
    return error.ename, error.evalue, ANSI.sub("", "\n".join(error.traceback))


def test_errors_from_python_name_their_cause_at_the_users_line(tmp_path: Path) -> None:
    """Issue 21, trap 5: a refused ``pg.connect`` is the documented SessionConnectError raised at the user's line;
    a handler's typo reaches ``receive()`` as its exception and cell line, naming ``WebSocket``."""
    notebook = run_notebook("python_errors", tmp_path)
    assert unexpected_errors(notebook) == []

    for tag, line in (("refused", 'pg.connect("/echo/lobby?upper=maybe")'),
                      ("refused-await", 'await pg.aconnect("/echo/lobby?upper=maybe")')):
        name, value, shown = shown_error(tagged(notebook, tag))
        assert name == "SessionConnectError"
        assert "HTTP 400 Bad Request — query 'upper': Expected `bool`, got `str`" in value
        assert f"----> 1 {line}" in shown
        for plumbing in ("playground.py", "concurrent", "session.py", "DialFailed", "lihil_notebook"):
            assert plumbing not in shown, f"{plumbing!r} in the traceback:\n{shown}"

    name, value, shown = shown_error(tagged(notebook, "handler-typo"))
    assert name == "SessionClosedError"
    assert value.endswith("code 1011 (internal error), reason 'Internal Server Error', because the handler raised "
                          "AttributeError: 'WebSocket' object has no attribute 'send_txt' (Cell In[2], line 7, in "
                          "echo)"), value
    assert "----> 3 s.receive()" in shown and "lihil_notebook" not in shown, shown
