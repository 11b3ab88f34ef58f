"""lihil — a WebSocket-first ASGI framework on Starlette (lihil-playground's implementation of lihil's core)."""

from typing import Annotated as Annotated

from ididi import AsyncResource as AsyncResource
from ididi import AsyncScope as AsyncScope
from ididi import DependentNode as DependentNode
from ididi import Graph as Graph
from ididi import Ignore as Ignore
from ididi import Resolver as Resolver
from ididi import use as use
from msgspec import Struct as Struct
from msgspec import field as field

from . import status as status
from .app import Lihil as Lihil
from .asyncapi import asyncapi_document as asyncapi_document
from .config import AppConfig as AppConfig
from .http import HTML as HTML
from .http import Empty as Empty
from .http import Json as Json
from .http import Route as Route
from .http import Text as Text
from .local_client import LocalClient as LocalClient
from .params import MISSING as MISSING
from .params import Form as Form
from .params import Param as Param
from .params import Payload as Payload
from .problems import HTTPException as HTTPException
from .socket import (  # noqa: F401
    EVENT_NOT_FOUND,
    TOPIC_NOT_FOUND,
    ChannelBase,
    ErrorPayload,
    InMemorySocketBus,
    ISocket,
    MessageEnvelope,
    ReplyPayload,
    SocketBus,
    SocketError,
    SocketHub,
    Topic,
    error_payload,
    reply_payload,
)
from .vendors import Request as Request
from .vendors import Response as Response
from .vendors import UploadFile as UploadFile
from .vendors import WebSocket as WebSocket
from .websocket import WebSocketRoute as WebSocketRoute

VERSION = __version__ = "0.2.41"
