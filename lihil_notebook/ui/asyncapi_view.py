"""``%lihil asyncapi [PATH]``: an AsyncAPI document, readable — channels, what each side sends, payload fields —
with the document itself to download as YAML or JSON. Also what the console's hub row needs from it: the events a
topic's channel handles and a JSON skeleton of each payload.

CSS classes: ``lihil-asyncapi`` (the whole), ``lihil-asyncapi-channel`` (one channel), ``lihil-asyncapi-message``
(one message), ``lihil-asyncapi-download`` (the two links); on a route card, ``lihil-route-asyncapi`` (the button
that shows the route's document under the card).
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    from ..playground import Playground

Schema = dict[str, Any]

MAX_DEPTH = 6
"""How deep :func:`skeleton` and :func:`describe_type` follow nested objects and references."""


class AsyncApiView:
    """An AsyncAPI document, shown as HTML in a notebook (text elsewhere); ``doc`` is the document itself."""

    def __init__(self, doc: dict[str, Any], *, name: str = "asyncapi") -> None:
        self.doc, self.name = doc, name

    @property
    def json(self) -> str:
        return json.dumps(self.doc, indent=2, ensure_ascii=False)

    @property
    def yaml(self) -> str:
        return _yaml_text(self.doc)

    def __repr__(self) -> str:
        lines = [f"AsyncAPI {self.doc.get('asyncapi')}: {self.doc['info']['title']} {self.doc['info']['version']}"]
        for channel in _channels(self.doc):
            lines.append(f"  {channel.address}  {channel.title}")
            for direction, messages in (("client → server", channel.received), ("server → client", channel.sent)):
                names = ", ".join(m.get("name", "?") for m in messages)
                lines.append(f"    {direction}: {names or 'nothing'}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        info = self.doc["info"]
        links = " · ".join(
            f'<a class="lihil-asyncapi-download" download="{esc(self.name)}.{ext}" '
            f'href="data:{mime};base64,{base64.b64encode(text.encode()).decode()}">download {label}</a>'
            for ext, mime, label, text in (("yaml", "application/yaml", "YAML", _yaml_text(self.doc)),
                                           ("json", "application/json", "JSON", self.json)))
        parts = [f"<div class='lihil-asyncapi' style='font-size:13px'>"
                 f"<div><b>{esc(info['title'])}</b> {esc(info['version'])} · AsyncAPI {esc(self.doc['asyncapi'])}"
                 f"{_servers(self.doc)} · {links}</div>"]
        channels = _channels(self.doc)
        if not channels:
            parts.append("<div><i>no WebSocket routes or hubs yet (define one with %%ws_route or %%ws_hub)</i></div>")
        components = self.doc.get("components", {}).get("schemas", {})
        for channel in channels:
            parts.append(channel.html(components))
        parts.append("</div>")
        return "".join(parts)


class AsyncApiLink(widgets.VBox):
    """A route card's "AsyncAPI" button: shows the route's document under it (read when clicked), or hides it."""

    def __init__(self, pg: Playground, path: str) -> None:
        self.pg, self.path = pg, path
        self.button = widgets.Button(description="AsyncAPI", tooltip=f"the AsyncAPI document of {path}",
                                     layout=widgets.Layout(width="auto"))
        self.button.add_class("lihil-route-asyncapi")
        self.button.on_click(lambda _: self.toggle())
        self.view = widgets.HTML(layout=widgets.Layout(display="none", width="100%"))  # a child always: a closed
        # card closes it
        super().__init__([self.button, self.view], layout=widgets.Layout(align_items="flex-start"))  # a button, not
        # a bar across the card

    @property
    def shown(self) -> bool:
        return bool(self.view.layout.display != "none")

    def toggle(self) -> None:
        if self.shown:
            self.view.layout.display, self.view.value, self.button.description = "none", "", "AsyncAPI"
            return
        try:
            self.view.value = AsyncApiView(self.pg.asyncapi(self.path))._repr_html_()
        except (ValueError, RuntimeError) as error:  # unmounted meanwhile
            self.view.value = f"<span class='lihil-note-error'>{html.escape(str(error))}</span>"
        self.view.layout.display, self.button.description = "", "Hide AsyncAPI"


def skeleton(schema: Schema, components: dict[str, Schema], depth: int = 0) -> Any:
    """A JSON value of ``schema``'s shape to start from: required fields and fields with defaults, each filled with
    its default, its first allowed value, or an empty value of its type (``""``, ``0``, ``false``, ``[]``)."""
    schema = _resolve(schema, components)
    if depth > MAX_DEPTH:
        return None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, components).get("type") != "null"] or schema[key]
            return skeleton(options[0], components, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", ()))
        return {name: skeleton(sub, components, depth + 1) for name, sub in schema.get("properties", {}).items()
                if name in required or "default" in _resolve(sub, components)}
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "null": None}.get(kind or "")


def describe_type(schema: Schema, components: dict[str, Schema], depth: int = 0) -> str:
    """A short reading of ``schema``: ``string``, ``integer ≥ 1``, ``happy | sad``, ``array of Said``, ``Chat``."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    if not schema:
        return "any JSON"
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema and depth < MAX_DEPTH:
            return " | ".join(describe_type(s, components, depth + 1) for s in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array":
        items = schema.get("items")
        return f"array of {describe_type(items, components, depth + 1)}" if isinstance(items, dict) else "array"
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"object of {describe_type(schema['additionalProperties'], components, depth + 1)}"
    bounds = [f"{sign} {schema[key]}" for key, sign in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "len ≥"),
                                                         ("maxLength", "len ≤")) if key in schema]
    return " ".join([str(kind or "any JSON"), *bounds])


