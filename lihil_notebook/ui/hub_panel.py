"""A session panel's hub mode: when the panel's target is a ``%%ws_hub`` route, it speaks the hub protocol.

Controls (CSS classes): a topic field (``lihil-console-hub-topic``) with "Join" (``lihil-console-hub-join``);
the topics this session has joined, as chips (``lihil-console-hub-topics``; a chip ``lihil-console-hub-chip``
puts its topic in the topic field, its ``×`` — ``lihil-console-hub-exit`` — exits the topic); an event name (``lihil-console-hub-event``), a JSON payload box
(``lihil-console-hub-payload``) and "Send event" (``lihil-console-hub-send``), which sends to the topic in the
topic field; a note for what went wrong (``lihil-console-hub-note``). The whole row is ``lihil-console-hub``.

Every request gets a fresh ``ref`` (1, 2, 3, … per panel); joins carry their ref as ``join_ref`` and later
requests to that topic carry the join's. The log shows envelopes as ``topic · event · payload`` and replies as
``reply to chat #3: ok · …`` (class ``lihil-log-hub``; error replies also ``lihil-log-hub-error``, in red). The
"frames" toggle still shows the raw frames.

Threads, as in :mod:`.session_panel`: clicks (main thread) send and remember what they asked; the chips are
written only by :meth:`HubControls.refresh`, from the UI pump, which reads the replies.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..client.log import LogEntry
from .hub_envelope import PAYLOAD_CHARS, Envelope, describe, parse_envelope
from .hub_events import HubEventChoices
from .log_view import render_entry
from .style import button, error_html, html_view, row, text_field
from .target import is_url, match_route

if TYPE_CHECKING:
    from ..client.session import Session
    from ..playground import Playground


def is_hub_target(pg: Playground, path: str) -> bool:
    """True when ``path`` (a path with its query, not a URL) is served by one of the playground's hubs."""
    template = path.partition("?")[0]
    if is_url(template):
        return False
    route, _ = match_route(template, [r for r in pg.routes if r.kind in ("ws", "hub")])
    return route is not None and route.kind == "hub"


