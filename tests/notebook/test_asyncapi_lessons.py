"""Every lesson's routes and hubs, as the lesson defines them, described by an AsyncAPI document the official
validator accepts; and ``%lihil asyncapi`` showing one.

The routes come from the lessons themselves: each lesson's ``%%ws_route`` / ``%%ws_hub`` cells run in order in an
IPython shell, with the cells they need that only define things (imports, functions, classes, plain assignments,
``%%writefile``) — never the cells that connect, send or wait.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from lihil_notebook import playground
from lihil_notebook.ui.asyncapi_view import block_yaml
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
        if isinstance(node, ast.Expr) and ast.unparse(node).startswith(("sys.path.", "atexit.register(")):
            continue  # where the lesson's own modules are imported from, and their clean-up at exit
        if isinstance(node, ast.Assign | ast.AnnAssign) and not any(w in ast.unparse(node) for w in _DOING) \
                and not re.search(r"\bpg\b", ast.unparse(node)):  # the playground is not made here
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
    as_yaml = block_yaml(doc)  # the YAML download where PyYAML is missing (JupyterLite)
    assert yaml.safe_load(as_yaml) == doc
    assert_valid({lesson.stem: doc, f"{lesson.stem} as block_yaml": as_yaml})


def test_lessons_define_websocket_routes_and_hubs(ip: Any) -> None:
    """The test above is not vacuous: the lessons' route cells are found (lesson 07 has hubs)."""
    found = {lesson.stem: sum(s.startswith(ROUTE_CELLS) for s in lesson_cells(lesson)) for lesson in LESSONS}
    assert sum(found.values()) >= 20, found
    assert any(s.startswith("%%ws_hub") for s in lesson_cells(LESSONS[6])), LESSONS[6]


HUB_CELL = """\
%%ws_hub /rooms
from lihil import ChannelBase, Struct, Topic


class Chat(Struct):
    text: str
    loud: bool = False


class Room(ChannelBase):
    '''People talking in a room.'''

    topic = Topic("room:{name}")

    async def on_chat(self, payload: Chat) -> None:
        '''Say something to the room.'''
        await self.publish(payload, event="chat")

    async def on_who(self) -> list[str]:
        return []
"""


def shown_html(shown: Any) -> str:
    return "".join(o.data.get("text/html", "") for o in shown.outputs)


@pytest.fixture
def html_outputs(ip: Any) -> Any:
    """The in-process shell formats text only, by default; a notebook's front end asks for HTML too."""
    types = ip.display_formatter.active_types
    ip.display_formatter.active_types = [*types, "text/html"]
    yield ip
    ip.display_formatter.active_types = types


def test_lihil_asyncapi_shows_channels_messages_and_fields_with_downloads(html_outputs: Any) -> None:
    ip = html_outputs
    result, _ = run(ip, HUB_CELL)
    assert result.error_in_exec is None, result.error_in_exec
    result, shown = run(ip, "%lihil asyncapi /rooms")
    assert result.error_in_exec is None, result.error_in_exec
    page = shown_html(shown)
    assert "<code>/rooms</code> <b>Room on room:{name}</b>" in page and "People talking in a room." in page
    assert "client → server" in page and "server → client" in page
    assert "<code>chat</code> Say something to the room." in page
    assert "<td style='text-align:left;padding:1px 8px'><code>loud</code></td>" in page  # Chat's fields
    doc = playground().asyncapi("/rooms")
    links = dict(re.findall(r'download="asyncapi\.(\w+)" href="data:[^;]+;base64,([^"]+)"', page))
    as_yaml = base64.b64decode(links["yaml"]).decode()
    assert as_yaml.startswith("asyncapi: 3.0.0\ninfo:\n") and yaml.safe_load(as_yaml) == doc
    assert json.loads(base64.b64decode(links["json"])) == doc
    tricky = {"yes": [1, [2, 3], {"x": {}, "y": []}], "s": 'he said "hi"\n\u00e9', "/p/{x}": None, "f": 1.5, "on": True}
    assert yaml.safe_load(block_yaml(tricky)) == tricky
    assert_valid({"%lihil asyncapi": doc, "as block_yaml": block_yaml(doc)})

    result, _ = run(ip, "%%ws_route /chat/{room}\nfrom lihil import WebSocket\n\n"
                        "async def chat(ws: WebSocket, room: str, upper: bool = False):\n    await ws.accept()")
    assert result.error_in_exec is None, result.error_in_exec
    result, shown = run(ip, "%lihil asyncapi /chat/lobby")  # a concrete path finds its route too
    assert result.error_in_exec is None, result.error_in_exec
    page = shown_html(shown)
    assert "<code>/chat/{room}</code>" in page and "/rooms" not in page
    assert "<td style='text-align:left;padding:1px 8px'>query · boolean = false</td>" in page
    result, shown = run(ip, "%lihil asyncapi /nowhere")
    assert "asyncapi('/nowhere'): no WebSocket route or hub there; routes: /rooms" in shown.stderr + str(
        result.error_in_exec)