def hub_events(doc: dict[str, Any], topic: str) -> dict[str, Any]:
    """The events a client may send on ``topic`` (by the channels whose topic pattern matches it; all of the hub's
    channels if none does), each with a skeleton of its payload."""
    components = doc.get("components", {}).get("schemas", {})
    channels = [c for c in doc.get("channels", {}).values() if "x-lihil-topic" in c]
    matching = [c for c in channels if _topic_matches(c["x-lihil-topic"], topic)] or channels
    events: dict[str, Any] = {}
    for channel in matching:
        for name, message in channel.get("messages", {}).items():
            envelope = message.get("payload", {})
            event = envelope.get("properties", {}).get("event", {}).get("const")
            if name in ("join", "exit") or event != name or "seq" in envelope.get("properties", {}):
                continue  # join/exit have buttons; replies and broadcasts are the server's
            events.setdefault(name, skeleton(envelope["properties"].get("payload", {}), components))
    return events


def _yaml_text(doc: dict[str, Any]) -> str:
    """``doc`` as YAML without anchors and aliases (``&id001`` / ``*id001``: every part spelled out): PyYAML's, or
    :func:`block_yaml` where PyYAML is missing (a JupyterLite site: PyPI has no Pyodide wheel of it)."""
    try:
        import yaml
    except ImportError:
        return block_yaml(doc)

    class PlainDumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return str(yaml.dump(doc, Dumper=PlainDumper, sort_keys=False, allow_unicode=True, width=110))


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_RESERVED_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}
"""Plain keys a YAML reader would take for booleans or null (YAML 1.1 readers included): quoted."""


def block_yaml(data: Any) -> str:
    """JSON-shaped ``data`` (dicts, lists, strings, numbers, booleans, None) as block-style YAML. Keys are plain where
    no reader could mistake them; every string is double-quoted as JSON quotes it (JSON's escapes are YAML's)."""
    return "".join(_yaml_lines(data, 0))


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict) and value:
        for key, item in value.items():
            name = key if _PLAIN_KEY.match(key) and key.lower() not in _RESERVED_WORDS else json.dumps(key)
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{name}:\n")
                lines += _yaml_lines(item, indent + 2)
            else:
                lines.append(f"{pad}{name}: {_yaml_scalar(item)}\n")
    elif isinstance(value, list) and value:
        for item in value:
            if isinstance(item, dict | list) and item:
                first, *rest = _yaml_lines(item, indent + 2)
                lines += [f"{pad}- {first[indent + 2:]}", *rest]  # the item's first line after its dash
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}\n")
    else:
        lines.append(f"{pad}{_yaml_scalar(value)}\n")
    return lines


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(value, ensure_ascii=False)


# --- reading the document ------------------------------------------------------------------------------------


