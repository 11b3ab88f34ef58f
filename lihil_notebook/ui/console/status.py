"""What a session's status line says: connecting, open (subprotocol, ping, stale), refused, or closed with the
code, its meaning and the reason."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ...client.log import CLOSE_CODE_NAMES

if TYPE_CHECKING:
    from ...client.session import Session


_NORMAL = frozenset({1000})  # a normal closure


def status_html(session: Session, *, rtt: str = "", problem: str = "") -> str:
    """The status line of ``session``; ``rtt`` is the last ping's round trip, ``problem`` the last error text."""
    state = session.state
    if state == "connecting":
        return '<span class="lihil-status-connecting">◌ connecting…</span>'
    if state == "open":
        parts = ['<span class="lihil-status-open">● open</span>']
        if session.accepted_subprotocol:
            parts.append(f"subprotocol {html.escape(session.accepted_subprotocol)}")
        if rtt:
            parts.append(f"ping {html.escape(rtt)}")
        if session.stale:
            parts.append('<span class="lihil-status-stale">stale handler</span>')
        return " · ".join(parts)
    if state == "closing":
        return '<span class="lihil-status-connecting">◌ closing…</span>'
    if session.refused_status is not None:  # no connection was made: nothing was closed
        return f'<span class="lihil-status-refused">✕ refused · {html.escape(session.refusal)}</span>'
    code = session.close_code
    meaning = CLOSE_CODE_NAMES.get(code or 0)
    said = "" if code is None else f" {code}" + (f" ({meaning})" if meaning else "")
    reason = f" · {session.close_reason}" if session.close_reason else ""
    problem = problem.strip().splitlines()[-1] if problem.strip() else ""
    problem = f" — {problem}" if problem and problem != session.close_reason else ""
    if code in _NORMAL and not problem:  # a close both sides meant: not an error
        return f'<span class="lihil-status-done">○ closed{html.escape(said + reason)}</span>'
    return f'<span class="lihil-status-closed">✕ closed{html.escape(said + reason + problem)}</span>'


def not_open(what: str, session: Session | None) -> str:
    """Why ``what`` cannot happen now, naming the button that helps (it reads "Connect" before the first
    connection and "Reconnect" after one)."""
    if session is None:
        return f"cannot {what}: not connected yet — press Connect"
    if session.state == "connecting":
        return f"cannot {what}: the session is still connecting — wait until it is open"
    return f"cannot {what}: the session is {session.state} — press Reconnect"
