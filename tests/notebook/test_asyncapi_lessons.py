"""Every lesson's routes and hubs, as the lesson defines them, described by an AsyncAPI document the official
validator accepts; and ``%lihil asyncapi`` showing one.

The routes come from the lessons themselves: each lesson's ``%%ws_route`` / ``%%ws_hub`` cells run in order in an
IPython shell, with the cells they need that only define things (imports, functions, classes, plain assignments,
``%%writefile``) — never the cells that connect, send or wait.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from lihil_notebook import playground
from tests.asyncapi_validator import assert_valid
from tests.notebook.test_magics import run

LESSONS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
ROUTE_CELLS = ("%%ws_route", "%%ws_hub")
DEFINING_MAGICS = ("%%writefile",)
_DOING = ("connect", "receive", "send", "sleep", "TestClient", "subprocess", "Popen", "run", "wait", "close", "pg.")


def defines_only(source: str) -> bool:
    """A plain cell of imports, functions, classes and assignments that call nothing that talks to a server (and
    ``sys.path`` changes)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False  # a line magic or shell escape
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Name | ast.Constant):
            continue  # a bare name at the end of a cell, shown as its output
        if isinstance(node, ast.Expr) and ast.unparse(node).startswith("sys.path."):
            continue  # where the lesson's own modules are imported from
        if isinstance(node, ast.Assign | ast.AnnAssign) and not any(w in ast.unparse(node) for w in _DOING):
            continue
        return False
    return True


def forget_working_folder(ip: Any) -> None:
    """Lesson 08 writes its modules to a temporary folder it puts on sys.path: take both away again."""
    folder = ip.user_ns.pop("workdir", None)
    if isinstance(folder, str) and Path(folder).name.startswith("lesson") and Path(folder).parent == Path(
            tempfile.gettempdir()):
        shutil.rmtree(folder, ignore_errors=True)
        while folder in sys.path:
            sys.path.remove(folder)


def lesson_cells(lesson: Path) -> list[str]:
    cells = [("".join(c["source"])) for c in json.loads(lesson.read_text())["cells"] if c["cell_type"] == "code"]
    return [s for s in cells if s.startswith(ROUTE_CELLS + DEFINING_MAGICS) or defines_only(s)]


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_each_lessons_routes_and_hubs_have_a_valid_asyncapi_document(ip: Any, lesson: Path) -> None:
    try:
        for source in lesson_cells(lesson):
            result, _ = run(ip, source)
            failure = result.error_before_exec or result.error_in_exec
            assert failure is None, f"{lesson.name}: this cell failed: {failure!r}\n{source}"
    finally:
        forget_working_folder(ip)
    pg = playground()
    served = {r.path for r in pg.routes if r.kind in ("ws", "hub")}
    doc = pg.app.asyncapi()
    assert {c["address"] for c in doc["channels"].values()} == served
    assert_valid({lesson.stem: doc})


def test_lessons_define_websocket_routes_and_hubs(ip: Any) -> None:
    """The test above is not vacuous: the lessons' route cells are found (lesson 07 has hubs)."""
    found = {lesson.stem: sum(s.startswith(ROUTE_CELLS) for s in lesson_cells(lesson)) for lesson in LESSONS}
    assert sum(found.values()) >= 20, found
    assert any(s.startswith("%%ws_hub") for s in lesson_cells(LESSONS[6])), LESSONS[6]