class _Channel:
    def __init__(self, doc: dict[str, Any], channel_id: str, channel: dict[str, Any]) -> None:
        self.id, self.channel = channel_id, channel
        self.address = channel.get("address") or "?"
        self.title = channel.get("title", channel_id)
        ops = [op for op in doc.get("operations", {}).values() if op["channel"]["$ref"].endswith(f"/{channel_id}")]
        self.received = _messages(channel, (ref for op in ops if op["action"] == "receive" for ref in op["messages"]))
        self.sent = _messages(channel, [*(ref for op in ops if op["action"] == "send" for ref in op["messages"]),
                                        *(ref for op in ops for ref in op.get("reply", {}).get("messages", []))])

    def html(self, components: dict[str, Schema]) -> str:
        esc = html.escape
        channel = self.channel
        head = f"<code>{esc(self.address)}</code> <b>{esc(self.title)}</b>"
        if "x-lihil-topic" in channel:
            head += f" · topics <code>{esc(channel['x-lihil-topic'])}</code>"
        parts = [f"<div class='lihil-asyncapi-channel' style='margin:8px 0;padding:6px 8px;"
                 f"border-left:3px solid #1a73e8'><div>{head}</div>",
                 f"<div style='color:#555'>{esc(channel.get('description', ''))}</div>"]
        rows = [(name, f"path · {p.get('description', '')}" + (f" · one of {', '.join(p['enum'])}" if 'enum' in p
                                                                  else ""), "yes")
                for name, p in channel.get("parameters", {}).items()]
        binding = channel.get("bindings", {}).get("ws", {})
        for where in ("query", "headers"):
            schema = binding.get(where, {})
            required = set(schema.get("required", ()))
            for name, sub in schema.get("properties", {}).items():
                default = f" = {json.dumps(sub['default'])}" if "default" in sub else ""
                rows.append((name, f"{where} · {describe_type(sub, components)}{default}",
                             "yes" if name in required else "no"))
        if rows:
            parts.append(_table(("parameter", "where · type", "required"), rows))
        if channel.get("x-lihil-subprotocols"):
            parts.append(f"<div>subprotocols: <code>{esc(', '.join(channel['x-lihil-subprotocols']))}</code></div>")
        for direction, messages in (("client → server", self.received), ("server → client", self.sent)):
            parts.append(f"<div style='margin-top:4px'><b>{direction}</b></div>")
            parts += [_message_html(m, components) for m in messages] or ["<div><i>nothing</i></div>"]
        parts.append("</div>")
        return "".join(parts)


def _channels(doc: dict[str, Any]) -> list[_Channel]:
    return [_Channel(doc, cid, c) for cid, c in doc.get("channels", {}).items()]


def _messages(channel: dict[str, Any], refs: Any) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for ref in refs:
        name = ref["$ref"].rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        if name in channel.get("messages", {}):
            found.setdefault(name, channel["messages"][name])
    return list(found.values())


def _message_html(message: dict[str, Any], components: dict[str, Schema]) -> str:
    esc = html.escape
    payload = message.get("payload", {})
    envelope = payload.get("properties", {})
    head = (f"<div class='lihil-asyncapi-message' style='margin-left:12px'><code>{esc(message.get('name', '?'))}"
            f"</code> {esc(message.get('summary', message.get('title', '')))}")
    if "payload" in envelope:  # a hub envelope: its payload's fields
        inner = _resolve(envelope["payload"], components)
        fields = inner.get("properties")
        if isinstance(fields, dict) and fields:
            required = set(inner.get("required", ()))
            rows = [(name, describe_type(sub, components), "yes" if name in required else "no")
                    for name, sub in fields.items()]
            return head + _table(("payload field", "type", "required"), rows) + "</div>"
        return head + f" · payload: <code>{esc(describe_type(envelope['payload'], components))}</code></div>"
    return head + f" · <code>{esc(describe_type(payload, components))}</code></div>"


def _table(header: tuple[str, ...], rows: list[tuple[str, str, str]]) -> str:
    esc = html.escape
    cell = "style='text-align:left;padding:1px 8px'"
    head = "".join(f"<th {cell}>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td {cell}><code>{esc(v)}</code></td>" if i == 0 else f"<td {cell}>{esc(v)}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table style='margin:2px 0 2px 12px;border-collapse:collapse'><tr>{head}</tr>{body}</table>"


def _servers(doc: dict[str, Any]) -> str:
    servers = doc.get("servers", {})
    return "".join(f" · <code>{html.escape(s['protocol'])}://{html.escape(s['host'])}</code>"
                   for s in servers.values())


def _resolve(schema: Schema, components: dict[str, Schema]) -> Schema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return components.get(ref.rsplit("/", 1)[-1], {})
    return schema


def _topic_matches(template: str, topic: str) -> bool:
    parts = re.split(r"\{[a-zA-Z_]\w*\}", template)
    return re.fullmatch("[^/]+".join(re.escape(p) for p in parts), topic) is not None
