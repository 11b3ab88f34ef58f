"""Across a console's sessions: search every payload, export the whole conversation as one JSON Lines file, and copy
any message found as a Python ``session.send(...)`` line or a ``websocat`` command line.

All of it runs on the main thread when the user asks (a click, Enter in the search box) and writes only its own
widgets (``lihil-console-search``, ``lihil-console-search-results``, ``lihil-console-export-all``, and the note).
"""

from __future__ import annotations

import heapq
import html
import json
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ...client.log import LogEntry
from ..style import button, error_html, html_view, text_field
from .export import DOWNLOAD_LIMIT, export_path, exported_html, write_jsonl
from .log_view import LogFilter

if TYPE_CHECKING:
    from .session_panel import SessionPanel

MAX_RESULTS = 100
"""Default number of search results shown (the newest); the count of the others is shown too."""


def python_line(entry: LogEntry, variable: str = "session") -> str:
    """The message as a line of Python that sends it again: ``session.send('hi')``."""
    if isinstance(entry.data, bytes):
        return f"{variable}.send(bytes.fromhex({entry.data.hex()!r}))"
    return f"{variable}.send({entry.data!r})"


def websocat_line(entry: LogEntry, url: str, headers: dict[str, str], subprotocols: Sequence[str], *,
                  token: bool = False) -> str:
    """A shell command that sends the message to ``url`` with websocat (one message, then waits for one).

    ``token``: the playground's token is on; the line sends it from the shell variable ``LIHIL_TOKEN`` (set it to
    ``pg.token``), because the line is shown in an output, and outputs are saved with the notebook."""
    options = [f"-H={shlex.quote(f'{name}: {value}')}" for name, value in headers.items()]
    if token and not any(name.lower() == "authorization" for name in headers):
        options.append('-H="Authorization: Bearer $LIHIL_TOKEN"')
    options += [f"--protocol={shlex.quote(protocol)}" for protocol in subprotocols]
    if isinstance(entry.data, bytes):
        payload = "".join(f"\\x{byte:02x}" for byte in entry.data)
        return " ".join(["printf", shlex.quote(payload), "|", "websocat", "-b", "-1", *options, shlex.quote(url)])
    text = entry.data or ""
    return " ".join(["printf", "'%s'", shlex.quote(text), "|", "websocat", "-1", *options, shlex.quote(url)])


class ConsoleSearch:
    """Search, export-all and copy-as for the panels ``panels()`` returns."""

    def __init__(
        self,
        panels: Callable[[], Sequence[SessionPanel]],
        *,
        export_dir: Path | None = None,
        max_results: int = MAX_RESULTS,
        download_limit: int = DOWNLOAD_LIMIT,
    ) -> None:
        self._panels = panels
        self.export_dir, self.max_results, self.download_limit = export_dir, max_results, download_limit
        self.query = text_field("", "search all sessions (Enter)", "220px", "lihil-console-search")
        self.query.continuous_update = False
        self.query.observe(lambda _: self.search(), names="value")
        self.results = html_view("", "lihil-console-search-results")
        self.results.layout = widgets.Layout(max_height="260px", overflow="auto", height="auto", width="100%")
        self.export_all_button = button("Export all", "lihil-console-export-all", lambda _: self._on_export_all())
        self.note = html_view("", "lihil-console-note")

    @property
    def widgets(self) -> list[widgets.Widget]:
        return [self.query, self.export_all_button, self.note]

    def entries(self) -> list[tuple[str, LogEntry]]:
        """Every panel's conversation, merged in time order, each entry with its session's name."""
        streams = [[(panel.name_input.value or "session", e) for e in panel.entries()] for panel in self._panels()]
        return list(heapq.merge(*streams, key=lambda item: item[1].time))

    def search(self, text: str | None = None) -> int:
        """Show the entries of all sessions whose whole payload contains ``text`` (default: the search box);
        return how many matched."""
        text = self.query.value if text is None else text
        if not text.strip():
            self.results.value = ""
            return 0
        keep = LogFilter(text)
        targets = {panel.name_input.value: panel for panel in self._panels()}
        found = [(name, entry) for name, entry in self.entries() if keep.keeps(entry)]
        shown = found[-self.max_results :]
        rows = [self._result(name, entry, targets.get(name)) for name, entry in shown]
        more = len(found) - len(shown)
        head = f"{len(found)} match(es) for <code>{html.escape(text)}</code>" + (
            f" · the newest {len(shown)} shown ({more} more; max_results={self.max_results})" if more else "")
        self.results.value = f"<div class='lihil-search-head'>{head}</div>" + "".join(rows)
        return len(found)

    def export_all(self, path: str | Path | None = None) -> Path:
        """Write every session's conversation as one JSON Lines file, in time order, each line naming its
        session; return the path."""
        lines = [{"session": name, **entry.to_dict()} for name, entry in self.entries()]
        return write_jsonl(lines, path or export_path(self.export_dir, "all-sessions"))

    def _result(self, name: str, entry: LogEntry, panel: SessionPanel | None) -> str:
        arrow = {"sent": "→", "received": "←"}.get(entry.direction, "•")
        shown = entry.data.hex(" ") if isinstance(entry.data, bytes) else str(entry.data or "")
        copies = ""
        if entry.kind in ("text", "binary"):
            url, headers, subprotocols, token = "", {}, [], False
            if panel is not None and panel.session is not None:
                url, headers, subprotocols = panel.session.url, panel.session.headers, panel.session.subprotocols
                token = panel.pg.token is not None
            websocat = websocat_line(entry, url, headers, subprotocols, token=token)
            copies = _copy("Python", python_line(entry)) + _copy(
                "websocat", websocat, "set LIHIL_TOKEN to pg.token first" if token else "")
        return (f"<div class='lihil-search-result lihil-log-{entry.direction}'><b>{html.escape(name)}</b> "
                f"{arrow} <span class='lihil-search-kind'>{entry.kind}</span> "
                f"<code class='lihil-search-data'>{html.escape(shown[:300])}</code>{copies}</div>")

    def _on_export_all(self) -> None:
        try:
            path = self.export_all()
        except OSError as error:
            self.note.value = error_html(f"Export failed: {error}")
            return
        self.note.value = exported_html(path, self.download_limit)


def _copy(label: str, line: str, hint: str = "") -> str:
    quoted = html.escape(json.dumps(line), quote=True)
    return (f"<div class='lihil-search-copy'><button class='lihil-copy lihil-copy-{label.lower()}' "
            f"title='copy this {label} line' onclick='navigator.clipboard.writeText({quoted})'>copy</button> "
            f"<span class='lihil-copy-label'>{label}</span> <code class='lihil-copy-{label.lower()}-line'>"
            f"{html.escape(line)}</code>"
            + (f" <span class='lihil-copy-hint'>({html.escape(hint)})</span>" if hint else "") + "</div>")
