"""Test kit for the hub suite: uvicorn in a thread, a hub-protocol client, a real redis-server, uvicorn processes.

Everything is real: uvicorn on 127.0.0.1, the `websockets` client, Debian's `redis-server`. Every wait has a named
timeout and waits on a condition (a frame, a PING answer, a port that accepts); servers are stopped by their pid.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.sync.client import ClientConnection, connect

from benchmarks.bench_support import free_port, stop

START_TIMEOUT = 10.0
"""Seconds a server (uvicorn or redis-server) may take to start answering."""
STOP_TIMEOUT = 5.0
"""Seconds a server may take to exit after SIGTERM (then SIGKILL)."""
FRAME_TIMEOUT = 5.0
"""Seconds a test waits for one expected frame."""
HERE = Path(__file__).resolve().parent


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.02) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(step)


class ServerThread:
    """uvicorn serving ``app`` on a pre-bound 127.0.0.1 socket in a daemon thread (its own event loop)."""

    def __init__(self, app: Any, *, ws: str = "websockets-sansio") -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(app, ws=ws, lifespan="on", log_level="warning", log_config=None, loop="asyncio",
                                timeout_graceful_shutdown=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config.load()
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="hub-uvicorn", daemon=True)

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def start(self) -> ServerThread:
        self._thread.start()
        wait_until(lambda: self.server.started or not self._thread.is_alive(), START_TIMEOUT, "uvicorn started")
        if not self.server.started:
            raise RuntimeError("uvicorn exited before starting")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self._sock])
        finally:
            self._sock.close()


class HubClient:
    """A `websockets` client that speaks the hub protocol; text frames unless ``binary=True``."""

    def __init__(self, url: str, *, binary: bool = False, **connect_kwargs: Any) -> None:
        self.binary = binary
        self.ws: ClientConnection = connect(url, open_timeout=START_TIMEOUT, close_timeout=2.0, proxy=None,
                                            **connect_kwargs).__enter__()
        self.frame_types: list[str] = []

    def send(self, topic: Any, event: Any = None, payload: Any = None, **extra: Any) -> None:
        env = {"topic": topic, "event": event, "payload": payload, **extra}
        self.send_raw(json.dumps({k: v for k, v in env.items() if v is not None or k == "payload"}))

    def send_raw(self, data: str | bytes) -> None:
        if self.binary and isinstance(data, str):
            data = data.encode()
        self.ws.send(data)

    def recv(self, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        frame = self.ws.recv(timeout=timeout)
        self.frame_types.append("binary" if isinstance(frame, bytes) else "text")
        decoded: dict[str, Any] = json.loads(frame)
        return decoded

    def join(self, topic: str, ref: str = "j1", **payload: Any) -> dict[str, Any]:
        self.send(topic, "join", payload or None, ref=ref)
        reply = self.recv()
        assert reply["event"] == "reply" and reply["ref"] == ref, reply
        return reply

    def recv_event(self, event: str, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        """The next frame, which must be ``event``."""
        frame = self.recv(timeout)
        assert frame["event"] == event, frame
        return frame

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- redis-server ------------------------------------------------------------------------------------------------

REDIS_SERVER = shutil.which("redis-server")


def require_redis_server() -> str:
    """The redis-server binary; where it is missing, fail under CI (CI=true) and skip elsewhere, saying how."""
    if REDIS_SERVER:
        return REDIS_SERVER
    how = "install Debian's redis-server (`make services`, or `apt-get install -y redis-server`)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"redis-server is not on PATH, and CI=true requires the Redis tests to run: {how}")
    pytest.skip(f"redis-server is not on PATH; {how} to run the Redis tests")


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A started :class:`RedisServer` (skipped or failed as :func:`require_redis_server` says where there is none);
    stopped by its pid, and its temp folder removed, on the way out."""
    server = RedisServer(require_redis_server()).start()
    try:
        yield server
    finally:
        server.cleanup()


class RedisServer:
    """A real redis-server on 127.0.0.1:``port`` in a temp dir, no persistence; stopped by its pid."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary, self.port = binary, port or free_port()
        self.dir = tempfile.mkdtemp(prefix="lihil-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.answers_ping() or self.proc is None or self.proc.poll() is not None,
                   START_TIMEOUT, f"redis-server on port {self.port} answers PING")
        if not self.answers_ping():
            raise RuntimeError(f"redis-server on port {self.port} exited with {self.proc.poll()}")
        return self

    def answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One raw RESP command, for checks (``CLIENT LIST``...); returns the raw reply."""
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0) as sock:
            sock.sendall(payload.encode())
            sock.settimeout(2.0)
            return sock.recv(65536)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        stop(proc, timeout=STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop by pid, then start again on the same port."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- uvicorn processes -------------------------------------------------------------------------------------------


class UvicornProcess:
    """``python -m uvicorn --factory hub_apps:<factory>`` on 127.0.0.1 and a free port; stopped by its pid."""

    def __init__(self, factory: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", f"hub_apps:{factory}", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=HERE, env={**os.environ, "PYTHONPATH": str(HERE), **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: self._accepts() or self.proc.poll() is not None, START_TIMEOUT,
                   f"uvicorn process on port {self.port} accepts connections")
        if self.proc.poll() is not None:
            assert self.proc.stderr is not None
            raise RuntimeError(f"uvicorn process exited: {self.proc.stderr.read().decode()[-2000:]}")

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        stop(self.proc, timeout=STOP_TIMEOUT)
        if self.proc.stderr:
            self.proc.stderr.close()


class RawClient:
    """A WebSocket client on a bare socket that reads only when told to — a truly slow client.

    (`websockets` reads ahead into its own memory, so the server would never see it fall behind.)
    """

    def __init__(self, port: int, path: str = "/ws", rcvbuf: int = 4096) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(FRAME_TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            self._buffer += self._recv()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_text(self, text: str) -> None:
        payload = text.encode()
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def recv_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame from the server."""
        header = self._take(2)
        opcode, length = header[0] & 0x0F, header[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._take(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._take(8))[0]
        return opcode, self._take(length)

    def close(self) -> None:
        self.sock.close()

    def _take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += self._recv()
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the TCP connection")
        return chunk


def numsub(redis: RedisServer, channel: str) -> int:
    """How many connections Redis has subscribed to ``channel`` (``PUBSUB NUMSUB``)."""
    try:
        reply = redis.command("PUBSUB", "NUMSUB", channel)
    except OSError:
        return -1
    return int(reply.rstrip(b"\r\n").rsplit(b":", 1)[1])
