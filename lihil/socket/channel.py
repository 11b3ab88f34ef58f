"""Channels: a class per kind of topic, one instance per connection and joined topic.

    class Room(ChannelBase):
        topic = Topic("room:{room_id}")

        async def on_join(self, room_id: str) -> None:   # receives the topic params it declares
            await super().on_join()                       # subscribes to the bus: keep this call

        async def on_chat(self, payload: Chat) -> None:   # event "chat"; the payload is converted to Chat
            await self.publish(payload, event="chat")     # to every member of this room

A client joins with ``{"topic": "room:lobby", "event": "join"}``; the hub picks the channel class whose ``topic``
matches, builds it (constructor dependencies come from the hub's graph), and calls ``on_join``. Each later event
on that topic calls ``on_<event>``; what it returns is the reply. Envelopes published to the topic reach
``on_update``, which sends them to the client.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec
from ididi import Resolver

from .bus import SocketBus
from .protocol import EVENT_NOT_FOUND, MessageEnvelope, error_payload

if TYPE_CHECKING:
    from .isocket import ISocket

logger = logging.getLogger("lihil.socket.channel")

TaskExceptionPolicy = Literal["error", "close", "ignore"]
_TOPIC_PARAM = re.compile(r"\{([a-zA-Z_]\w*)\}")


def Topic(pattern: str) -> re.Pattern[str]:
    """Compile a topic pattern: ``Topic("room:{room_id}")`` matches ``room:lobby`` with ``room_id="lobby"``.

    A ``{name}`` matches one or more characters other than ``/``; everything else matches itself, whole.
    """
    if not isinstance(pattern, str):
        raise TypeError(f"Topic(pattern): expected a str such as 'room:{{room_id}}', got {pattern!r}")
    parts: list[str] = []
    pos = 0
    for found in [*_TOPIC_PARAM.finditer(pattern), None]:
        literal = pattern[pos:found.start() if found else len(pattern)]
        if "{" in literal or "}" in literal:
            raise ValueError(f"Invalid topic pattern: {pattern} (expected {{name}} segments, e.g. 'room:{{room_id}}')")
        parts.append(re.escape(literal))
        if found:
            parts.append(f"(?P<{found.group(1)}>[^/]+)")
            pos = found.end()
    try:
        return re.compile("^" + "".join(parts) + "$")
    except re.error as exc:  # e.g. the same {name} twice
        raise ValueError(f"Invalid topic pattern: {pattern} ({exc})") from None


_GROUP = re.compile(r"\(\?P<([a-zA-Z_]\w*)>\[\^/\]\+\)")


def topic_template(topic: re.Pattern[str]) -> str:
    """The pattern a :func:`Topic` was made from: ``topic_template(Topic("room:{id}")) == "room:{id}"``."""
    body = topic.pattern.removeprefix("^").removesuffix("$")
    parts = _GROUP.split(body)  # literal, name, literal, name, ..., literal
    return "".join(f"{{{part}}}" if i % 2 else re.sub(r"\\(.)", r"\1", part) for i, part in enumerate(parts))


class ChannelBase:
    """Base class of channels. Set ``topic``; override the ``on_*`` hooks you need (all are ``async def``).

    ``task_exception_policy`` decides what a failed :meth:`start_task` task does to the connection: ``"error"``
    sends an ``error`` envelope, ``"close"`` closes with ``task_exception_close_code``/``_reason``, ``"ignore"``
    only logs.
    """

    topic: ClassVar[re.Pattern[str]]
    task_exception_policy: ClassVar[TaskExceptionPolicy] = "error"
    task_exception_close_code: ClassVar[int] = 1011
    task_exception_close_reason: ClassVar[str] = "Internal Server Error"

    def __init__(self, socket: ISocket, *, topic: str, bus: SocketBus, resolver: Resolver) -> None:
        self.socket, self.bus, self.resolver = socket, bus, resolver
        self._resolved_topic = topic
        self._join_ref: str | None = None
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._held: list[MessageEnvelope] | None = None  # live updates held back while a replay is being sent

    @property
    def resolved_topic(self) -> str:
        """The concrete topic this channel serves, e.g. ``"room:lobby"``."""
        return self._resolved_topic

    @property
    def join_ref(self) -> str | None:
        return self._join_ref

    def set_join_ref(self, ref: str | None) -> None:
        self._join_ref = ref

    @classmethod
    def match(cls, topic: str) -> dict[str, str] | None:
        """The topic params if ``topic`` is one of this channel's, else None."""
        found = cls.topic.match(topic)
        return found.groupdict() if found else None

    # --- hooks -------------------------------------------------------------------------------------------------

    async def on_join(self, *args: Any, **params: Any) -> None:
        """Subscribe to the topic. An override must call ``await super().on_join()`` or it gets no broadcasts.

        An override declares the topic parameters it wants by name (``async def on_join(self, room_id: str)``);
        ``(*args, **params)`` here only lets type checkers accept any such override.
        """
        await self.bus.subscribe(self._resolved_topic, self.on_update)

    async def on_exit(self) -> None:
        await self.bus.unsubscribe(self._resolved_topic, self.on_update)

    async def on_update(self, env: MessageEnvelope) -> None:
        """An envelope published to the topic: send it to this client, under this client's ``join_ref``."""
        if self._held is not None:
            self._held.append(env)
            return
        await self.socket.send_envelope(env.topic, env.event, env.payload, ref=env.ref,
                                        join_ref=env.join_ref or self._join_ref, event_id=env.event_id)

    async def on_message(self, env: MessageEnvelope) -> Any:
        """An event with no ``on_<event>`` method. The default answers ``event_not_found``."""
        return EVENT_NOT_FOUND

    async def replay_after(self, event_id: str | None) -> list[MessageEnvelope]:
        """What a client rejoining after ``event_id`` missed. The default asks the bus (a bus with history)."""
        if event_id is None or not self.bus.keeps_history:
            return []
        return await self.bus.history_after(self._resolved_topic, event_id)

    # --- talking to the room -----------------------------------------------------------------------------------

    async def publish(self, payload: Any, *, event: str = "broadcast") -> None:
        """Send ``payload`` to every member of the topic (this client too); returns once the bus has it."""
        await self.bus.publish(self._resolved_topic, event, payload)

    async def emit(self, payload: Any, *, event: str = "broadcast") -> None:
        """Like :meth:`publish`, without waiting."""
        await self.bus.emit(self._resolved_topic, event, payload)

    # --- background tasks --------------------------------------------------------------------------------------

    def start_task(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` for as long as this channel lives (it is cancelled on exit or disconnect)."""
        if name in self._tasks:
            coro.close()
            raise ValueError(f"channel task {name!r} already exists on {self._resolved_topic}; "
                             f"cancel_task({name!r}) first or pick another name")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._resolved_topic}:{name}")
        self._tasks[name] = task
        task.add_done_callback(lambda t: self._task_done(name, t))
        return task

    async def cancel_task(self, name: str) -> None:
        """Cancel the task ``name`` and wait for it (no-op for an unknown name)."""
        task = self._tasks.pop(name, None)
        if task is None:
            return
        if not task.done():
            await asyncio.sleep(0)  # one loop turn: a task started just now gets to run up to its first await,
            # so its body sees the cancellation (its `finally`/`except CancelledError` run) rather than never starting
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            pass  # it failed before the cancel landed; _task_done has reported it

    async def cancel_tasks(self) -> None:
        for name in list(self._tasks):
            await self.cancel_task(name)

    async def aclose(self) -> None:
        """Cancel this channel's tasks, then ``on_exit``."""
        await self.cancel_tasks()
        await self.on_exit()

    def _task_done(self, name: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(name) is task:
            del self._tasks[name]
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if not self.socket.dual_connected:
            return  # the client has gone; there is nobody to tell
        logger.error("channel task %r failed on %s", name, self._resolved_topic, exc_info=exc)
        policy = self.task_exception_policy
        if policy == "error":
            payload = msgspec.to_builtins(error_payload("internal_error", detail={"task": name, "error": str(exc)}))
            _in_background(self.socket.send_envelope(self._resolved_topic, "error", payload))
        elif policy == "close":
            _in_background(self.socket.close(code=self.task_exception_close_code,
                                             reason=self.task_exception_close_reason))


_background: set[asyncio.Task[Any]] = set()


def _in_background(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` as a task that is kept referenced until it finishes (asyncio holds tasks weakly)."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
