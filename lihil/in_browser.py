"""What differs in a browser's Python (Pyodide, e.g. a JupyterLite kernel): one thread, and a cell can wait for the
loop only by suspending through ``pyodide.ffi.run_sync`` (WebAssembly JS Promise Integration)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

IN_BROWSER = sys.platform == "emscripten"
"""True in Pyodide: no threads, no listening sockets."""


def browser_run_sync() -> Callable[[Awaitable[Any]], Any] | None:
    """``pyodide.ffi.run_sync`` where this browser and this call stack can suspend (JSPI), else None."""
    try:
        from pyodide.ffi import can_run_sync, run_sync
    except ImportError:
        return None
    return run_sync if can_run_sync() else None
