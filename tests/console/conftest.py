"""Fixtures for console tests without a browser: a real playground server, and a record of widget comm traffic.

The widgets run in the test process with no front end; every comm message they would send is recorded by
``CommTraffic`` (installed for every test), so tests can assert what would travel to the page and how much.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import comm
import pytest

from tests.console.comm_traffic import CommTraffic, RecordingComm, Waiter
from tests.in_process_support import parametrize_transports, started_playground
from tests.notebook.playground_support import WAIT, wait_for

if TYPE_CHECKING:
    from lihil_notebook.playground import Playground


@pytest.fixture(autouse=True)
def comm_traffic(monkeypatch: pytest.MonkeyPatch) -> Iterator[CommTraffic]:
    traffic = CommTraffic()
    RecordingComm.traffic = traffic
    monkeypatch.setattr(comm, "create_comm", lambda *args, **kwargs: RecordingComm(*args, **kwargs))
    yield traffic
    RecordingComm.traffic = None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_transports(metafunc)  # some tests run in-process too (tests/in_process_support.py)


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Iterator[Playground]:
    """A started playground of its own (not the kernel's), stopped after the test; TCP, or in-process where a test
    is parametrized so."""
    yield from started_playground(request)


@pytest.fixture
def wait_until() -> Waiter:
    """``wait_until(condition, timeout=WAIT, what=...)``: poll until truthy (returns the value) or fail."""

    def wait(condition: Callable[[], Any], *, timeout: float = WAIT, what: str = "the condition") -> Any:
        return wait_for(condition, what, timeout)

    return wait
