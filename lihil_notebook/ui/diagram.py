"""A picture of the conversation: ``diagram(ann, bob)`` draws a sequence diagram of sessions as SVG.

One lifeline per session and one for the server (labelled with the routes the sessions talk to); one arrow per
message in time order, labelled with its text (shortened); opens and closes with their codes; errors, refused
handshakes and server tracebacks in red. A hub's envelopes read ``topic · event · payload`` (joins and exits as
``join room:lobby``, replies as ``reply to chat #3: ok``, error replies in red). It is plain SVG (``_repr_svg_``), so it renders in JupyterLab, Notebook,
VS Code and nbconvert output alike, and the console's "Diagram" view shows the same picture of its sessions.

Bounded: at most ``max_rows`` rows (the newest); a first row says how many earlier ones are not drawn.
"""

from __future__ import annotations

import heapq
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from xml.sax.saxutils import escape

from ..client.log import LogEntry
from .hub_envelope import Envelope, compact, parse_envelope, reply_summary, sent_requests

MAX_ROWS = 200
"""Default number of rows (messages and events) a diagram draws; the oldest beyond it are counted, not drawn."""
LABEL_CHARS = 36
"""Default number of characters of a message shown on its arrow (the rest becomes "…")."""

_COLUMN = 190  # px between lifelines
_ROW = 24  # px per row
_TOP = 44  # px of the header boxes
_LEFT = 96  # px of the time column
_CHAR_PX = 7.3  # px per character of monospace 12 px
_COLORS = {"sent": "#1a73e8", "received": "#188038", "event": "#5f6368", "error": "#c5221f", "stale": "#b06000"}
_ERRORS = frozenset({"error", "denied", "server-error"})
_HUB_EVENTS = frozenset({"join", "exit", "reply"})  # the protocol's own events get their own class


class HasLog(Protocol):
    """What a diagram needs of a session: a name, a path and its log (a :class:`~lihil_notebook.Session` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def log(self) -> Sequence[LogEntry]: ...


def diagram(
    *sessions: HasLog, max_rows: int = MAX_ROWS, label_chars: int = LABEL_CHARS, ids: str | None = None
) -> Diagram:
    """A sequence diagram of ``sessions`` (in the order given, left to right after the server). ``ids`` prefixes
    the SVG's own ids (its arrowheads), so that many diagrams on one page keep their own (default: a fresh one)."""
    return Diagram(sessions, max_rows=max_rows, label_chars=label_chars, ids=ids)


@dataclass(frozen=True)
class _Row:
    time: float
    lane: int  # the session's lifeline
    entry: LogEntry


