"""The hub row's events, from the hub's AsyncAPI document: the event box offers the events the channel of the topic
in the topic field handles, and picking one fills the payload box with a JSON skeleton of its payload schema.

The skeleton only replaces what the row put there itself (an empty box, ``{}``, or the previous skeleton): a payload
the user has typed is never overwritten.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import PlaygroundError
from .asyncapi_view import hub_events

if TYPE_CHECKING:
    from ..client.session import Session
    from ..playground import Playground


class HubEventChoices:
    """Follows a hub row's topic and event fields (``controls``: a :class:`~.hub_panel.HubControls`)."""

    def __init__(self, controls: Any) -> None:
        self.controls = controls
        self.events: dict[str, Any] = {}  # event -> payload skeleton, for the topic in the topic field
        self._doc: dict[str, Any] = {}
        self._filled: str | None = None  # the payload text the row last filled in
        controls.topic.observe(lambda _: self.refresh(), "value")
        controls.event.observe(self._picked, "value")

    def follow(self, pg: Playground, session: Session) -> None:
        """Read the AsyncAPI document of the hub ``session`` talks to, and offer its events."""
        try:
            self._doc = pg.asyncapi(session.path)
        except PlaygroundError:  # no such hub (any more): offer nothing rather than fail the panel
            self._doc = {}
        self.refresh()

    def refresh(self) -> None:
        self.events = hub_events(self._doc, self.controls.topic.value.strip()) if self._doc else {}
        self.controls.fill_event_choices(list(self.events))
        self._picked({"new": self.controls.event.value})

    def _picked(self, change: Any) -> None:
        event = change["new"] if isinstance(change, dict) else change.new
        if event not in self.events:
            return
        payload = self.controls.payload
        if payload.value.strip() in ("", "{}") or payload.value == self._filled:
            self._filled = payload.value = json.dumps(self.events[event], ensure_ascii=False)
