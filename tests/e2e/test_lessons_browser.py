"""The lessons under "Run All" in JupyterLab, as a student meets them (issue 12 item 9, issue 21 trap 4).

Each lesson runs top to bottom without an error and its checker judges the untouched exercises "not solved
yet". Lessons 05 and 08 then go on as a student would after Run All: run an exercise cell again and the checker
again — the exercise must still work (lesson 08's last cell once removed its folder), and the checker's advice
must be the true one. Lessons 03 and 07 show one console with two sessions side by side (screenshots at 1400 px).
(tests/test_notebooks.py does the same for every lesson and every solution, in nbclient.)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tests.e2e.lab_process import JupyterLab
from tests.e2e.notebook_page import NotebookPage, expect

pytestmark = pytest.mark.e2e

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
VERDICT = re.compile(r"^Exercise (\d+) \((.+?)\): (solved ✔|not solved yet\..*)$", re.MULTILINE)
#: Milliseconds one cell may take (lesson 05's checker runs pytest four times).
CELL_MS = 120_000


def tagged(lesson: str, tag: str) -> int:
    cells = nbformat.read(NOTEBOOKS / lesson, as_version=4).cells
    return next(i for i, cell in enumerate(cells) if tag in cell.get("metadata", {}).get("tags", []))


def run_cell(notebook: NotebookPage, index: int) -> str:
    """Select cell ``index``, run it with Shift+Enter (command mode) and return its output text when done."""
    cell = notebook.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    prompt = cell.locator(".jp-InputArea-prompt")
    before = prompt.inner_text()
    prompt.click()
    notebook.page.keyboard.press("Shift+Enter")
    expect(prompt).not_to_have_text(before, timeout=CELL_MS)
    expect(prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=CELL_MS)
    return cell.locator(".jp-OutputArea").inner_text()


@pytest.mark.parametrize("lesson", LESSONS)
def test_9_each_lesson_runs_all_and_its_checker_judges_right(
    lesson: str, jupyter_lab: JupyterLab, notebook_page: NotebookPage
) -> None:
    shutil.copy(NOTEBOOKS / lesson, jupyter_lab.root_dir / lesson)
    notebook_page.open(jupyter_lab.notebook_url(lesson))
    notebook_page.run_all(timeout=300)
    assert notebook_page.error_outputs() == []
    checker = tagged(lesson, "checker")
    output = notebook_page.locator(".jp-Notebook .jp-Cell").nth(checker).locator(".jp-OutputArea").inner_text()
    verdicts = VERDICT.findall(output)
    assert verdicts and all(v[2].startswith("not solved yet") for v in verdicts), output

    if lesson.startswith("05_"):
        # After Run All, a student works on exercise 1: its cell and the checker must still work.
        exercise = run_cell(notebook_page, tagged(lesson, "exercise-1"))
        assert "Error" not in exercise and "test_count.py" in exercise, exercise
        again = run_cell(notebook_page, checker)
        first = next(v for v in VERDICT.findall(again) if v[0] == "1")
        assert "still passes when the route is broken" in first[2], again

    if lesson.startswith("08_"):
        exercise = run_cell(notebook_page, tagged(lesson, "exercise-1"))
        assert "Error" not in exercise and "poll.py" in exercise, exercise
        again = run_cell(notebook_page, checker)
        first = next(v for v in VERDICT.findall(again) if v[0] == "1")
        assert "Error" not in first[2] and "broadcast each vote" in first[2], again

    if lesson.startswith(("03_", "07_")):
        # One console, its two sessions side by side (issue 21 trap 4): not two stacked one-session consoles.
        consoles = notebook_page.locator(".jp-Notebook .lihil-console-sessions")
        expect(consoles).to_have_count(1)
        sessions = consoles.first.locator(".lihil-console-session")
        expect(sessions).to_have_count(2)
        consoles.first.scroll_into_view_if_needed()
        boxes = consoles.first.evaluate(  # both at once: the notebook may scroll between two measurements
            "box => [...box.querySelectorAll('.lihil-console-session')].map(s => s.getBoundingClientRect().toJSON())")
        first, second = boxes
        assert abs(first["top"] - second["top"]) < 2 and second["left"] >= first["right"], boxes
        notebook_page.screenshot(f"lesson-{lesson[:2]}-console-1400", consoles.first)
