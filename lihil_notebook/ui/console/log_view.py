"""The console's log view: how a log entry looks, which entries a filter keeps, and a bounded incremental view.

A session's ``log`` holds every entry; the view shows only the last ``max_entries`` that pass the filter. The
view is a ring of HTML "chunk" widgets, each holding up to ``chunk_size`` rendered rows. Appending rows re-sends
only the chunks that changed (normally the newest one, plus the oldest one when it is trimmed), so the comm
traffic per update is bounded by the chunk size and the number of new rows — never by the length of the log.
Chunk widgets that scroll out are recycled rather than closed, so a long session opens no new comms.
"""

from __future__ import annotations

import html
import json
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from ...client.log import CLOSE_CODE_NAMES

if TYPE_CHECKING:
    from ...client.session import LogEntry

#: The direction arrows of the issue: → sent, ← received, • event.
ARROWS = {"sent": "→", "received": "←", "event": "•"}
DIRECTIONS = tuple(ARROWS)


def render_entry(
    entry: LogEntry, *, max_text_chars: int = 4000, max_binary_bytes: int = 256, frames: bool = False
) -> str:
    """One log entry as an HTML row: time, direction arrow, size, payload.

    ``frames`` shows the frame view: a column with the frame's opcode (``0x1 text``, ``0x8 close``, ``0x9 ping``,
    …) and, for control frames, what they carry: the close code with its meaning and the reason, the ping's
    round-trip time on its pong. Connection events (open, errors, prints) have no opcode: they are not frames.

    Text that parses as a JSON object or array is pretty-printed; binary payloads show as hex. Long payloads
    are cut at ``max_text_chars`` characters / ``max_binary_bytes`` bytes on screen (the session's log and the
    export keep them whole). Everything from the wire is HTML-escaped.
    """
    if entry.kind == "separator":  # the console's own row between two connections of a panel
        return (f'<div class="lihil-log-row lihil-log-event lihil-log-kind-separator">'
                f'<pre class="lihil-log-data">{html.escape(str(entry.data))}</pre></div>')
    clock = time.strftime("%H:%M:%S", time.localtime(entry.time)) + f".{int(entry.time * 1000) % 1000:03d}"
    # Control frames and events show what they are; data frames their size.
    size = format_size(entry.size) if entry.kind in ("text", "binary") else entry.kind
    body = _payload_text(entry, max_text_chars=max_text_chars, max_binary_bytes=max_binary_bytes)
    opcode = ""
    if frames:
        code = OPCODES.get(entry.kind)
        opcode = f'<span class="lihil-log-opcode">{f"0x{code:X} {entry.kind}" if code is not None else "—"}</span>'
        body = _frame_text(entry, body)
    return (
        f'<div class="lihil-log-row lihil-log-{entry.direction} lihil-log-kind-{entry.kind}">'
        f'<span class="lihil-log-time">{clock}</span>'
        f'<span class="lihil-log-dir">{ARROWS.get(entry.direction, "?")}</span>{opcode}'
        f'<span class="lihil-log-size">{html.escape(size)}</span>'
        f'<pre class="lihil-log-data">{html.escape(body)}</pre></div>'
    )


#: WebSocket opcodes (RFC 6455 §5.2) of the log kinds that are frames on the wire.
OPCODES = {"text": 0x1, "binary": 0x2, "close": 0x8, "ping": 0x9, "pong": 0xA}


def _frame_text(entry: LogEntry, body: str) -> str:
    if entry.kind == "close":
        code, _, reason = body.partition(" ")
        meaning = CLOSE_CODE_NAMES.get(int(code)) if code.isdigit() else None
        return (f"code {code}" + (f" ({meaning})" if meaning else "") + (f" · reason {reason!r}" if reason else
                " · no reason"))
    if entry.kind == "pong":
        return f"RTT {body}"
    if entry.kind == "ping":
        return "ping sent, waiting for its pong"
    if entry.kind in ("text", "binary"):
        return f"{entry.size} bytes · {body}"
    return body


@dataclass(frozen=True)
class LogFilter:
    """Which entries the view shows: a case-insensitive text match on the whole payload, and directions."""

    text: str = ""
    directions: frozenset[str] = frozenset(DIRECTIONS)

    @property
    def is_open(self) -> bool:
        """True when the filter keeps every entry."""
        return not self.text and self.directions == frozenset(DIRECTIONS)

    def keeps(self, entry: LogEntry) -> bool:
        if entry.direction not in self.directions:
            return False
        if not self.text:
            return True
        needle = self.text.lower()
        return needle in entry.kind or needle in searchable_text(entry).lower()

    def last_kept(self, entries: Sequence[LogEntry], limit: int) -> list[LogEntry]:
        """The last ``limit`` entries of ``entries`` that pass, oldest first (scans from the end only)."""
        if self.is_open:
            return list(entries[-limit:]) if limit else []
        kept: list[LogEntry] = []
        for entry in reversed(entries):
            if len(kept) >= limit:
                break
            if self.keeps(entry):
                kept.append(entry)
        kept.reverse()
        return kept


def searchable_text(entry: LogEntry) -> str:
    """The full payload as text, for filtering: text as is, binary as hex (filters must see whole payloads)."""
    if isinstance(entry.data, bytes):
        return entry.data.hex(" ")
    return entry.data or ""


@dataclass
class _Chunk:
    widget: widgets.HTML
    rows: list[str] = field(default_factory=list)


