"""Raw HTTP for the edge tests: requests with exactly the headers a browser (or an attacker's page) would send."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

from tests.notebook.playground_support import WAIT

WS_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    port: int, method: str, target: str, headers: dict[str, str], body: bytes = b"", *, host: str | None = None,
    token: str | None = None,
) -> Answer:
    """Send one request on a fresh connection to 127.0.0.1:port and read the answer's head and body.

    ``host`` is the Host header (default ``127.0.0.1:port``); pass ``""`` to send none. ``token``: sent as
    ``Authorization: Bearer``, as a client given ``pg.token`` would.
    """
    host_header = f"127.0.0.1:{port}" if host is None else host
    if token is not None:
        headers = {"Authorization": f"Bearer {token}", **headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if host_header:
        lines.append(f"Host: {host_header}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return read_answer(sock)


def read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed the connection without an answer; got {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if status == 101:
        return Answer(status, headers, b"")
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Answer(status, headers, rest[:length])


def ws_handshake(port: int, path: str, headers: dict[str, str] | None = None, *, host: str | None = None,
                 token: str | None = None) -> Answer:
    return raw_request(port, "GET", path, {**WS_HEADERS, **(headers or {})}, host=host, token=token)
