"""Fixtures for browser tests: one JupyterLab server and one headless Chromium per test session.

The browser stack is Debian's Chromium (``/usr/bin/chromium``, or ``$LIHIL_CHROMIUM``), Playwright's Python
driver and JupyterLab. When any of them is missing the tests skip with the reason — except under ``CI=true``,
where a missing browser is a broken CI machine and the tests fail.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.e2e.lab_process import JupyterLab, running_lab
from tests.e2e.notebook_page import NotebookPage

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path(os.environ.get("LIHIL_CHROMIUM", "/usr/bin/chromium"))

#: Flags that keep a headless Chromium quiet and offline (without the networking flags it keeps dialing out).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def missing_browser_stack() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium, Playwright and JupyterLab are present."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (install Debian's chromium, or set LIHIL_CHROMIUM)"
    for module in ("playwright", "jupyterlab", "ipywidgets"):
        if importlib.util.find_spec(module) is None:
            return f"Python package {module!r} is not installed (pip install -e '.[notebook,dev]')"
    return None


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def browser_stack() -> None:
    """Skip (locally) or fail (with CI=true) when the browser stack is missing."""
    reason = missing_browser_stack()
    if reason is None:
        return
    if running_in_ci():
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def jupyter_lab(browser_stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """A JupyterLab server on 127.0.0.1 with isolated state; stopped (with its kernels) after the session."""
    with running_lab(tmp_path_factory.mktemp("jupyterlab")) as lab:
        yield lab


@pytest.fixture(scope="module")
def chromium(browser_stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless Chromium browser context with a throwaway profile.

    Module-scoped: while Playwright's sync API is active the main thread has a running event loop, and tests
    elsewhere that call ``asyncio.run`` would fail.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def notebook_page(
    chromium: object, jupyter_lab: JupyterLab, request: pytest.FixtureRequest
) -> Iterator[NotebookPage]:
    """A fresh browser page on the session's JupyterLab; on failure its screenshot lands in
    test-artifacts/e2e/<test>-failure.png."""
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(30_000)
    notebook = NotebookPage(page, jupyter_lab, ARTIFACTS)
    try:
        yield notebook
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            notebook.screenshot(f"{request.node.name}-failure")
        page.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the item so fixtures can tell at teardown whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
