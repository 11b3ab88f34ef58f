"""Where the user's *browser* reaches the playground: direct, or through the Jupyter server's proxy.

The kernel always reaches its server at ``http://127.0.0.1:PORT``. The browser may not: on JupyterHub and Binder the
browser talks only to the hub, and a Jupyter server with jupyter-server-proxy relays ``{base_url}proxy/{port}/...``
to ``localhost:{port}`` (the prefix stripped) and ``{base_url}proxy/absolute/{port}/...`` (the prefix kept).
:func:`detect` finds out which case this kernel is in, once:

* Google Colab (``google.colab`` importable): no WebSocket proxy there; URLs stay direct, pages are shown through
  the widget comm (``pg.show``) and the console pulls its updates.
* VS Code (``VSCODE_PID`` or any ``VSCODE_*`` variable): outputs render in a webview on the user's machine; a
  remote kernel's port is reached by forwarding it (the Ports panel), so URLs stay direct, never proxy URLs.
* A Jupyter server started this kernel (its ``jpserver-<pid>.json`` in the runtime directory names our parent
  process) or ``JUPYTERHUB_SERVICE_PREFIX`` is set (JupyterHub, Binder): proxy URLs under its base URL — when the
  server answers ``{base_url}server-proxy/servers-info``, i.e. jupyter-server-proxy is loaded *in the server's*
  environment (which may not be the kernel's). Without a server file (a hub image that keeps none) it is enough
  that ``jupyter_server_proxy`` is importable here.
* Otherwise: direct, ``http://127.0.0.1:PORT``.

The host the browser uses (``hub.example.org``, or ``localhost:8888``) is known only to the browser, unless
``JUPYTERHUB_PUBLIC_URL`` says it: a proxied :meth:`Reach.url` is then path-absolute (``/user/ann/proxy/8765/x``),
which works as a link in the notebook page and in ``new WebSocket(...)``; the widgets complete it from the page's
``location`` for display and copying.
"""

from __future__ import annotations

import importlib.util
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from .wire import with_token

__all__ = ["Reach", "Where", "detect", "jupyter_origins", "open_direct", "with_token"]

Where = Literal["local", "jupyter-proxy", "vscode", "colab"]

PROBE_TIMEOUT = 3.0
"""Seconds to wait for the Jupyter server (our parent process) to say whether jupyter-server-proxy is loaded; once
per kernel. Generous because a busy machine can be slow to answer, and a timeout means no proxy URLs."""


@dataclass(frozen=True)
class Reach:
    """How the browser reaches the playground. ``proxy_base`` is the Jupyter server's base URL (``/`` or
    ``/user/ann/``) when the browser goes through its proxy, else None; ``public_origin`` the browser-side origin
    (``https://hub.example.org``) when known; ``why`` says in a few words how this was decided."""

    where: Where
    proxy_base: str | None = None
    public_origin: str | None = None
    why: str = ""

    def url(self, port: int, path: str, *, websocket: bool = False, absolute: bool = False) -> str:
        """The browser's URL of ``path`` on the playground serving on ``port``.

        ``absolute=True`` uses the proxy's ``proxy/absolute/{port}`` form (the playground strips the prefix itself).
        Direct: ``http://127.0.0.1:PORT/path`` (``ws://`` for ``websocket``).
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path: expected a path starting with '/', got {path!r}")
        if self.proxy_base is None:
            return f"{'ws' if websocket else 'http'}://127.0.0.1:{port}{path}"
        form = "proxy/absolute" if absolute else "proxy"
        relative = f"{self.proxy_base}{form}/{port}{path}"
        if self.public_origin is None:
            return relative  # the page's location supplies scheme and host
        origin = self.public_origin
        if websocket:
            origin = "wss" + origin[5:] if origin.startswith("https") else "ws" + origin[4:]
        return origin + relative


def detect(env: Mapping[str, str] | None = None, *, runtime_dirs: list[Path] | None = None,
           parent_pid: int | None = None, probe: bool = True) -> Reach:
    """Decide how the browser reaches this kernel's playground (see the module docstring for the rules)."""
    env = os.environ if env is None else env
    if _importable("google.colab"):
        return Reach("colab", why="Google Colab: no WebSocket proxy; pages go through the widget comm")
    vscode = sorted(name for name in env if name.startswith("VSCODE_"))
    if vscode:
        return Reach("vscode", why=f"VS Code ({vscode[0]} is set): forward the port to reach it from a browser")
    hub_prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    server = find_jupyter_server(runtime_dirs or _runtime_dirs(env),
                                 os.getppid() if parent_pid is None else parent_pid)
    public = _public_origin(env.get("JUPYTERHUB_PUBLIC_URL", ""))
    if server is not None:
        base = _slashed(hub_prefix or str(server.get("base_url") or "/"))
        if not probe or _server_has_proxy(server):
            return Reach("jupyter-proxy", base, public, f"the Jupyter server at {server.get('url')} has "
                         "jupyter-server-proxy")
        return Reach("local", why=f"the Jupyter server at {server.get('url')} has no jupyter-server-proxy "
                     "(pip install 'lihil-playground[hub]' in the server's environment)")
    if hub_prefix:
        if _importable("jupyter_server_proxy"):
            return Reach("jupyter-proxy", _slashed(hub_prefix), public,
                         "JupyterHub (JUPYTERHUB_SERVICE_PREFIX) with jupyter-server-proxy installed")
        return Reach("local", why="JupyterHub without jupyter-server-proxy: install 'lihil-playground[hub]' in "
                     "the server's environment")
    return Reach("local", why="no Jupyter server proxy found: the browser reaches 127.0.0.1 directly")


