"""A record of the comm messages ipywidgets would send to a front end, for tests without a browser."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comm.base_comm import BaseComm

#: ``wait_until(condition, timeout=..., what=...)`` (the fixture of the same name).
Waiter = Callable[..., Any]


@dataclass
class CommMessage:
    comm_id: str
    msg_type: str  # comm_open, comm_msg, comm_close
    method: str  # update, custom, ... ("" for open/close)
    state: dict[str, Any]
    nbytes: int


@dataclass
class CommTraffic:
    """Every comm message widgets sent while recording, with its JSON size in bytes."""

    messages: list[CommMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, comm_id: str, msg_type: str, data: dict[str, Any] | None, buffers: Any) -> None:
        data = data or {}
        nbytes = len(json.dumps(data, default=str)) + sum(len(b) for b in buffers or [])
        message = CommMessage(
            comm_id, msg_type, str(data.get("method", "")), dict(data.get("state") or {}), nbytes
        )
        with self.lock:
            self.messages.append(message)

    def updates(self, comm_ids: set[str] | None = None) -> list[CommMessage]:
        """The state updates sent (to the given comms only, if given)."""
        with self.lock:
            return [
                m
                for m in self.messages
                if m.method == "update" and (comm_ids is None or m.comm_id in comm_ids)
            ]


class RecordingComm(BaseComm):
    """A comm that records what it would publish into ``traffic``."""

    traffic: CommTraffic | None = None

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        if self.traffic is not None:
            self.traffic.record(self.comm_id, msg_type, data, buffers)


def opened(traffic: CommTraffic, css_class: str) -> set[str]:
    """The comm ids of the widgets opened (sent to the front end) with ``css_class``."""
    with traffic.lock:
        return {m.comm_id for m in traffic.messages
                if m.msg_type == "comm_open" and css_class in m.state.get("_dom_classes", ())}


def css_classes(widget: Any) -> list[str]:
    """The CSS classes the front end gets for ``widget`` (its synced state)."""
    return list(widget.get_state().get("_dom_classes", ()))


def from_front_end(widget: Any, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
    """Deliver ``content`` to ``widget`` as the page's front-end code would: a custom message on its comm."""
    widget.comm.handle_msg({"content": {"comm_id": widget.comm.comm_id, "data": {"method": "custom",
                                                                                "content": content}},
                            "buffers": list(buffers or [])})