class HubControls:
    """The hub row of one session panel; ``widget`` is what to show (hidden until the panel talks to a hub).

    ``note`` is where a refusal goes (the panel's compose note by default: :attr:`note`); ``payload_chars`` bounds
    the payload shown in a log row.
    """

    def __init__(self, *, payload_chars: int = PAYLOAD_CHARS) -> None:
        self.payload_chars = payload_chars
        self.session: Session | None = None
        self.active = False
        self.requests: dict[str, str] = {}  # ref -> event, written on the main thread before the frame goes
        self.joined: list[str] = []  # the topics the hub has confirmed (the UI pump's)
        self._none_yet = html_view("<i>none yet</i>", "lihil-console-hub-none")
        self._topics_of: dict[str, tuple[str, str]] = {}  # ref -> (topic, event) of joins and exits
        self._join_refs: dict[str, str] = {}  # topic -> the ref of its join
        self._refs = itertools.count(1)
        self._chips: dict[str, widgets.HBox] = {}
        self._shown_for: Session | None = None

        self.topic = text_field("room:lobby", "topic, e.g. room:lobby", "150px", "lihil-console-hub-topic")
        self.join_button = button("Join", "lihil-console-hub-join", lambda _: self._click(self.join), style="success")
        self.topics = widgets.HBox([self._none_yet], layout=widgets.Layout(flex_flow="row wrap"))
        self.topics.add_class("lihil-console-hub-topics")
        # A text box with suggestions: fill_event_choices() offers the events the hub declares.
        self.event = widgets.Combobox(value="", placeholder="event, e.g. chat", options=[], ensure_option=False,
                                      layout=widgets.Layout(width="110px"))
        self.event.add_class("lihil-console-hub-event")
        self.payload = widgets.Textarea(value="{}", placeholder='payload (JSON), e.g. {"text": "hi"}', rows=1,
                                        layout=widgets.Layout(flex="1 1 160px", width="auto"))
        self.payload.add_class("lihil-console-hub-payload")
        self.send_button = button("Send event", "lihil-console-hub-send", lambda _: self._click(self.send),
                                  style="primary")
        self.note = html_view("", "lihil-console-note")
        self.note.add_class("lihil-console-hub-note")
        self.widget = widgets.VBox([
            row([html_view("<span class='lihil-console-label'>hub</span>", "lihil-console-label"), self.topic,
                 self.join_button, html_view("<span class='lihil-console-label'>joined</span>",
                                             "lihil-console-label"), self.topics]),
            row([self.event, self.payload, self.send_button]),
            self.note,
        ], layout=widgets.Layout(display="none"))
        self.widget.add_class("lihil-console-hub")
        self.choices = HubEventChoices(self)  # the events of the hub's AsyncAPI document (see .hub_events)

    # ---- main thread ------------------------------------------------------------------------------------

    def fill_event_choices(self, events: Sequence[str]) -> None:
        """Offer ``events`` in the event box (it still takes any name typed)."""
        choices = tuple(dict.fromkeys(events))
        if tuple(self.event.options) != choices:
            self.event.options = choices

    def attach(self, session: Session, *, hub: bool, pg: Playground | None = None) -> None:
        """Follow ``session``; ``hub`` says whether its target is a hub (then the row shows, offering the events
        of ``pg``'s hub)."""
        self.session = session
        self.active = hub
        self._join_refs = {}
        self.widget.layout.display = "" if hub else "none"
        if hub and pg is not None:
            self.choices.follow(pg, session)

    def join(self, topic: str | None = None) -> bool:
        """Ask the hub to join ``topic`` (default: the topic field); False, with a note, if nothing was sent."""
        topic = (self.topic.value if topic is None else topic).strip()
        if not topic:
            return self._refuse("join: type a topic first, e.g. room:lobby")
        ref = self._request(topic, "join", None, join_ref=None)
        if ref is None:
            return False
        self._join_refs[topic] = ref
        return True

    def exit(self, topic: str) -> bool:
        """Ask the hub to exit ``topic``; False, with a note, if nothing was sent."""
        return self._request(topic, "exit", None, join_ref=self._join_refs.pop(topic, None)) is not None

    def send(self, topic: str | None = None, event: str | None = None, payload: str | None = None) -> bool:
        """Send ``event`` with the JSON ``payload`` to ``topic`` (defaults: the fields). Invalid JSON, a blank
        event or a topic not joined is a note and nothing is sent."""
        topic = (self.topic.value if topic is None else topic).strip()
        event = (self.event.value if event is None else event).strip()
        text = self.payload.value if payload is None else payload
        if not event:
            return self._refuse("send: type an event name first, e.g. chat")
        if event in ("join", "exit"):
            return self._refuse(f"send: use the Join button or a topic's chip to {event}")
        if topic not in self._join_refs and topic not in self.joined:
            joined = ", ".join(self.joined) or "none yet"
            return self._refuse(f"send: join {topic or 'a topic'} first (joined: {joined})")
        try:
            value = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as error:
            return self._refuse(f"payload: not valid JSON — {error.msg} at line {error.lineno}, column "
                                f"{error.colno}; nothing was sent")
        return self._request(topic, event, value, join_ref=self._join_refs.get(topic)) is not None

    def _request(self, topic: str, event: str, payload: object, *, join_ref: str | None) -> str | None:
        session = self.session
        if session is None or session.state != "open":
            state = "not connected" if session is None else session.state
            self._refuse(f"cannot {event}: the session is {state} — press Connect first")
            return None
        ref = str(next(self._refs))
        envelope = {"topic": topic, "event": event, "payload": payload, "ref": ref,
                    "join_ref": ref if event == "join" else join_ref}
        self.requests[ref] = event
        if event in ("join", "exit"):
            self._topics_of[ref] = (topic, event)
        session.send_nowait(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False))
        self.note.value = ""
        return ref

    @staticmethod
    def _click(action: Callable[[], bool]) -> None:
        action()

    def _refuse(self, message: str) -> bool:
        self.note.value = error_html(message)
        return False

    # ---- the UI pump's side --------------------------------------------------------------------------------

    def render(self, entry: LogEntry) -> str | None:
        """The log row of a hub envelope (None for anything else: the plain row is used)."""
        if not self.active or entry.kind not in ("text", "binary") or entry.direction == "event":
            return None
        envelope = parse_envelope(entry.data)
        if envelope is None:
            return None
        line = describe(envelope, self.requests, payload_chars=self.payload_chars, sent=entry.direction == "sent")
        css = "lihil-log-hub" + (" lihil-log-hub-error" if envelope.is_error else "")
        plain = render_entry(dataclasses.replace(entry, data=line, kind="text"))
        return plain.replace('class="lihil-log-row ', f'class="lihil-log-row {css} ', 1)

    def refresh(self, session: Session, entries: Sequence[LogEntry]) -> None:
        """Take in the replies among ``entries`` (the session's newest) and show the joined topics as chips."""
        if session is not self._shown_for:
            self._shown_for, self.joined = session, []
        for entry in entries:
            if entry.direction != "received" or entry.kind not in ("text", "binary"):
                continue
            envelope = parse_envelope(entry.data)
            if envelope is not None and envelope.is_reply and not envelope.is_error:
                self._confirmed(envelope)
        if session.state == "closed":
            self.joined = []
        chips = [self._chip(topic) for topic in self.joined] or [self._none_yet]
        if list(self.topics.children) != chips:
            self.topics.children = tuple(chips)

    def _confirmed(self, reply: Envelope) -> None:
        asked = self._topics_of.get(reply.ref or "")
        if asked is None:
            return
        topic, event = asked
        if event == "join" and topic not in self.joined:
            self.joined = [*self.joined, topic]
        elif event == "exit":
            self.joined = [t for t in self.joined if t != topic]

    def _chip(self, topic: str) -> widgets.HBox:
        # A chip picks its topic for "Send event"; its own small "×" exits (so a pick never exits by mistake).
        chip = self._chips.get(topic)
        if chip is None:
            pick = widgets.Button(description=topic, tooltip=f"send events to {topic}",
                                  layout=widgets.Layout(width="auto"))
            pick.add_class("lihil-console-hub-chip")
            pick.on_click(lambda _: setattr(self.topic, "value", topic))
            leave = widgets.Button(description="×", tooltip=f"exit {topic}", layout=widgets.Layout(width="28px"))
            leave.add_class("lihil-console-hub-exit")
            leave.on_click(lambda _: self.exit(topic))
            chip = self._chips[topic] = widgets.HBox([pick, leave])
        return chip


__all__ = ["HubControls", "is_hub_target"]
