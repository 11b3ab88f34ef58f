"""Sessions in real kernels (nbclient): what a cell does never stalls a session (issue 19), and errors from Python
name their cause (issue 21, trap 5)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.notebook.test_kernel_notebooks import KERNELSPEC, NOTEBOOKS, run_notebook, unexpected_errors

pytestmark = pytest.mark.kernel

NAMES = ["background_listener"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec == KERNELSPEC
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: clear outputs before committing"


def test_a_background_listener_does_not_freeze_the_session(tmp_path: Path) -> None:
    """Bug 1: a task awaiting ``s.areceive()`` in a loop, then synchronous cells: replies, the log, ping, a cell
    computing past the server's keepalive, and close all behave as without the listener."""
    notebook = run_notebook("background_listener", tmp_path)
    assert unexpected_errors(notebook) == []
