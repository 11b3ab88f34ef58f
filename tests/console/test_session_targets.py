"""Each session's one target: what the console's fields carry into it, and what a new session connects as."""

from __future__ import annotations

import pytest

from lihil_notebook.ui.console.session_targets import carry_edit, missing_identity, new_session_target


@pytest.mark.parametrize(
    ("target", "old", "new", "expected"),
    [
        ("/echo/lobby?upper=maybe", "/echo/lobby?upper=maybe", "/echo/lobby?upper=true", "/echo/lobby?upper=true"),
        # a session that connects as dog keeps dog when the form's user goes from cat to cow
        ("/chat/k?user=dog", "/chat/k?user=cat", "/chat/k?user=cow", "/chat/k?user=dog"),
        # ...but takes the room, which it had as the form had it
        ("/chat/k?user=dog", "/chat/k?user=cat", "/chat/hall?user=cat", "/chat/hall?user=dog"),
        # a parameter the session lacked, like the form, is added (the hub's ?user= after a refusal)
        ("/rooms", "/rooms", "/rooms?user=ann", "/rooms?user=ann"),
        ("/rooms?user=bob", "/rooms", "/rooms?user=ann", "/rooms?user=bob"),
        # one the form dropped is dropped where the session still had the form's value
        ("/e?a=1&b=2", "/e?a=1", "/e", "/e?b=2"),
    ],
)
def test_carry_edit(target: str, old: str, new: str, expected: str) -> None:
    assert carry_edit(target, old, new) == expected


def test_a_new_session_never_silently_shares_an_identity() -> None:
    assert new_session_target("/chat/k?user=cat", "", set()) == "/chat/k?user=cat"  # the first session
    assert new_session_target("/chat/k?user=cat", "dog", {"cat", "s1"}) == "/chat/k?user=dog"
    unnamed = new_session_target("/chat/k?user=cat&upper=1", "", {"cat", "s1"})
    assert unnamed == "/chat/k?user=&upper=1" and missing_identity(unnamed) == "user"
    # a parameter of another name whose value is another session's name counts too
    assert new_session_target("/x?who2=ann", "bob", {"ann"}) == "/x?who2=bob"
    # values that name nobody stay as they are
    assert new_session_target("/echo?upper=true", "b", {"a"}) == "/echo?upper=true"
