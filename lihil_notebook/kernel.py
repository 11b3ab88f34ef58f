"""The kernel's one :class:`~lihil_notebook.playground.Playground`: kept on the IPython shell, which ``%reload_ext``
does not re-create (module globals are reset by a reload), so routes and settings survive it."""

from __future__ import annotations

import threading
from typing import Any

from .playground import Playground

SHELL_ATTRIBUTE = "_lihil_playground"
"""Where the kernel's Playground lives: an attribute of the IPython shell."""

_standalone: Playground | None = None
_singleton_lock = threading.Lock()


def playground() -> Playground:
    """The kernel's Playground (created on first use). Outside IPython: one per process."""
    global _standalone
    shell = _ipython_shell()
    with _singleton_lock:
        if shell is not None:
            found = getattr(shell, SHELL_ATTRIBUTE, None)
            if found is None:
                found = _standalone or Playground()
                setattr(shell, SHELL_ATTRIBUTE, found)
            return found
        if _standalone is None:
            _standalone = Playground()
        return _standalone


def _ipython_shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