class Diagram:
    """The SVG of a conversation; ``svg`` is the markup, ``rows_dropped`` how many rows were not drawn."""

    def __init__(
        self, sessions: Iterable[HasLog], *, max_rows: int = MAX_ROWS, label_chars: int = LABEL_CHARS,
        ids: str | None = None,
    ) -> None:
        if max_rows < 1:
            raise ValueError(f"diagram(max_rows=...): expected a positive number of rows, got {max_rows}")
        self.sessions = list(sessions)
        self.max_rows = max_rows
        self.label_chars = label_chars
        self.ids = ids or f"lihil-d{uuid.uuid4().hex[:10]}"
        total, rows = self._rows()
        self.rows_dropped = max(0, total - max_rows)
        self.rows = rows[-max_rows:]
        self._requests = [sent_requests(session.log) for session in self.sessions]  # per lane: ref -> event
        self._column = self._column_width()
        self.svg = self._render()

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.sessions)
        return f"<Diagram of {names or 'no sessions'}: {len(self.rows)} rows>"

    def _rows(self) -> tuple[int, list[_Row]]:
        """How many rows there are in all, and the newest ``max_rows`` of them in time order."""
        total = 0
        per_session = []
        for lane, session in enumerate(self.sessions):
            entries = [entry for entry in session.log if entry.kind != "separator"]
            total += len(entries)
            per_session.append([_Row(entry.time, lane, entry) for entry in entries[-self.max_rows :]])
        return total, list(heapq.merge(*per_session, key=lambda row: row.time))  # each log is in time order

    # ---- drawing -----------------------------------------------------------------------------------------------

    def _column_width(self) -> int:
        """Room between lifelines for the longest label (up to ``label_chars``): labels fit, not a fixed width."""
        longest = max((len(self._label(row.entry)) for row in self.rows), default=0)
        return max(_COLUMN, int(min(longest, self.label_chars) * _CHAR_PX) + 24)

    def _render(self) -> str:
        lanes = len(self.sessions)
        column = self._column
        server_x = _LEFT + column // 2
        xs = [server_x + column * (i + 1) for i in range(lanes)]
        first_row = _TOP + _ROW + (_ROW if self.rows_dropped else 0)
        height = first_row + _ROW * len(self.rows) + _ROW // 2
        width = (xs[-1] if xs else server_x) + column // 2
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="lihil-diagram" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
            "<defs>"
            + "".join(
                f'<marker id="{self.ids}-arrow-{name}" class="lihil-arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
                f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
                for name, color in _COLORS.items()
            )
            + "</defs>",
            f'<rect width="{width}" height="{height}" fill="#fff"/>',
        ]
        routes = sorted({session.path.partition("?")[0] for session in self.sessions})
        parts.append(self._lifeline(server_x, height, "server", ", ".join(routes) or "—", "server"))
        for session, x in zip(self.sessions, xs, strict=True):
            parts.append(self._lifeline(x, height, session.name, session.path, "session"))
        y = _TOP + _ROW
        if self.rows_dropped:
            parts.append(f'<text class="lihil-diagram-dropped" x="{_LEFT}" y="{y}" fill="#5f6368">… '
                         f"{self.rows_dropped} earlier rows not drawn (max_rows={self.max_rows})</text>")
            y += _ROW
        for row in self.rows:
            parts.append(self._row(row, y, server_x, xs[row.lane]))
            y += _ROW
        parts.append("</svg>")
        return "".join(parts)

    def _lifeline(self, x: int, height: int, title: str, subtitle: str, kind: str) -> str:
        box = _COLUMN - 20
        return (
            f'<g class="lihil-diagram-lifeline lihil-diagram-{kind}">'
            f'<line x1="{x}" y1="{_TOP}" x2="{x}" y2="{height}" stroke="#bbb" stroke-dasharray="4 3"/>'
            f'<rect x="{x - box // 2}" y="4" width="{box}" height="{_TOP - 8}" rx="4" fill="#f1f3f4" stroke="#999"/>'
            f'<text x="{x}" y="20" text-anchor="middle" font-weight="bold">{_text(title, 22)}</text>'
            f'<text x="{x}" y="34" text-anchor="middle" fill="#5f6368" font-size="10">{_text(subtitle, 28)}</text>'
            "</g>"
        )

    def _row(self, row: _Row, y: int, server_x: int, session_x: int) -> str:
        entry = row.entry
        clock = time.strftime("%H:%M:%S", time.localtime(entry.time)) + f".{int(entry.time * 1000) % 1000:03d}"
        stamp = f'<text x="6" y="{y + 4}" fill="#999" font-size="10">{clock}</text>'
        tone = "error" if entry.kind in _ERRORS else "stale" if entry.kind == "stale" else entry.direction
        raw = self._label(entry)
        css = f"lihil-diagram-row lihil-diagram-{entry.direction} lihil-diagram-kind-{entry.kind}"
        envelope = parse_envelope(entry.data) if entry.kind in ("text", "binary") else None
        if envelope is not None:  # a hub envelope: topic · event · payload, a reply with what it answers
            raw = self._hub_label(envelope, self._requests[row.lane])
            css += f" lihil-diagram-hub lihil-diagram-hub-{envelope.event if envelope.event in _HUB_EVENTS else 'event'}"
            if envelope.is_error:
                tone = "error"
            stamp += f"<title>{escape(raw)}</title>"  # the whole line on hover: the arrow's label is cut to fit
        color = _COLORS[tone]
        if tone == "error":
            css += " lihil-diagram-error"
        if entry.direction == "event" and entry.kind not in ("denied", "server-error"):
            # Something that happened at the session, not a frame on the wire: a note on its lifeline.
            label = _text(raw, self.label_chars)
            return (f'<g class="{css}">{stamp}<circle cx="{session_x}" cy="{y}" r="4" fill="{color}"/>'
                    f'<text x="{session_x + 8}" y="{y + 4}" fill="{color}">{label}</text></g>')
        from_server = entry.direction == "received" or entry.kind in ("denied", "server-error")
        start, end = (server_x, session_x) if from_server else (session_x, server_x)
        dash = ' stroke-dasharray="5 3"' if entry.kind in ("open", "close", "ping", "pong", "denied") else ""
        middle = (start + end) // 2
        # An arrow's label fits over the arrow (monospace 12 px: about 7.3 px a character).
        label = _text(raw, min(self.label_chars, max(8, int(abs(end - start) / _CHAR_PX))))
        return (
            f'<g class="{css}">{stamp}'
            f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="{color}" stroke-width="1.5"{dash} '
            f'marker-end="url(#{self.ids}-arrow-{tone})"/>'
            f'<text x="{middle}" y="{y - 4}" text-anchor="middle" fill="{color}">{label}</text></g>'
        )

    def _hub_label(self, envelope: Envelope, requests: dict[str, str]) -> str:
        if envelope.is_reply:
            return reply_summary(envelope, requests, payload_chars=self.label_chars)
        if envelope.event in ("join", "exit"):
            return f"{envelope.event} {envelope.topic}"
        label = f"{envelope.topic} · {envelope.event}"
        return label if envelope.payload is None else f"{label} · {compact(envelope.payload, self.label_chars)}"

    @staticmethod
    def _label(entry: LogEntry) -> str:
        data = entry.data
        if entry.kind == "binary" and isinstance(data, bytes):
            return f"⟨{len(data)} B⟩ {data[:8].hex(' ')}"
        text = "" if data is None else data.decode(errors="replace") if isinstance(data, bytes) else data
        first = text.strip().splitlines()[0] if text.strip() else ""
        if entry.kind == "text":
            return first
        if entry.kind == "server-print":
            return f"handler printed: {first}"
        if entry.kind == "open":
            return "open"
        if entry.kind == "close":
            return f"close {first}"
        if entry.kind == "denied":
            return f"refused · {first}"
        if entry.kind == "server-error":
            lines = text.strip().splitlines()
            return f"handler raised: {lines[-1] if lines else ''}"
        return f"{entry.kind} {first}".strip()


def _text(value: str, limit: int) -> str:
    shown = value if len(value) <= limit else value[: max(1, limit - 1)] + "…"
    return escape(shown)
