"""Fixtures for the hub suite: uvicorn servers in threads, and a real redis-server per module (or per test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.hub.hub_support import RedisServer, ServerThread, require_redis_server


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerThread]]:
    """``serve(app) -> ServerThread``, started; every server is stopped at teardown."""
    started: list[ServerThread] = []

    def start(app: Any, **kwargs: Any) -> ServerThread:
        server = ServerThread(app, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server shared by a module's tests (fails under CI=true if redis-server is missing, else skips)."""
    server = RedisServer(require_redis_server()).start()
    yield server
    server.cleanup()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test's own, for tests that stop and restart it."""
    server = RedisServer(require_redis_server()).start()
    yield server
    server.cleanup()
