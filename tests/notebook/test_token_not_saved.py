"""Finding 3 of issue 20: the playground's token never lands in a saved notebook.

A real kernel (nbclient) runs what a user runs — route cells (their cards, with widget state), ``%lihil``,
``%lihil token``, a console, ``pg.show``, the playground's repr — and the notebook is SAVED (with its widget state,
as nbclient stores it) and read back as text: the token appears nowhere. The kernel hands the token to the test
through a file, never through an output. The values meant to carry it (``pg.ws_url``, the card's copy URL) do.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.kernel

CELLS = [
    "%load_ext lihil_notebook",
    "%lihil token on",  # the default; said so that the test means the same on any version
    "%%ws_route /echo/{room}\nasync def echo(ws, room: str):\n    await ws.accept()\n    await ws.send_text(room)",
    "%%route /page\nfrom lihil import HTML\ndef page() -> HTML:\n    return '<p>hi</p>'",
    "%lihil",
    "%lihil token",
    "from lihil_notebook import playground, console\npg = playground()\npg",
    "console('/echo/lobby')",
    "frame = pg.show('/page')\nframe",
    "from lihil_notebook.ui.route_card import RouteCard\n"
    "card = RouteCard(pg, '/page', open_console=lambda path: None)\ncard",
    "from pathlib import Path\nPath('token.txt').write_text(pg.token or 'the token is off')",
    # Values (not outputs) carry it.
    "assert pg.token and pg.token in pg.ws_url('/echo/lobby') and pg.token in pg.browser_url('/page')\n"
    "assert pg.token in card.browser_url.full_url()",
]


def test_a_saved_notebook_holds_no_token(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True, store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    saved = tmp_path / "saved.ipynb"
    nbformat.write(notebook, saved)
    text = saved.read_text()
    token = (tmp_path / "token.txt").read_text()
    assert len(token) >= 16
    shown = [o for cell in notebook.cells for o in cell.outputs]
    assert any("lihil_notebook.ui" in str(o) or "application/vnd.jupyter.widget-view+json" in str(o) for o in shown)
    assert "127.0.0.1" in text, "the URLs are shown, without the token"
    assert "copy button" in text, "`%lihil token` says how to get it"
    assert token not in text
    assert "lihil_token=" not in text
    errors = [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, cell in enumerate(notebook.cells)
              for o in cell.outputs if o.output_type == "error"]
    assert errors == []
