"""Fixtures for the playground tests: a fresh Playground on 127.0.0.1, an in-process IPython shell."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lihil_notebook import Playground, playground
from tests.in_process_support import parametrize_transports, started_playground
from tests.notebook.playground_support import server_threads


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_transports(metafunc)  # some tests run in-process too (tests/in_process_support.py)


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Iterator[Playground]:
    """A fresh Playground (not the kernel's singleton), started; stopped at teardown. TCP, or in-process where a
    test is parametrized so."""
    yield from started_playground(request)


@pytest.fixture
def ip() -> Iterator[Any]:
    """An in-process IPython shell with the extension loaded; unloaded and emptied of routes at teardown."""
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "lihil_notebook")
    yield shell
    shell.run_line_magic("unload_ext", "lihil_notebook")
    singleton = playground()
    for route in singleton.routes:
        singleton.unmount(route.path)
    assert server_threads() == [], "unloading the extension should leave no server thread"
