"""Names both ends agree on: what the notebook's own client sends and the server reads. Open to every room."""

from urllib.parse import quote

SESSION_HEADER = "x-lihil-session"
"""Handshake header carrying a notebook session's id, so the server can route the handler's prints and errors to it."""
TOKEN_QUERY = "lihil_token"
"""The query parameter that may carry the playground's token (the server takes it out before handlers see it)."""
TOKEN_COOKIE = "lihil_token"
"""The token cookie's name; the port is appended (cookies are per host, not per port: one per playground)."""


def with_token(url: str, token: str | None) -> str:
    """``url`` with ``lihil_token=<token>`` added to its query, before any ``#fragment`` (unchanged without a token)."""
    if not token:
        return url
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{TOKEN_QUERY}={quote(token, safe='')}{hash_mark}{fragment}"
