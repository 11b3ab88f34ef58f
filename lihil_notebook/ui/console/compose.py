"""The compose box's modes: how the text a user typed becomes a frame (text, JSON text, binary from hex or base64)."""

from __future__ import annotations

import base64
import binascii
import json
import re

#: How to read the compose box: a text frame, JSON text (validated first), or a binary frame from hex / base64.
COMPOSE_MODES = ("text", "json", "hex", "base64")


def encode_message(text: str, mode: str) -> str | bytes:
    """Turn the compose box into a frame: ``str`` for a text frame, ``bytes`` for a binary one.

    Raises ``ValueError`` naming the mode and what was expected when the text does not fit the mode.
    """
    if mode == "text":
        return text
    if mode == "json":
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"json: not valid JSON — {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None
        return text
    if mode == "hex":
        digits = re.sub(r"0x|[\s:,]", "", text, flags=re.IGNORECASE)
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise ValueError(
                "hex: expected pairs of hex digits (0-9, a-f), optionally separated by spaces, e.g. '68 69'"
            ) from None
    if mode == "base64":
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except binascii.Error as error:
            raise ValueError(f"base64: not valid base64 — {error}") from None
    raise ValueError(f"compose mode: expected one of {', '.join(COMPOSE_MODES)}, got {mode!r}")
