"""An AsyncAPI 3.0 document of an app's WebSocket routes and hubs: the contract a client can be written against.

    doc = app.asyncapi()                       # or asyncapi_document(app, paths=["/chat/{room}"], server="ws://...")

Everything comes from what lihil already read, so the document cannot drift from the code:

* a :class:`~lihil.WebSocketRoute` is one channel whose ``address`` is the route's path. Its path parameters are the
  channel's ``parameters``; its query and header parameters (types, defaults, which are required) are the WebSocket
  binding's ``query`` and ``headers`` schemas, read from the handler's parsed signature; a header parameter aliased
  ``sec-websocket-protocol`` lists the subprotocols (``x-lihil-subprotocols``). The handler reads and writes frames
  of its own choosing, so its messages are text and binary frames, both ways.
* a :class:`~lihil.SocketHub` is one channel per channel class (all at the hub's address): ``x-lihil-topic`` is its
  topic pattern; its messages are the envelopes — ``join`` and ``exit``, one per ``on_<event>`` handler with the
  payload schema of the handler's annotation (msgspec's JSON Schema), the replies (with the return type's schema
  where the handler declares one), the error replies, and what the channel broadcasts.

Directions are the server's, as AsyncAPI 3 says: ``receive`` operations are what clients send to the app, ``send``
operations what the app sends; a request with a reply is a ``receive`` operation with a ``reply``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import Any, Literal, get_args, get_origin, get_type_hints

import msgspec

from .params import MISSING
from .socket.channel import ChannelBase, topic_template
from .socket.dispatcher import ChannelDispatcher
from .socket.hub import SocketHub
from .socket.protocol import ERROR_MESSAGES, MessageEnvelope
from .websocket import WebSocketRoute

ASYNCAPI_VERSION = "3.0.0"
WS_BINDING_VERSION = "0.1.0"
SUBPROTOCOL_HEADER = "sec-websocket-protocol"
_REF = "#/components/schemas/{name}"
_NOT_EVENTS = frozenset({"on_join", "on_exit", "on_update", "on_message"})
_NULLABLE_STR = {"type": ["string", "null"]}

Document = dict[str, Any]


def asyncapi_document(
    app: Any, *, paths: Iterable[str] | None = None, title: str | None = None, version: str | None = None,
    description: str | None = None, server: str | None = None,
) -> Document:
    """The AsyncAPI 3.0 document (a JSON-ready dict) of ``app``'s (a :class:`~lihil.Lihil`) WebSocket routes and hubs.

    ``paths``: only the routes with these paths (as declared, e.g. ``"/chat/{room}"``); ``server``: a base URL
    such as ``"ws://127.0.0.1:8000"`` to name in ``servers``. Raises ``ValueError`` for a path that is no
    WebSocket route of the app.
    """
    routes = [r for r in app.routes if isinstance(r, WebSocketRoute) and (r.serves or isinstance(r, SocketHub))]
    if paths is not None:
        wanted = list(paths)
        known = {r.path for r in routes}
        missing = [p for p in wanted if p not in known]
        if missing:
            raise ValueError(f"asyncapi_document(paths=...): no WebSocket route or hub at {', '.join(missing)}; "
                             f"the app has {', '.join(sorted(known)) or 'none'}")
        routes = [r for r in routes if r.path in wanted]
    builder = _Builder()
    for route in routes:
        if isinstance(route, SocketHub):
            builder.add_hub(route)
        else:
            builder.add_route(route)
    config = getattr(app, "config", None)
    doc: Document = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": title or "lihil app", "version": version or str(getattr(config, "VERSION", "0.1.0")),
                 "description": description or "WebSocket routes and hubs of a lihil app."},
        "defaultContentType": "application/json",
    }
    if server is not None:
        doc["servers"] = {"app": _server(server)}
    doc["channels"], doc["operations"] = builder.channels, builder.operations
    if builder.schemas:
        doc["components"] = {"schemas": dict(sorted(builder.schemas.items()))}
    return doc


def _server(url: str) -> dict[str, Any]:
    found = re.fullmatch(r"(wss?)://([^/?#]+)(/[^?#]*)?", url)
    if found is None:
        raise ValueError(f"asyncapi_document(server=...): expected a ws:// or wss:// URL such as "
                         f"'ws://127.0.0.1:8000', got {url!r}")
    server = {"host": found[2], "protocol": found[1]}
    if found[3] and found[3] != "/":
        server["pathname"] = found[3]
    return server


class _Builder:
    """Collects channels, operations and component schemas, one route at a time."""

    def __init__(self) -> None:
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self._dispatcher = ChannelDispatcher()

    def schema(self, annotation: Any) -> dict[str, Any]:
        """msgspec's JSON Schema of ``annotation``; named types land in ``components.schemas``."""
        if annotation is inspect.Parameter.empty or annotation is Any:
            return {}
        try:
            (schema,), components = msgspec.json.schema_components([annotation], ref_template=_REF)
        except (TypeError, ValueError) as exc:  # a type msgspec cannot describe (it cannot decode it either)
            return {"description": f"{annotation!r}: {exc}"}
        self.schemas.update(components)
        return dict(schema)

    def _channel_id(self, path: str, suffix: str = "") -> str:
        base = "_".join(re.findall(r"\w+", path)) or "root"
        name, n = base + suffix, 2
        while name in self.channels:
            name, n = f"{base}{suffix}_{n}", n + 1
        return name

    # --- a WebSocketRoute ------------------------------------------------------------------------------------------

    def add_route(self, route: WebSocketRoute) -> None:
        sig = route.sig
        channel_id = self._channel_id(route.path)
        query, headers, parameters, cookies = _Params(), _Params(), {}, []
        subprotocols: list[str] = []
        for param in sig.params:
            if param.location == "path":
                parameters[param.alias] = _path_parameter(param.annotation, param.default)
            elif param.location == "query":
                query.add(param.alias, self.schema(param.annotation), param.default)
            elif param.location == "header":
                headers.add(param.alias, self.schema(param.annotation), param.default)
                if param.alias.lower() == SUBPROTOCOL_HEADER:
                    subprotocols = [str(v) for v in _literal_values(param.annotation)]
            elif param.location == "cookie":
                cookies.append(param.alias)
        binding: dict[str, Any] = {"method": "GET"}
        if query:
            binding["query"] = query.schema()
        if headers:
            binding["headers"] = headers.schema()
        binding["bindingVersion"] = WS_BINDING_VERSION
        handler = route.handler
        description = inspect.getdoc(handler) or f"WebSocket route {route.path}"
        if cookies:
            description += "\n\nCookies read: " + ", ".join(cookies)
        channel: dict[str, Any] = {"address": route.path, "title": getattr(handler, "__name__", route.path),
                                   "description": description}
        if parameters:
            channel["parameters"] = parameters
        channel["messages"] = {
            "text": {"name": "text", "title": "A text frame", "contentType": "text/plain",
                     "payload": {"type": "string"}},
            "binary": {"name": "binary", "title": "A binary frame", "contentType": "application/octet-stream",
                       "payload": {"type": "string", "format": "binary"}},
        }
        channel["bindings"] = {"ws": binding}
        if subprotocols:
            channel["x-lihil-subprotocols"] = subprotocols
        self.channels[channel_id] = channel
        both = [_message_ref(channel_id, "text"), _message_ref(channel_id, "binary")]
        self.operations[f"{channel_id}.receive"] = {
            "action": "receive", "channel": _channel_ref(channel_id), "summary": "Frames the client sends",
            "messages": both}
        self.operations[f"{channel_id}.send"] = {
            "action": "send", "channel": _channel_ref(channel_id), "summary": "Frames the handler sends",
            "messages": [dict(ref) for ref in both]}  # not the same list: a YAML dump would alias it

    # --- a SocketHub ------------------------------------------------------------------------------------------------

    def add_hub(self, hub: SocketHub) -> None:
        classes = hub.channels
        if not classes:  # it serves, but every join is answered topic_not_found
            channel_id = self._channel_id(hub.path)
            self.channels[channel_id] = {
                "address": hub.path, "title": f"hub {hub.path}", "description": "A hub with no channels yet.",
                "messages": {"error": self._error_message()}, "bindings": {"ws": _hub_binding()}}
            self.operations[f"{channel_id}.error"] = {
                "action": "send", "channel": _channel_ref(channel_id), "messages": [
                    _message_ref(channel_id, "error")]}
            return
        for cls in classes:
            self._add_channel_class(hub, cls)

    def _add_channel_class(self, hub: SocketHub, cls: type[ChannelBase]) -> None:
        spec = self._dispatcher.validate(cls)
        template = topic_template(cls.topic)
        topic = {"type": "string", "pattern": _topic_regex(template), "description": f"a topic matching {template}"}
        channel_id = self._channel_id(hub.path, f"_{cls.__qualname__.replace('.', '_')}")
        join_payload = ({"type": ["object", "null"], "properties": {"last_event_id": {"type": "string"}},
                         "description": "with last_event_id: what was missed since that event is sent after the reply"}
                        if spec.replays else {})
        messages: dict[str, Any] = {
            "join": _client_message("join", topic, join_payload, "Join a topic: subscribe to what it broadcasts"),
            "join.reply": _server_message("reply", topic, _ok({"type": "object", "properties": {
                "topic": {"type": "string"}, "already_joined": {"type": "boolean"},
                "replay_supported": {"type": "boolean"}}, "required": ["topic", "already_joined",
                                                                         "replay_supported"]}),
                "The join's reply", name="join.reply"),
            "exit": _client_message("exit", topic, {}, "Leave a topic"),
            "exit.reply": _server_message("reply", topic, _ok({"type": "object", "properties": {
                "topic": {"type": "string"}}, "required": ["topic"]}), "The exit's reply", name="exit.reply"),
        }
        operations: dict[str, Any] = {}
        for op, reply in (("join", "join.reply"), ("exit", "exit.reply")):
            operations[op] = self._request(channel_id, op, reply)
        for event, handler in sorted(spec.handlers.items()):
            method = getattr(cls, handler.name)
            payload, returns = self._event_types(method)
            messages[event] = _client_message(event, topic, payload, inspect.getdoc(method) or f"event {event}")
            reply_name = None
            if returns is not None:
                reply_name = f"{event}.reply"
                messages[reply_name] = _server_message("reply", topic, _ok(returns), f"The reply to {event}",
                                                       name=reply_name)
            operations[event] = self._request(channel_id, event, reply_name)
        messages["error"] = self._error_message()
        messages["broadcast"] = _server_message(
            None, topic, {}, "An envelope published to the topic (the event is the publisher's, e.g. chat)",
            name="broadcast")
        operations["broadcast"] = {"action": "send", "channel": _channel_ref(channel_id),
                                   "summary": "What the topic's members publish, sent to every member",
                                   "messages": [_message_ref(channel_id, "broadcast")]}
        self.channels[channel_id] = {
            "address": hub.path, "title": f"{cls.__qualname__} on {template}",
            "description": inspect.getdoc(cls) or f"Channel {cls.__qualname__}: topics matching {template}",
            "messages": messages, "bindings": {"ws": _hub_binding()}, "x-lihil-topic": template,
        }
        for name, operation in operations.items():
            self.operations[f"{channel_id}.{name}"] = operation

    def _request(self, channel_id: str, event: str, reply: str | None) -> dict[str, Any]:
        replies = ([_message_ref(channel_id, reply)] if reply else []) + [_message_ref(channel_id, "error")]
        return {"action": "receive", "channel": _channel_ref(channel_id), "summary": f"The client sends {event}",
                "messages": [_message_ref(channel_id, event)],
                "reply": {"channel": _channel_ref(channel_id), "messages": replies}}

    def _event_types(self, method: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(payload schema, reply ``response`` schema or None for a handler that never replies)."""
        hints = get_type_hints(method)
        params = list(inspect.signature(method).parameters.values())[1:]
        payload: dict[str, Any] = {}
        if params and params[0].name != "env" and hints.get(params[0].name) is not MessageEnvelope:
            payload = self.schema(hints.get(params[0].name, inspect.Parameter.empty))
        if "return" not in hints:
            return payload, {}
        returns = hints["return"]
        if returns is None or returns is type(None):
            return payload, None
        return payload, self.schema(returns)

    def _error_message(self) -> dict[str, Any]:
        error = {"type": "object", "required": ["status", "error"], "properties": {
            "status": {"const": "error"},
            "error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "examples": sorted(ERROR_MESSAGES)},
                "message": {"type": "string"}, "detail": {}}}}}
        return _server_message("reply", {"type": "string"}, error, "An error reply: what went wrong, and its code",
                               name="error")


class _Params:
    """Query or header parameters as one object schema (what the WebSocket binding wants)."""

    def __init__(self) -> None:
        self.properties: dict[str, Any] = {}
        self.required: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.properties)

    def add(self, name: str, schema: dict[str, Any], default: Any) -> None:
        if default is MISSING:
            self.required.append(name)
        else:
            shown = _json_default(default)
            if shown is not MISSING:
                schema = {**schema, "default": shown}
        self.properties[name] = schema

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "properties": self.properties}
        if self.required:
            schema["required"] = self.required
        return schema


def _path_parameter(annotation: Any, default: Any) -> dict[str, Any]:
    parameter: dict[str, Any] = {"description": f"path parameter ({_type_name(annotation)})"}
    values = _literal_values(annotation)
    if values:
        parameter["enum"] = [str(v) for v in values]
    if default is not MISSING and default is not None:
        parameter["default"] = str(default)
    return parameter


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _type_name(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "str"
    return getattr(annotation, "__name__", None) or repr(annotation).replace("typing.", "")


def _json_default(value: Any) -> Any:
    try:
        return msgspec.to_builtins(value)
    except TypeError:
        return MISSING


def _topic_regex(template: str) -> str:
    """An ECMA-262 pattern (what JSON Schema uses) for a topic template: each ``{name}`` is ``[^/]+``."""
    parts = re.split(r"\{[a-zA-Z_]\w*\}", template)
    return "^" + "[^/]+".join(re.sub(r"([\\^$.*+?()[\]{}|/])", r"\\\1", part) for part in parts) + "$"


def _client_envelope(event: str, topic: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["topic", "event"], "properties": {
        "topic": topic, "event": {"const": event}, "payload": payload, "ref": _NULLABLE_STR,
        "join_ref": _NULLABLE_STR}}


def _server_envelope(event: str | None, topic: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object",
            "required": ["topic", "event", "payload", "ref", "join_ref", "event_id", "seq"], "properties": {
                "topic": topic, "event": {"const": event} if event else {"type": "string"}, "payload": payload,
                "ref": _NULLABLE_STR, "join_ref": _NULLABLE_STR, "event_id": _NULLABLE_STR,
                "seq": {"type": "integer", "minimum": 1}}}


def _client_message(event: str, topic: dict[str, Any], payload: dict[str, Any], summary: str) -> dict[str, Any]:
    return {"name": event, "title": event, "summary": summary.splitlines()[0],
            "payload": _client_envelope(event, topic, payload)}


def _server_message(event: str | None, topic: dict[str, Any], payload: dict[str, Any], summary: str, *,
                    name: str) -> dict[str, Any]:
    return {"name": name, "title": name, "summary": summary, "payload": _server_envelope(event, topic, payload)}


def _ok(response: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["status", "response"],
            "properties": {"status": {"const": "ok"}, "response": response}}


def _hub_binding() -> dict[str, Any]:
    return {"method": "GET", "bindingVersion": WS_BINDING_VERSION}


def _channel_ref(channel_id: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{_escape(channel_id)}"}


def _message_ref(channel_id: str, message: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{_escape(channel_id)}/messages/{_escape(message)}"}


def _escape(name: str) -> str:
    """A JSON Pointer token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")
