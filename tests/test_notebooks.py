"""The teaching notebooks run top to bottom in a real kernel, show no error, and are committed clean.

Each lesson runs with nbclient, with the playground's token on (and no output may show it), in a fresh
``python3`` kernel whose working directory and ``TMPDIR`` are temporary
folders (lesson 05 writes files; lesson 08 starts uvicorn and redis-server processes from files in a temporary
folder of its own, and stops and removes them when the kernel shuts down; nothing may be left behind). Every lesson
ends with exercises and a checker cell. First the whole lesson runs, as "Run All" does: the committed exercise
cells are runnable skeletons, so its checker must report each exercise "not solved yet". Then a student goes on
after Run All (issue 21): the checker runs again (still "not solved yet", not a crash), and each hidden solution
(the ``solution-N`` markdown cells) is run in turn with the checker after it, which must report exactly the
exercises solved so far "solved". So a checker that cannot fail, or cannot pass, or a lesson whose last cells
break its own exercises (lesson 08 once removed their folder), fails this test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

pytestmark = pytest.mark.kernel

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = [
    "01_hello_websocket",
    "02_params_and_dependencies",
    "03_chat_room",
    "04_errors_and_lifecycle",
    "05_testing_your_routes",
    "06_websocket_vs_http",
    "07_rooms_and_channels",
    "08_scaling_out",
]
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

#: Seconds one cell may run (lesson 05's checker runs pytest four times).
CELL_TIMEOUT = 90
#: Seconds a whole lesson may take, kernel start and shutdown included.
LESSON_TIMEOUT = 400
#: Words that must not appear in anything a lesson writes to stderr.
STDERR_ALARMS = ("Traceback", "Error", "Warning", "Exception")
#: The token the lessons run with (on, as by default since issue 20): no output may show it.
TOKEN = "lesson-test-token-7f3a9c"
TOKEN_ON = f"from lihil_notebook import playground\n\nplayground().set_token({TOKEN!r});"
#: The transports each lesson runs over: TCP as on a laptop, and in-process as in JupyterLite's Pyodide kernel
#: (issue 23), forced here on CPython by the first cell, as `%lihil transport in-process` would.
TRANSPORTS = ["tcp", "in-process"]
#: Lessons whose checker needs a real network (lesson 08: a second process and Redis): in-process it still runs,
#: and says each exercise is "not solved yet" and why, even after its solution.
NETWORK_CHECKERS = {"08_scaling_out"}

VERDICT = re.compile(r"^Exercise (\d+) \((.+?)\): (solved|not solved yet)", re.MULTILINE)
FENCED_PYTHON = re.compile(r"```python\n(.*?)\n```", re.DOTALL)


def read_lesson(name: str) -> NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def test_every_lesson_in_notebooks_is_tested() -> None:
    assert sorted(path.stem for path in NOTEBOOK_DIR.glob("*.ipynb")) == LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_is_committed_clean(name: str) -> None:
    notebook = read_lesson(name)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec") == KERNELSPEC
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {index} has stored outputs: clear them before committing"
            assert cell.execution_count is None, f"{name} cell {index} has an execution count"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_exercises_solutions_and_a_checker(name: str) -> None:
    notebook = read_lesson(name)
    exercises = exercise_numbers(notebook)
    assert len(exercises) >= 2, f"{name} should end with a few exercises"
    assert sorted(solutions(notebook)) == exercises, f"{name}: every exercise needs one hidden solution"
    assert [i for i, cell in enumerate(notebook.cells) if "checker" in tags(cell)] == [
        checker_index(notebook)
    ], f"{name} needs exactly one checker cell"


@pytest.mark.timeout(LESSON_TIMEOUT)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_all_then_each_exercise_and_its_checker_work(name: str, transport: str, tmp_path: Path) -> None:
    notebook = read_lesson(name)
    exercises = exercise_numbers(notebook)
    run, checker_at, checks = with_student_after_run_all(notebook, transport)
    cwd, tmpdir = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmpdir.mkdir()

    NotebookClient(  # allow_errors: run to the end; error_outputs() names every failing cell
        run, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    ).execute(env={**os.environ, "TMPDIR": str(tmpdir)})

    assert error_outputs(run) == []
    shown = [i for i, cell in enumerate(run.cells) if TOKEN in printed(cell)]
    assert shown == [], "these cells print the token or show it as their value: outputs are saved with the notebook"
    assert verdicts(run.cells[checker_at]) == {number: "not solved yet" for number in exercises}, (
        f"under Run All the committed skeletons should not pass the checker: {checker_text(run.cells[checker_at])}"
    )
    for solved, at in enumerate(checks):
        judged = transport == "tcp" or name not in NETWORK_CHECKERS
        expected = {number: "solved" if number <= solved and judged else "not solved yet" for number in exercises}
        assert verdicts(run.cells[at]) == expected, (
            f"after Run All and the solutions to exercises 1..{solved}, the checker said: {checker_text(run.cells[at])}"
        )
    assert list(cwd.iterdir()) == [], "the lesson left files in its working directory"
    assert list(tmpdir.iterdir()) == [], "the lesson left temporary files behind after its kernel shut down"


def exercise_numbers(notebook: NotebookNode) -> list[int]:
    return sorted(
        int(tag.removeprefix("exercise-"))
        for cell in notebook.cells
        for tag in tags(cell)
        if tag.startswith("exercise-")
    )


def solutions(notebook: NotebookNode) -> dict[int, str]:
    """Exercise number -> the solution code hidden in that exercise's ``solution-N`` markdown cell."""
    found: dict[int, str] = {}
    for cell in notebook.cells:
        for tag in tags(cell):
            if tag.startswith("solution-"):
                match = FENCED_PYTHON.search(cell.source)
                assert match, f"solution cell {tag} has no ```python block"
                found[int(tag.removeprefix("solution-"))] = match.group(1)
    return found


