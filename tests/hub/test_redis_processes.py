"""Two separate uvicorn processes share a room through a real redis-server, also across a Redis restart."""

from collections.abc import Iterator

import pytest

from tests.hub.hub_support import HubClient, RedisServer, UvicornProcess, numsub, wait_until

RESUBSCRIBE_TIMEOUT = 10.0


@pytest.fixture
def two_processes(own_redis_server: RedisServer) -> Iterator[list[UvicornProcess]]:
    env = {"LIHIL_TEST_REDIS_URL": own_redis_server.url, "LIHIL_TEST_BACKOFF_MAX": "1.0"}
    procs: list[UvicornProcess] = []
    try:
        procs.extend(UvicornProcess("redis_app", env) for _ in range(2))
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def test_two_uvicorn_processes_share_a_room(two_processes: list[UvicornProcess],
                                           own_redis_server: RedisServer) -> None:
    one, two = two_processes
    with HubClient(one.url()) as a, HubClient(two.url(), binary=True) as b:
        a.join("room:lobby")
        b.join("room:lobby")
        a.send("room:lobby", "whoami", ref="w")
        b.send("room:lobby", "whoami", ref="w")
        assert a.recv()["payload"]["response"] != b.recv()["payload"]["response"]  # two processes indeed
        a.send("room:lobby", "chat", "from process one", ref="c")
        assert b.recv_event("chat")["payload"] == "from process one"
        assert a.recv_event("chat")["payload"] == "from process one"

        own_redis_server.restart()
        wait_until(lambda: numsub(own_redis_server, "lihil:room:lobby") == 2, RESUBSCRIBE_TIMEOUT,
                   "both processes resubscribed by themselves")
        assert a.recv_event("bus_resumed")["topic"] == b.recv_event("bus_resumed")["topic"] == "room:lobby"
        b.send("room:lobby", "chat", "after the restart", ref="c2")
        assert a.recv_event("chat")["payload"] == "after the restart"
        assert b.recv_event("chat")["payload"] == "after the restart"
