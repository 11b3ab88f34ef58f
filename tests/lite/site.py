"""The JupyterLite site under test: built by ``lite/build.py``, served as static files on 127.0.0.1, driven in
headless Chromium with every request that would leave 127.0.0.1 recorded and refused."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("LIHIL_LITE_SITE", REPO_ROOT / "build" / "lite" / "_output"))
KERNEL_BOOT = 240.0
"""Seconds the Pyodide kernel gets to boot (the runtime, the preloaded wheels, IPython): ~10-30 s on 2 cores."""

#: Run code in the current notebook's kernel and collect its outputs (through JupyterLab's own kernel API).
RUN_CODE = """async (code) => {
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session.kernel;
  const outputs = [];
  const future = kernel.requestExecute({code});
  future.onIOPub = (msg) => {
    const type = msg.header.msg_type;
    if (['stream', 'error', 'execute_result', 'display_data'].includes(type)) outputs.push({type, content: msg.content});
  };
  const reply = await future.done;
  return {status: reply.content.status, outputs};
}"""


def build_site() -> Path:
    """``lite/build.py`` unless ``LIHIL_LITE_SITE`` points at a built site (``make test`` builds it first)."""
    if "LIHIL_LITE_SITE" not in os.environ:
        subprocess.run([sys.executable, str(REPO_ROOT / "lite" / "build.py")], check=True, cwd=REPO_ROOT,
                       stdout=subprocess.DEVNULL)
    if not (SITE / "lab" / "index.html").exists():
        raise FileNotFoundError(f"no JupyterLite site at {SITE}: run `make lite`")
    return SITE


class StaticSite:
    """``directory`` served on 127.0.0.1 (a free port) by the standard library, from a thread of this process."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="lite-static", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".mjs": "text/javascript", ".js": "text/javascript"}

    def log_message(self, format: str, *args: Any) -> None:
        pass


def refuse_outside(context: Any, base: str, outside: list[str]) -> None:
    """Every request of ``context`` to anything but ``base`` is recorded in ``outside`` and aborted."""

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith((base + "/", "data:", "blob:")) or url == base:
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    context.route("**/*", route)


def open_notebook(page: Any, base: str, name: str) -> float:
    """Open ``name`` in JupyterLite and wait until its Pyodide kernel is idle; the seconds it took."""
    started = time.monotonic()
    page.goto(f"{base}/lab/index.html?path={name}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=KERNEL_BOOT * 1000)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', state="attached",
                           timeout=KERNEL_BOOT * 1000)
    run_code(page, "1")  # the kernel answers: booted, packages loaded
    return time.monotonic() - started


def run_code(page: Any, code: str) -> dict[str, Any]:
    return dict(page.evaluate(RUN_CODE, code))


def output_text(result: dict[str, Any]) -> str:
    """The text of a :func:`run_code` result's outputs (streams, results, error names and values)."""
    parts = []
    for output in result["outputs"]:
        content = output["content"]
        if output["type"] == "stream":
            parts.append(content["text"])
        elif output["type"] == "error":
            parts.append(f"{content['ename']}: {content['evalue']}")
        else:
            parts.append(str(content.get("data", {}).get("text/plain", "")))
    return "".join(parts)


#: Every error output of the open notebook, read from its model (the page renders only the cells in view).
NOTEBOOK_ERRORS = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const errors = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    for (const output of cell.outputs.toJSON()) {
      if (output.output_type === 'error') errors.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
      if (output.output_type === 'stream' && output.name === 'stderr') errors.push(`cell ${i} stderr: ${output.text}`);
    }
  }
  return errors;
}"""

#: True once Run All is over: no cell waits or runs, and every code cell ran (or one failed, stopping the rest).
RUN_ALL_OVER = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  let failed = false, pending = false;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    if (cell.outputs.toJSON().some(o => o.output_type === 'error')) failed = true;
    if (cell.executionCount === null && cell.sharedModel.getSource().trim()) pending = true;
  }
  const busy = document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="busy"]');
  return failed || (!pending && !busy);
}"""


def run_all(page: Any, timeout: float = 300.0) -> float:
    """Run → Run All Cells, and wait until it is over; the seconds it took."""
    started = time.monotonic()
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    page.wait_for_function(RUN_ALL_OVER, timeout=timeout * 1000)
    return time.monotonic() - started


def notebook_errors(page: Any) -> list[str]:
    return list(page.evaluate(NOTEBOOK_ERRORS))
