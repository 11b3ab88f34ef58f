"""Each session has one target; the console's parameter fields fill it, and "+ session" never shares an identity.

Two rules, plain functions of strings (the console applies them on the main thread):

* :func:`carry_edit` — the console's form changed from ``old`` to ``new``: a session's target takes the change
  for each part (the path, each query parameter) it still had as the form had it. So a refused session picks up
  the ``upper=true`` the user just typed, and a session that connects as ``user=dog`` keeps ``dog`` when the
  form's ``user`` goes from ``cat`` to ``cow``.
* :func:`new_session_target` — a new session's target: the form's, with each *identity* parameter (``user``,
  ``name``, … or any query value another session connects with) set to the new session's name, or emptied for
  the user to fill when the session has no name yet. :func:`missing_identity` names what is left empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

IDENTITY_PARAMS = frozenset({"user", "username", "user_id", "name", "nick", "who", "as", "client", "client_id"})
"""Query parameters that say who a session is: a new session never silently copies another session's value."""


def _split(target: str) -> tuple[str, list[tuple[str, str]]]:
    path, _, query = target.partition("?")
    return path, parse_qsl(query, keep_blank_values=True)


def _join(path: str, pairs: list[tuple[str, str]]) -> str:
    query = urlencode(pairs)
    return path + (f"?{query}" if query else "")


def carry_edit(target: str, old: str, new: str) -> str:
    """``target`` with the parts the form changed from ``old`` to ``new``, where ``target`` agreed with ``old``."""
    if target == old or not target:
        return new
    path, pairs = _split(target)
    old_path, old_pairs = _split(old)
    new_path, new_pairs = _split(new)
    if path == old_path:
        path = new_path
    before, after, mine = dict(old_pairs), dict(new_pairs), dict(pairs)
    for key in [*before, *[k for k in after if k not in before]]:
        if before.get(key) == after.get(key) or mine.get(key) != before.get(key):
            continue
        if key in after:
            mine[key] = after[key]
        else:
            mine.pop(key, None)
    return _join(path, list(mine.items()))


def identity_keys(target: str, taken: Iterable[str]) -> list[str]:
    """The query parameters of ``target`` that say who connects: a known name (:data:`IDENTITY_PARAMS`) or a
    value that is one of ``taken`` (other sessions' names and identity values)."""
    taken = set(taken) - {""}
    return [key for key, value in _split(target)[1] if key.lower() in IDENTITY_PARAMS or value in taken]


def identities(target: str) -> dict[str, str]:
    """``{key: value}`` of the identity parameters of ``target`` (known names only)."""
    return {key: value for key, value in _split(target)[1] if key.lower() in IDENTITY_PARAMS}


def new_session_target(form: str, name: str, taken: Iterable[str]) -> str:
    """The target of a new session called ``name`` (maybe ""): ``form`` with each identity parameter set to
    ``name`` — or emptied, for the user to fill, when ``name`` is empty and another session already uses the
    value (``taken``: the other sessions' names and identity values)."""
    taken = set(taken) - {""}
    if not taken:
        return form
    keys = set(identity_keys(form, taken))
    path, pairs = _split(form)
    changed = []
    for key, value in pairs:
        if key in keys and (name or value in taken):
            value = name
        changed.append((key, value))
    return _join(path, changed)


def missing_identity(target: str) -> str | None:
    """The first identity parameter of ``target`` left empty, or None."""
    return next((key for key, value in identities(target).items() if value == ""), None)
