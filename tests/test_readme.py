"""The README's Python examples run, in order, in a real kernel — as a reader would paste them into a notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

README = Path(__file__).resolve().parents[1] / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def readme_blocks() -> list[str]:
    return PYTHON_BLOCK.findall(README.read_text())


def test_readme_has_the_examples_we_promise() -> None:
    blocks = readme_blocks()
    assert any("%load_ext lihil_notebook" in b for b in blocks)
    assert any(b.startswith("%%ws_route /echo/{room}") for b in blocks)
    assert any("lhl.include_routes(ws_route)" in b for b in blocks)


@pytest.mark.kernel
def test_readme_python_blocks_run_in_a_kernel(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(block) for block in readme_blocks()]
    # allow_errors: every block runs and the check below names each failing one (without it nbclient would raise
    # at the first error, and the check could never fail).
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    failures = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                failures.append(f"{output.get('ename')}: {output.get('evalue')} in\n{cell.source}")
            elif output.get("name") == "stderr" and "Traceback" in output.get("text", ""):
                failures.append(f"a traceback on stderr in\n{cell.source}")
    assert failures == []
