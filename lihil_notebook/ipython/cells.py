"""Running a ``%%ws_route`` / ``%%route`` / ``%%ws_hub`` cell: the body runs in the user namespace, the handler (or
the hub's channels) comes out.

The body is compiled under a filename registered in IPython's compile cache (the way IPython compiles every cell),
with the cell's own text and numbering: line 1 is the ``%%ws_route`` line, so a traceback raised much later on the
server thread says ``Cell In[5], line 7`` and shows line 7 of the cell as the user sees it.

What can be checked before running anything is checked first (syntax, whether there is an ``async def`` to
mount), so those bad cells change nothing at all.
"""

from __future__ import annotations

import ast
import contextlib
from typing import Any

from lihil import ChannelBase

from ..errors import RouteDefinitionError
from ..playground import RouteKind

HUB_HOOKS = ("on_connect", "on_disconnect")


def run_route_cell(
    shell: Any, cell: str, *, magic_line: str, handler_name: str | None, kind: RouteKind
) -> Any:
    """Run ``cell`` in ``shell.user_ns`` and return the function to mount.

    ``kind="ws"``: the cell's last top-level ``async def`` (or ``handler_name``); ``"http"``: its last top-level
    function. Raises ``SyntaxError`` (IPython shows it like any cell's) or :class:`RouteDefinitionError`.
    """
    source = shell.transform_cell(cell)
    # Cache "magic line + body" so that cached line N is cell line N; compile the body one line down to match.
    filename = shell.compile.cache(f"{magic_line}\n{source}", _cell_number(shell), raw_code=cell)
    tree = shell.compile.ast_parse("\n" + source, filename)
    name = _handler_in(tree, handler_name, kind, magic_line.split()[0])
    try:
        exec(shell.compile(tree, filename, "exec"), shell.user_ns)  # like a cell: definitions stay in the namespace
    except Exception as exc:
        _show_cell_frames_only(shell, exc)
        raise
    if name not in shell.user_ns:
        raise RouteDefinitionError(f"--handler {name}: the cell ran but defined no name {name!r}")
    return shell.user_ns[name]


def _show_cell_frames_only(shell: Any, exc: BaseException) -> None:
    """Make IPython show ``exc`` from the cell's own frame down: the user's code, not the magic's machinery.

    IPython renders an exception through its ``_render_traceback_`` when it has one; the traceback here starts in
    this function's caller (``exec``'s frame), so its next entry is the cell itself.
    """
    cell_tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    if cell_tb is None:
        return
    with contextlib.suppress(AttributeError, TypeError):  # an exception type without a __dict__: shown as usual
        exc._render_traceback_ = lambda: shell.InteractiveTB.structured_traceback(type(exc), exc, cell_tb)  # type: ignore[attr-defined]


def _cell_number(shell: Any) -> int:
    """The number of the cell being run (``In[N]``); IPython >= 9 has already counted past it by then."""
    running = getattr(shell.displayhook, "exec_result", None)
    number = getattr(running, "execution_count", None)
    return number if isinstance(number, int) else shell.execution_count


def _handler_in(tree: ast.Module, wanted: str | None, kind: RouteKind, magic: str) -> str:
    """The name of the function the cell will mount, found in its syntax tree, or why there is none."""
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    if wanted is not None:
        matching = [f for f in functions if f.name == wanted]
        if kind == RouteKind.WS and matching and isinstance(matching[-1], ast.FunctionDef):
            raise RouteDefinitionError(_sync_message(magic, wanted, matching[-1].lineno))
        return wanted  # not defined by a def in this cell: it may be assigned; checked after running
    if kind == RouteKind.HTTP:
        if not functions:
            raise RouteDefinitionError(f"{magic}: the cell defines no function to serve; write `def name(...)` or "
                                       "`async def name(...)` at the top level of the cell")
        return functions[-1].name
    async_defs = [f for f in functions if isinstance(f, ast.AsyncFunctionDef)]
    if async_defs:
        return async_defs[-1].name
    if functions:
        raise RouteDefinitionError(_sync_message(magic, functions[-1].name, functions[-1].lineno))
    raise RouteDefinitionError(f"{magic}: the cell defines no `async def` to mount; write e.g. "
                               "`async def handler(ws: WebSocket): ...` at the top level of the cell")


def _sync_message(magic: str, name: str, line: int) -> str:
    return (f"{magic}: {name} (cell line {line}) is a sync `def`; a WebSocket handler must be an `async def`: "
            f"`async def {name}(ws: WebSocket, ...)`")


def run_hub_cell(shell: Any, cell: str, *, magic_line: str) -> tuple[list[type[Any]], Any, Any]:
    """Run a ``%%ws_hub`` cell like :func:`run_route_cell`; return the ChannelBase subclasses it defines at its top
    level (in order) and its top-level ``on_connect`` / ``on_disconnect`` functions (or None)."""
    source = shell.transform_cell(cell)
    filename = shell.compile.cache(f"{magic_line}\n{source}", _cell_number(shell), raw_code=cell)
    tree = shell.compile.ast_parse("\n" + source, filename)
    magic = magic_line.split()[0]
    class_names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    hooks = {node.name: node for node in tree.body
             if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in HUB_HOOKS}
    for name, node in hooks.items():
        if isinstance(node, ast.FunctionDef):
            raise RouteDefinitionError(f"{magic}: {name} (cell line {node.lineno}) is a sync `def`; a hub hook must "
                                       f"be `async def {name}(socket: ISocket): ...`")
    if not class_names:
        raise RouteDefinitionError(f"{magic}: the cell defines no channel; write e.g. `class Room(ChannelBase): "
                                   "topic = Topic(\"room:{name}\")` at the top level of the cell")
    exec(shell.compile(tree, filename, "exec"), shell.user_ns)
    channels = [shell.user_ns[name] for name in class_names
                if isinstance(shell.user_ns.get(name), type) and issubclass(shell.user_ns[name], ChannelBase)]
    if not channels:
        listed = ", ".join(class_names)
        raise RouteDefinitionError(f"{magic}: none of the cell's classes ({listed}) is a channel; a channel "
                                   "subclasses ChannelBase (`from lihil import ChannelBase, Topic`)")
    return channels, shell.user_ns.get("on_connect") if "on_connect" in hooks else None, (
        shell.user_ns.get("on_disconnect") if "on_disconnect" in hooks else None)
