"""The shape of the code, checked: lihil_notebook's rooms import only what their docstrings allow, the import graph
has no circles (function-level and type-only imports count), no module is over 500 lines, and lihil never imports
lihil_notebook. docs/architecture.md explains the rooms."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import lihil
import lihil_notebook

NOTEBOOK = Path(lihil_notebook.__file__).parent
LIHIL = Path(lihil.__file__).parent
MAX_LINES = 500

# room -> the rooms (and outside packages of ours) it may import; errors.py and wire.py are open to all.
ALLOWED = {
    "server": {"lihil"},
    "client": {"lihil"},  # lihil.in_browser.wait_on: the one way sync code waits for the loop (also TestClient's)
    # reach.py: how the user's browser reaches the server (direct, Jupyter proxy, VS Code, Colab). Its own room
    # because it reads the kernel's surroundings (environment, Jupyter's runtime files), not the server or client.
    "reach": set(),
    "playground": {"lihil", "server", "client", "reach"},
    "ipython": {"lihil", "playground", "ui"},
    "ui": {"lihil", "playground", "client"},
}


def module_name(path: Path, package_dir: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, package_dir: Path) -> Iterator[str]:
    """Every module ``path`` imports, wherever the import statement stands (also in functions and TYPE_CHECKING)."""
    name = module_name(path, package_dir)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # `from . import capture` imports the module lihil_notebook.capture
                yield f"{target}.{alias.name}"


def own_modules(package_dir: Path) -> dict[str, Path]:
    return {module_name(p, package_dir): p for p in package_dir.rglob("*.py")}


def graph(package_dir: Path) -> dict[str, set[str]]:
    modules = own_modules(package_dir)
    return {name: {target for target in imports_of(path, package_dir) if target in modules and target != name}
            for name, path in modules.items()}


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "lihil":
        return "lihil"
    if len(parts) == 1:
        return "init"
    return {"playground": "playground", "kernel": "playground", "addresses": "playground", "transports": "playground",
            "errors": "errors",
            "wire": "errors"}.get(
        parts[1], parts[1])


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_lihil_notebook_has_no_import_cycles() -> None:
    # A package's __init__ importing its own modules is not a circle; a module importing its package's __init__
    # is (the __init__ imports everything), so only edges *into* a package __init__ from its own modules count.
    edges = graph(NOTEBOOK)
    for init in [m for m in edges if own_modules(NOTEBOOK)[m].name == "__init__.py"]:
        edges[init] = {t for t in edges[init] if not t.startswith(init + ".")}
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_lihil_has_no_import_cycles_and_never_imports_lihil_notebook() -> None:
    cycle = find_cycle({m: {t for t in ts if t != "lihil"} for m, ts in graph(LIHIL).items()})
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
    for path in LIHIL.rglob("*.py"):
        wrong = [t for t in imports_of(path, LIHIL) if t.split(".")[0] == "lihil_notebook"]
        assert not wrong, f"{path} imports {wrong}"


@pytest.mark.parametrize("module", sorted(own_modules(NOTEBOOK)))
def test_each_room_imports_only_what_it_may(module: str) -> None:
    here = room(module)
    allowed = ALLOWED.get(here)
    if allowed is None:  # the package __init__ and errors.py
        return
    path = own_modules(NOTEBOOK)[module]
    targets = {t for t in imports_of(path, NOTEBOOK) if t.split(".")[0] in ("lihil", "lihil_notebook")}
    bad = sorted(t for t in targets if room(t) not in {here, "errors", *allowed} and t != "lihil_notebook")
    assert not bad, f"{module} (room {here}) may import {sorted(allowed | {'errors'})}, but imports {bad}"


@pytest.mark.parametrize("path", sorted([*NOTEBOOK.rglob("*.py"), *LIHIL.rglob("*.py")]), ids=str)
def test_no_module_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path} has {lines} lines; split it by concept (see docs/architecture.md)"


#: Inside ui/: the console's widgets live in ui/console/ and may use the parts beside it (route card, diagram, target,
#: style, browser URL, page frame, poll); of those parts only the joiners import the console back.
UI_CONSOLE = "lihil_notebook.ui.console"
UI_JOINERS = {"lihil_notebook.ui", "lihil_notebook.ui.cards"}


@pytest.mark.parametrize("module", sorted(m for m in own_modules(NOTEBOOK) if m.startswith("lihil_notebook.ui")
                                          and not m.startswith(UI_CONSOLE) and m not in UI_JOINERS))
def test_the_parts_beside_the_console_do_not_import_it(module: str) -> None:
    targets = set(imports_of(own_modules(NOTEBOOK)[module], NOTEBOOK))
    bad = sorted(t for t in targets if t == UI_CONSOLE or t.startswith(UI_CONSOLE + "."))
    assert not bad, f"{module} is beside the console (ui/console/) and must not import it, but imports {bad}"


def test_the_rooms_checks_can_fail(tmp_path: Path) -> None:
    """The checks themselves: a made-up package with a circle and a forbidden import is caught."""
    pkg = tmp_path / "lihil_notebook"
    (pkg / "server").mkdir(parents=True)
    (pkg / "ui").mkdir()
    for init in (pkg / "__init__.py", pkg / "server" / "__init__.py", pkg / "ui" / "__init__.py"):
        init.write_text("")
    (pkg / "server" / "a.py").write_text("def f():\n    from ..ui import b\n")
    (pkg / "ui" / "b.py").write_text("from ..server import a\n")
    edges = graph(pkg)
    assert find_cycle(edges) is not None
    assert room("lihil_notebook.ui.b") not in ALLOWED["server"]
