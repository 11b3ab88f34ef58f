"""Fixtures for the core suite: real uvicorn servers on 127.0.0.1 and log capture, stopped/removed at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.core.core_support import LogRecorder, ServerThread, recording_logs


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerThread]]:
    """`serve(app, ws="websockets-sansio", root_path="") -> ServerThread`, started; every server is stopped at
    teardown."""
    started: list[ServerThread] = []

    def start(app: Any, *, ws: str = "websockets-sansio", root_path: str = "") -> ServerThread:
        server = ServerThread(app, ws=ws, root_path=root_path).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def logs() -> Iterator[LogRecorder]:
    """Warnings and errors logged by any thread (uvicorn, lihil, websockets, root) during the test."""
    with recording_logs() as recorder:
        yield recorder
