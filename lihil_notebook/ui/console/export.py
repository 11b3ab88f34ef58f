"""Exporting a conversation as JSON Lines: one entry per line (``LogEntry.to_dict``), a file next to the
notebook, and a download link for files small enough to inline."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...client.log import LogEntry

DOWNLOAD_LIMIT = 512 * 1024
"""Default size in bytes up to which an export also gets an inline download link."""


def export_path(folder: Path | None, name: str) -> Path:
    """A new file name in ``folder`` (default: the working directory, i.e. next to the notebook)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (folder or Path.cwd()) / f"lihil-{safe_filename(name)}-{stamp}.jsonl"


def write_jsonl(entries: Iterable[LogEntry | dict[str, Any]], path: str | Path) -> Path:
    """Write ``entries`` (log entries, or dicts already) as JSON lines to ``path``; return the path."""
    path = Path(path)
    lines = [json.dumps(e if isinstance(e, dict) else e.to_dict(), ensure_ascii=False) for e in entries]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def exported_html(path: Path, download_limit: int = DOWNLOAD_LIMIT) -> str:
    """The note after an export: how many entries went where, and a download link (a link, not a button)."""
    data = path.read_bytes()
    link = ""
    if len(data) <= download_limit:
        href = "data:application/x-ndjson;base64," + base64.b64encode(data).decode()
        link = (f' · <a class="lihil-console-download" download="{html.escape(path.name)}" '
                f'href="{href}">download</a>')
    count = data.count(b"\n")
    return f"Exported {count} entries to <code>{html.escape(str(path))}</code>{link}"


def safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "session"