class LogView:
    """A bounded, incrementally updated log view: the last ``max_entries`` rows in chunks of ``chunk_size``.

    ``widget`` is what to display (CSS class ``lihil-console-log``). It scrolls inside a box of ``height`` and
    stays pinned to the newest row. Only one thread may call :meth:`append` / :meth:`replace` (the console's
    UI pump); ``writes`` and ``rows_rendered`` count the widget updates it caused, for tests and benchmarks.
    """

    def __init__(self, *, max_entries: int = 500, chunk_size: int = 20, height: str = "320px") -> None:
        if max_entries < 1:
            raise ValueError(
                f"LogView(max_entries=...): expected a positive number of entries, got {max_entries}"
            )
        if chunk_size < 1:
            raise ValueError(f"LogView(chunk_size=...): expected a positive number of rows, got {chunk_size}")
        self.max_entries = max_entries
        self.chunk_size = chunk_size
        self.writes = 0
        self.rows_rendered = 0
        self._chunks: deque[_Chunk] = deque()
        self._spare: list[widgets.HTML] = []
        self._count = 0
        self._chunk_layout = widgets.Layout(width="100%")
        self._chunk_style = HTMLStyle()
        self._seq = 0
        # The rows never scroll on their own (a box shrinks and scrolls by default): the log box is the one
        # scroller, and the console's front end (static/console.js) keeps it pinned to the newest row.
        self._rows = widgets.VBox(layout=widgets.Layout(width="100%", flex="0 0 auto", overflow="visible"))
        self._rows.add_class("lihil-log-rows")
        self.widget = widgets.Box(
            [self._rows],
            layout=widgets.Layout(
                display="flex",
                flex_flow="column",
                overflow="hidden auto",
                max_height=height,
                width="100%",
            ),
        )
        self.widget.add_class("lihil-console-log")

    def __len__(self) -> int:
        return self._count

    @property
    def rows(self) -> list[str]:
        """The rendered rows on screen, oldest first."""
        return [row for chunk in self._chunks for row in chunk.rows]

    def append(self, rows: Sequence[str]) -> None:
        """Add rows at the bottom, dropping the oldest beyond ``max_entries``; re-send only changed chunks."""
        if not rows:
            return
        if len(rows) >= self.max_entries:
            self.replace(rows)
            return
        # Drop what the new rows push out first, so no chunk is filled only to be dropped.
        changed, reordered = self._drop_oldest(self._count + len(rows) - self.max_entries)
        for row in self._numbered(rows, renumber=False):
            if not self._chunks or len(self._chunks[-1].rows) >= self.chunk_size:
                self._chunks.append(_Chunk(self._take_widget()))
                reordered = True
            newest = self._chunks[-1]
            newest.rows.append(row)
            if not changed or changed[-1] is not newest:
                changed.append(newest)
        self._count += len(rows)
        self.rows_rendered += len(rows)
        self._publish(changed, reordered)

    def _drop_oldest(self, excess: int) -> tuple[list[_Chunk], bool]:
        changed: list[_Chunk] = []
        reordered = False
        while excess > 0:
            oldest = self._chunks[0]
            if excess >= len(oldest.rows):
                self._chunks.popleft()
                self._spare.append(oldest.widget)
                self._count -= len(oldest.rows)
                excess -= len(oldest.rows)
                reordered = True
            else:
                del oldest.rows[:excess]
                self._count -= excess
                excess = 0
                changed.append(oldest)
        return changed, reordered

    def replace(self, rows: Iterable[str]) -> None:
        """Show exactly ``rows`` (the last ``max_entries`` of them), e.g. after a filter change or a clear."""
        kept = self._numbered(list(rows)[-self.max_entries :], renumber=True)
        for chunk in self._chunks:
            self._spare.append(chunk.widget)
        self._chunks.clear()
        for start in range(0, len(kept), self.chunk_size):
            self._chunks.append(_Chunk(self._take_widget(), kept[start : start + self.chunk_size]))
        self._count = len(kept)
        self.rows_rendered += len(kept)
        self._publish(list(self._chunks), reordered=True)

    def _numbered(self, rows: Sequence[str], *, renumber: bool) -> list[str]:
        """Give each row a ``data-seq`` number, newest highest: the front end counts "N new" rows with it.
        Re-rendered rows (``renumber``) end at the current number, so a filter change counts as nothing new."""
        first = self._seq - len(rows) + 1 if renumber else self._seq + 1
        if not renumber:
            self._seq += len(rows)
        return [row.replace("<div ", f'<div data-seq="{first + i}" ', 1) for i, row in enumerate(rows)]

    def _take_widget(self) -> widgets.HTML:
        if self._spare:
            return self._spare.pop()
        # One shared layout and style, and the class given at creation: a new chunk opens one comm, not three,
        # and sends no extra update for its class.
        return widgets.HTML(
            layout=self._chunk_layout, style=self._chunk_style, _dom_classes=("lihil-log-chunk",)
        )

    def _publish(self, changed: list[_Chunk], reordered: bool) -> None:
        for chunk in changed:
            chunk.widget.value = "".join(chunk.rows)
            self.writes += 1
        if reordered:
            self._rows.children = tuple(chunk.widget for chunk in self._chunks)
            self.writes += 1


def _payload_text(entry: LogEntry, *, max_text_chars: int, max_binary_bytes: int) -> str:
    data = entry.data
    if data is None:
        return ""
    if isinstance(data, bytes):
        shown = data[:max_binary_bytes].hex(" ")
        rest = len(data) - max_binary_bytes
        return shown + (f" … (+{rest} bytes)" if rest > 0 else "")
    if entry.kind == "text" and data[:1] in ("{", "[") and len(data) <= 16 * max_text_chars:
        try:
            data = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
        except ValueError:
            pass  # not JSON after all: show the text as it came
    if len(data) > max_text_chars:
        return data[:max_text_chars] + f" … (+{len(data) - max_text_chars} characters)"
    return data


def format_size(size: int) -> str:
    """A byte count for people: ``512 B``, ``1.5 KiB``, ``2.0 MiB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