def checker_index(notebook: NotebookNode) -> int:
    return next(i for i, cell in enumerate(notebook.cells) if "checker" in tags(cell))


def with_student_after_run_all(notebook: NotebookNode, transport: str = "tcp") -> tuple[NotebookNode, int, list[int]]:
    """The whole lesson (after a first cell that turns the token on and picks the ``transport``), then what a
    student does next: the checker again, then each solution in turn followed by the checker. Returns that notebook,
    the index of the lesson's own checker in it and the indexes of the appended checker cells (the first with no
    solution)."""
    run = nbformat.from_dict(notebook)
    run.cells.insert(0, nbformat.v4.new_code_cell(f"{TOKEN_ON}\nplayground().set_transport({transport!r});"))
    checker = notebook.cells[checker_index(notebook)].source
    checks = []
    for code in [None, *(code for _, code in sorted(solutions(notebook).items()))]:
        if code is not None:
            run.cells.append(nbformat.v4.new_code_cell(code))
        run.cells.append(nbformat.v4.new_code_cell(checker))
        checks.append(len(run.cells) - 1)
    return run, checker_index(notebook) + 1, checks


def printed(cell: NotebookNode) -> str:
    """What the lesson's own code printed or returned in ``cell`` (the playground's cards and widgets are the edge's
    business, tested in tests/notebook)."""
    shown = {"stream": lambda output: output.text, "execute_result": lambda output: output.data.get("text/plain", "")}
    return "".join(shown[output.output_type](output) for output in cell.get("outputs", []) if output.output_type in shown)


def error_outputs(notebook: NotebookNode) -> list[str]:
    """Every error output, and every stderr stream that looks like a failure, with the cell it came from."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr" and alarming(output.text):
                found.append(f"cell {index} stderr: {output.text[-2000:]}")
    return found


def alarming(stderr: str) -> bool:
    return any(alarm in stderr for alarm in STDERR_ALARMS)


def checker_text(cell: NotebookNode) -> str:
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def verdicts(cell: NotebookNode) -> dict[int, str]:
    return {int(number): verdict for number, _, verdict in VERDICT.findall(checker_text(cell))}
