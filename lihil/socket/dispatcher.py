"""From a channel class to its event handlers: checked once, when the class is registered; used per message.

``SocketHub.channel(cls)`` runs :meth:`ChannelDispatcher.validate`, so a mistake in a handler's signature is a
``TypeError`` at definition time, naming the class and the method, rather than an error reply at run time.

An ``on_<event>`` handler takes at most two parameters after ``self``, both positional:

* none: ``async def on_ping(self)``;
* the payload: ``async def on_chat(self, payload: Chat)`` — converted with ``msgspec.convert`` (strictly: ``"yes"``
  is not a ``bool``); unannotated or ``Any`` means the raw JSON value; a parameter named ``env`` or annotated
  ``MessageEnvelope`` gets the whole envelope instead;
* the payload and the envelope: ``async def on_chat(self, payload: Chat, env: MessageEnvelope)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

import msgspec

from .channel import ChannelBase
from .protocol import EVENT_NOT_FOUND, MessageEnvelope

_NOT_EVENTS = frozenset({"on_join", "on_exit", "on_update"})
"""``on_*`` hooks that are not event handlers."""

Binder = Callable[[MessageEnvelope], Any]


@dataclass(frozen=True, slots=True)
class EventHandler:
    """One ``on_<event>`` method and how to build its arguments from an envelope."""

    name: str
    binders: tuple[Binder, ...]


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """What the dispatcher knows about a channel class."""

    handlers: dict[str, EventHandler]  # event name -> handler
    join_params: frozenset[str] | None  # None: on_join takes **params (all of them)
    has_on_message: bool
    replays: bool  # the class overrides replay_after


class ChannelDispatcher:
    """Validates channel classes and calls the right handler for each envelope."""

    def __init__(self) -> None:
        self._specs: dict[type[ChannelBase], ChannelSpec] = {}

    def validate(self, cls: type[ChannelBase]) -> ChannelSpec:
        """Check ``cls``'s topic, ``on_join`` and every ``on_*`` handler; raise ``TypeError`` naming what is wrong."""
        spec = self._specs.get(cls)
        if spec is None:
            spec = self._specs[cls] = _read_channel(cls)
        return spec

    def join_kwargs(self, channel: ChannelBase, params: dict[str, str]) -> dict[str, str]:
        """The topic params ``channel.on_join`` declares (all of them for ``**params``)."""
        wanted = self.validate(type(channel)).join_params
        return dict(params) if wanted is None else {k: v for k, v in params.items() if k in wanted}

    async def dispatch(self, channel: ChannelBase, env: MessageEnvelope) -> Any:
        """Call the handler for ``env.event``; its result is the reply (None: no reply)."""
        spec = self.validate(type(channel))
        handler = spec.handlers.get(env.event)
        if handler is None:
            if spec.has_on_message:
                return await channel.on_message(env)
            return EVENT_NOT_FOUND
        method = getattr(channel, handler.name)
        return await method(*(bind(env) for bind in handler.binders))


def _read_channel(cls: type[ChannelBase]) -> ChannelSpec:
    name = cls.__qualname__
    topic = getattr(cls, "topic", None)
    if topic is None:
        raise AttributeError(f"{name} has no `topic`; set it in the class body, e.g. topic = Topic('room:{{room_id}}')")
    if isinstance(topic, str):
        raise TypeError(f"{name}.topic is the str {topic!r}; wrap it: topic = Topic({topic!r})")
    groups = sorted(topic.groupindex)
    handlers: dict[str, EventHandler] = {}
    for attr in dir(cls):
        if not attr.startswith("on_") or attr in _NOT_EVENTS:
            continue
        method = getattr(cls, attr)
        if not callable(method):
            continue
        if not inspect.iscoroutinefunction(method):
            raise TypeError(f"{name}.{attr} must be a coroutine function: write `async def {attr}(self, ...)`")
        binders = _binders(cls, attr, method)
        if attr != "on_message":
            handlers[attr[3:]] = EventHandler(attr, binders)
    return ChannelSpec(
        handlers=handlers,
        join_params=_join_params(cls, groups),
        has_on_message=cls.on_message is not ChannelBase.on_message,
        replays=cls.replay_after is not ChannelBase.replay_after,
    )


def _join_params(cls: type[ChannelBase], groups: list[str]) -> frozenset[str] | None:
    name = cls.__qualname__
    if cls.on_join is ChannelBase.on_join:
        return frozenset()  # the default takes no topic parameters
    params = list(inspect.signature(cls.on_join).parameters.values())[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        raise TypeError(f"{name}.on_join does not support variadic positional parameters (*args); "
                        f"declare topic parameters by name: {', '.join(groups) or 'none'}")
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    unknown = [p.name for p in params if p.name not in groups]
    if unknown:
        raise TypeError(f"{name}.on_join declares unknown topic parameter(s): {', '.join(unknown)}. "
                        f"Available topic parameters: {', '.join(groups) or 'none'}")
    return frozenset(p.name for p in params)


def _binders(cls: type[ChannelBase], attr: str, method: Callable[..., Any]) -> tuple[Binder, ...]:
    where = f"{cls.__qualname__}.{attr}"
    params = list(inspect.signature(method).parameters.values())[1:]
    if len(params) > 2:
        raise TypeError(f"{where} accepts at most payload and env, got {len(params)} parameters: "
                        f"{', '.join(p.name for p in params)}")
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        raise TypeError(f"{where} only supports positional payload/env parameters, as in "
                        f"`async def {attr}(self, payload, env)`")
    try:
        hints = get_type_hints(method)
    except Exception as exc:  # a forward reference that does not resolve
        raise TypeError(f"{where}: cannot read its annotations: {exc}") from exc
    binders = []
    for index, param in enumerate(params):
        hint = hints.get(param.name, inspect.Parameter.empty)
        is_env = param.name == "env" or hint is MessageEnvelope
        if index == 1 and not is_env:
            raise TypeError(f"{where}'s second parameter must be env (named `env` or annotated MessageEnvelope), "
                            f"got {param.name!r}")
        binders.append(_binder(hint, is_env))
    return tuple(binders)


def _binder(hint: Any, is_env: bool) -> Binder:
    if is_env:
        return lambda env: env
    if hint is inspect.Parameter.empty or hint is Any:
        return lambda env: env.payload
    return lambda env: msgspec.convert(env.payload, hint, strict=True)
