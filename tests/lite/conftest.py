"""The JupyterLite browser tests share the browser stack checks of tests/e2e (skip locally, fail under CI=true)."""

from tests.e2e.conftest import browser_stack, pytest_runtest_makereport

__all__ = ["browser_stack", "pytest_runtest_makereport"]
