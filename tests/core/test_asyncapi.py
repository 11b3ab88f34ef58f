"""AsyncAPI 3 documents of WebSocket routes and hubs: what they say, and that the official validator accepts them."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Literal

import msgspec
import pytest
import yaml

import lihil
from lihil import Annotated, ChannelBase, Lihil, MessageEnvelope, Param, SocketHub, Struct, Topic, WebSocket
from tests.asyncapi_validator import assert_valid, validate
from tests.core.test_seed import SEED


def seed_app() -> Lihil[Any]:
    namespace: dict[str, Any] = {}
    # The seed as lihil's docs write it (its TestClient conversation runs too), without this module's __future__.
    exec(compile(SEED, "<seed>", "exec", dont_inherit=True), namespace)
    app: Lihil[Any] = namespace["lhl"]
    return app


class Chat(Struct):
    text: str
    mood: Literal["happy", "sad"] = "happy"


class Said(Struct):
    user: str
    text: str


class Room(ChannelBase):
    """A chat room: join room:NAME, then chat."""

    topic = Topic("room:{name}")

    async def on_chat(self, payload: Chat) -> None:
        """Say something to everyone in the room."""
        await self.publish(Said(user="?", text=payload.text), event="said")

    async def on_history(self, payload: int) -> list[Said]:
        return []

    async def on_raw(self, payload, env: MessageEnvelope):  # unannotated payload: any JSON
        return payload

    async def on_ping(self) -> str:
        return "pong"


def typed_hub_app() -> Lihil[Any]:
    hub = SocketHub("/rooms")
    hub.channel(Room)
    return Lihil(hub)


def test_the_seeds_route_is_one_channel_with_its_parameters() -> None:
    doc = seed_app().asyncapi()
    assert doc["asyncapi"] == "3.0.0" and doc["info"]["version"] == "0.1.0"
    channel = doc["channels"]["web_socket_session_id"]
    assert channel["address"] == "/web_socket/{session_id}"
    assert channel["parameters"] == {"session_id": {"description": "path parameter (str)"}}
    assert channel["bindings"]["ws"]["query"] == {
        "type": "object", "properties": {"max_users": {"type": "integer"}}, "required": ["max_users"]}
    # what the client sends is what the app receives, and the other way round
    assert {(name, op["action"]) for name, op in doc["operations"].items()} == {
        ("web_socket_session_id.receive", "receive"), ("web_socket_session_id.send", "send")}
    assert lihil.asyncapi_document(seed_app()) == doc


def test_query_header_defaults_literals_and_subprotocols_come_from_the_signature() -> None:
    route = lihil.WebSocketRoute("/feed/{kind}")

    @route.endpoint
    async def feed(ws: WebSocket, kind: Literal["news", "sport"], limit: int = 10,
                   token: Annotated[str, Param("header", alias="x-token")] = "",
                   proto: Annotated[Literal["feed.v1", "feed.v2"], Param("header", alias="sec-websocket-protocol")]
                   = "feed.v1") -> None:
        """A feed of one kind."""

    doc = Lihil(route).asyncapi(server="ws://127.0.0.1:8000", title="feeds")
    assert doc["info"]["title"] == "feeds" and doc["servers"] == {"app": {"host": "127.0.0.1:8000", "protocol": "ws"}}
    channel = doc["channels"]["feed_kind"]
    assert channel["description"] == "A feed of one kind."
    assert channel["parameters"]["kind"]["enum"] == ["news", "sport"]
    binding = channel["bindings"]["ws"]
    assert binding["query"] == {"type": "object", "properties": {"limit": {"type": "integer", "default": 10}}}
    assert binding["headers"]["properties"]["x-token"] == {"type": "string", "default": ""}
    assert channel["x-lihil-subprotocols"] == ["feed.v1", "feed.v2"]
    assert_valid({"feed": doc})


def test_a_hub_with_typed_events_describes_each_envelope_both_ways() -> None:
    doc = typed_hub_app().asyncapi()
    channel = doc["channels"]["rooms_Room"]
    assert (channel["address"], channel["x-lihil-topic"]) == ("/rooms", "room:{name}")
    assert set(channel["messages"]) == {"join", "join.reply", "exit", "exit.reply", "chat", "history",
                                        "history.reply", "raw", "raw.reply", "ping", "ping.reply", "error",
                                        "broadcast"}
    chat = channel["messages"]["chat"]["payload"]
    assert chat["properties"]["event"] == {"const": "chat"}
    assert chat["properties"]["topic"]["pattern"] == "^room:[^/]+$"
    assert chat["properties"]["payload"] == {"$ref": "#/components/schemas/Chat"}
    assert doc["components"]["schemas"]["Chat"] == msgspec.json.schema(Chat)["$defs"]["Chat"]
    assert channel["messages"]["chat"]["summary"] == "Say something to everyone in the room."
    history = channel["messages"]["history.reply"]["payload"]["properties"]["payload"]
    assert history["properties"]["response"] == {"type": "array", "items": {"$ref": "#/components/schemas/Said"}}
    assert channel["messages"]["raw"]["payload"]["properties"]["payload"] == {}  # unannotated: any JSON

    ops = doc["operations"]
    assert ops["rooms_Room.chat"]["action"] == "receive"  # the client sends it; no reply but errors
    assert ops["rooms_Room.chat"]["reply"]["messages"] == [{"$ref": "#/channels/rooms_Room/messages/error"}]
    assert ops["rooms_Room.ping"]["reply"]["messages"][0] == {"$ref": "#/channels/rooms_Room/messages/ping.reply"}
    assert ops["rooms_Room.broadcast"]["action"] == "send"


def test_paths_pick_routes_and_an_unknown_path_is_named() -> None:
    app = seed_app()
    app.include(*typed_hub_app().routes[1:])
    assert list(app.asyncapi(paths=["/rooms"])["channels"]) == ["rooms_Room"]
    with pytest.raises(ValueError, match=r"no WebSocket route or hub at /nope; the app has /rooms, "
                                         r"/web_socket/\{session_id\}"):
        app.asyncapi(paths=["/nope"])
    with pytest.raises(ValueError, match="expected a ws:// or wss:// URL"):
        app.asyncapi(server="http://127.0.0.1")


def test_the_official_validator_accepts_the_seed_and_the_typed_hub() -> None:
    assert_valid({"seed": seed_app().asyncapi(), "typed hub": typed_hub_app().asyncapi(),
                  "empty hub": Lihil(SocketHub("/nothing")).asyncapi()})


def test_the_validator_is_real_it_rejects_broken_documents() -> None:
    wrong_action = copy.deepcopy(typed_hub_app().asyncapi())
    wrong_action["operations"]["rooms_Room.chat"]["action"] = "listen"  # AsyncAPI 3 has send and receive
    dangling = copy.deepcopy(typed_hub_app().asyncapi())
    dangling["operations"]["rooms_Room.ping"]["messages"] = [{"$ref": "#/channels/rooms_Room/messages/nope"}]
    found = validate({"wrong action": wrong_action, "dangling": dangling})
    assert [e["path"] for e in found["wrong action"]] == ["operations/rooms_Room.chat/action"]
    assert [e["path"] for e in found["dangling"]] == ["operations/rooms_Room.ping/messages/0/$ref"]


def test_the_readmes_example_is_the_seeds_document() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## A contract for WebSocket APIs: AsyncAPI 3", 1)[1]
    (block,) = re.findall(r"^```yaml\n(.*?)^```", section.split("\n## ", 1)[0], re.S | re.M)
    assert yaml.safe_load(block) == seed_app().asyncapi()
