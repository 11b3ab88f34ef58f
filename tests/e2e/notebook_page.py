"""Drive one notebook in JupyterLab through Playwright: open it, run all cells, wait, look, take screenshots.

Selectors are JupyterLab 4's own DOM classes and commands; every wait is bounded by a named timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import nbformat

# Playwright is imported lazily so that a machine without it skips the tests instead of failing collection.
if TYPE_CHECKING:
    from lab_process import JupyterLab
    from playwright.sync_api import Locator, LocatorAssertions, Page

#: The kernelspec written into generated notebooks; without it JupyterLab asks "Select Kernel" and blocks the page.
PYTHON_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# Run All is over when no cell is running and either every code cell has run or one failed (the rest never run).
_RUN_ALL_OVER = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim());
  if (prompts.length === 0 || prompts.some(p => p === '[*]:')) return false;
  const failed = document.querySelector('.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  return failed !== null || prompts.every(p => /^\\[\\d+\\]:$/.test(p));
}"""


def expect(locator: Locator) -> LocatorAssertions:
    """Playwright's retrying assertions on ``locator`` (imported on first use)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a notebook of code ``cells`` with kernelspec metadata to ``path``; return the path."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = PYTHON_KERNELSPEC
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, str(path))
    return path


def run_all_in_new_page(chromium: Any, lab: JupyterLab, name: str, cells: list[str], artifacts: Path, *,
                        notebook7: bool = False) -> Iterator[NotebookPage]:
    """Write notebook ``name`` of ``cells`` into the lab, open it in a new page (JupyterLab, or Notebook 7's page),
    Run All, check no cell failed, and yield the page; closed after. For module-scoped fixtures: ``yield from``."""
    write_notebook(lab.root_dir / name, cells)
    page = chromium.new_page()
    page.set_default_timeout(30_000)
    notebook = NotebookPage(page, lab, artifacts)
    notebook.open(lab.notebook7_url(name) if notebook7 else lab.notebook_url(name))
    notebook.run_all()
    assert notebook.error_outputs() == []
    try:
        yield notebook
    finally:
        page.close()


def run_all_in_front_end(chromium: Any, lab: JupyterLab, stem: str, cells: list[str], artifacts: Path,
                         front_end: str) -> Iterator[NotebookPage]:
    """:func:`run_all_in_new_page` for notebook ``<stem>-<front_end>.ipynb``: in JupyterLab where ``front_end`` is
    "lab" or "lab-…" (e.g. "lab-only"), else in Notebook 7's page."""
    if front_end != "lab" and not front_end.startswith("lab-") and front_end != "notebook7":
        raise ValueError(f"run_all_in_front_end: front_end= expects 'lab', 'lab-…' or 'notebook7', got {front_end!r}")
    yield from run_all_in_new_page(chromium, lab, f"{stem}-{front_end}.ipynb", cells, artifacts,
                                   notebook7=front_end == "notebook7")


class NotebookPage:
    """A browser page showing one notebook in JupyterLab."""

    def __init__(self, page: Page, lab: JupyterLab, artifacts: Path) -> None:
        self.page = page
        self.lab = lab
        self.artifacts = artifacts
        self.notebook = ""

    def open(self, url: str, *, timeout: float = 60.0) -> None:
        """Open the notebook at ``url`` (from :meth:`JupyterLab.notebook_url`); wait up to ``timeout`` seconds
        until the server reports its kernel idle, accepting JupyterLab's "Select Kernel" dialog if it comes up
        (it can, when the kernelspecs load after the notebook)."""
        path = urlsplit(url).path
        notebook = unquote(path.split("/lab/tree/" if "/lab/tree/" in path else "/notebooks/", 1)[-1])
        self.notebook = notebook
        self.page.goto(url, timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        dialog = self.page.locator(".jp-Dialog .jp-mod-accept")
        while self.lab.kernel_state(notebook) != "idle":
            if dialog.count():
                dialog.first.click()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel of {notebook} was not idle within {timeout} s")
            self.page.wait_for_timeout(100)  # a poll interval for the two conditions above
        self.wait_idle(timeout=timeout)

    def run_all(self, *, timeout: float = 90.0) -> None:
        """Run all cells from the Run menu; wait until every code cell has run and the kernel is idle."""
        self.page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        self.page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        self.page.wait_for_function(_RUN_ALL_OVER, timeout=timeout * 1000)
        self.wait_idle(timeout=timeout)

    def wait_idle(self, *, timeout: float = 60.0) -> None:
        """Wait until the kernel is idle: JupyterLab's execution indicator says so, or (Notebook 7, which has
        no such indicator) the server does."""
        if self.page.locator(".jp-Notebook-ExecutionIndicator").count():
            self.page.wait_for_selector(
                '.jp-Notebook-ExecutionIndicator[data-status="idle"]', state="attached", timeout=timeout * 1000
            )
            return
        deadline = time.monotonic() + timeout
        while self.lab.kernel_state(self.notebook) != "idle":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel of {self.notebook} was not idle within {timeout} s")
            self.page.wait_for_timeout(100)  # a poll interval for the server's kernel state

    def restart_kernel(self, *, timeout: float = 60.0) -> None:
        """Restart the kernel from the Kernel menu (accepting the confirmation) and wait until it is idle."""
        self.page.locator(".lm-MenuBar-item", has_text="Kernel").first.click()
        self.page.locator('.lm-Menu-item[data-command="kernelmenu:restart"]').click()
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.wait_idle(timeout=timeout)

    def error_outputs(self) -> list[str]:
        """The texts of all error outputs (tracebacks) in the notebook; tests assert this is empty."""
        errors = self.page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        return [text for text in errors.all_inner_texts() if "Traceback" in text or "Error" in text]

    def locator(self, selector: str, **kwargs: Any) -> Locator:
        """A locator for ``selector`` in the page."""
        return self.page.locator(selector, **kwargs)

    def screenshot(self, name: str, target: Locator | None = None) -> Path:
        """Save a screenshot of ``target`` (or the page) as ``<artifacts>/<name>.png``; return its path."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        if target is None:
            self.page.screenshot(path=str(path))
        else:
            target.scroll_into_view_if_needed()
            target.screenshot(path=str(path))
        return path