def find_jupyter_server(runtime_dirs: list[Path], parent_pid: int) -> dict[str, Any] | None:
    """The ``jpserver-*.json`` record of the Jupyter server whose process started this kernel, if any."""
    for directory in runtime_dirs:
        for path in sorted(directory.glob("jpserver-*.json")):
            try:
                info = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(info, dict) and info.get("pid") == parent_pid:
                return info
    return None


def _server_has_proxy(server: Mapping[str, Any]) -> bool:
    """Whether the Jupyter server answers jupyter-server-proxy's own API, with the server's token."""
    url = str(server.get("url") or "")
    if not url.startswith(("http://", "https://")):
        return False
    request = urllib.request.Request(url.rstrip("/") + "/server-proxy/servers-info")
    if server.get("token"):
        request.add_header("Authorization", f"token {server['token']}")
    try:
        with open_direct(request, timeout=PROBE_TIMEOUT) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def open_direct(request: urllib.request.Request, *, timeout: float) -> Any:
    """``urlopen`` that never goes through a proxy from ``http_proxy``/``https_proxy``/``all_proxy``: the kernel
    talks to its own server and the Jupyter server on loopback, with tokens a proxy must not see."""
    return _DIRECT.open(request, timeout=timeout)


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def jupyter_origins(env: Mapping[str, str] | None = None, *, runtime_dirs: list[Path] | None = None,
                    parent_pid: int | None = None) -> list[str]:
    """The origins of the Jupyter server this kernel belongs to, whose page runs the outputs' scripts: its URL's
    origin (with ``localhost``, ``127.0.0.1`` and ``[::1]`` for a loopback server, which the browser may use
    interchangeably) and the hub's public origin (``JUPYTERHUB_PUBLIC_URL``). Empty when no server started it."""
    env = os.environ if env is None else env
    origins = []
    public = _public_origin(env.get("JUPYTERHUB_PUBLIC_URL", ""))
    if public:
        origins.append(public)
    server = find_jupyter_server(runtime_dirs or _runtime_dirs(env),
                                 os.getppid() if parent_pid is None else parent_pid)
    parts = urlsplit(str((server or {}).get("url") or ""))
    if parts.scheme in ("http", "https") and parts.hostname:
        try:
            port = parts.port
        except ValueError:
            port = None
        suffix = f":{port}" if port is not None else ""
        hosts = [parts.hostname]
        if parts.hostname in ("localhost", "127.0.0.1", "::1", "0.0.0.0", "::"):
            hosts = ["localhost", "127.0.0.1", "::1"]
        origins += [f"{parts.scheme}://{f'[{h}]' if ':' in h else h}{suffix}" for h in hosts]
    return origins


def _runtime_dirs(env: Mapping[str, str]) -> list[Path]:
    """Where Jupyter servers write ``jpserver-*.json``: the kernel's connection-file directory and Jupyter's
    runtime directory."""
    dirs: list[Path] = []
    connection_file = _connection_file()
    if connection_file:
        dirs.append(Path(connection_file).parent)
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        dirs.append(Path(jupyter_runtime_dir()))
    except ImportError:
        if env.get("JUPYTER_RUNTIME_DIR"):
            dirs.append(Path(env["JUPYTER_RUNTIME_DIR"]))
    return list(dict.fromkeys(dirs))


def _connection_file() -> str | None:
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError:
        return None
    if not IPKernelApp.initialized():
        return None
    return str(IPKernelApp.instance().connection_file or "") or None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _slashed(base: str) -> str:
    base = "/" + base.strip("/") + "/"
    return "/" if base == "//" else base


def _public_origin(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None
