"""The console's parts on their own: log rows, the filter, the bounded log view, and the compose encodings."""

from __future__ import annotations

import pytest

from lihil_notebook.client.session import LogEntry
from lihil_notebook.ui.console.compose import encode_message
from lihil_notebook.ui.console.log_view import LogFilter, LogView, render_entry
from tests.console.comm_traffic import CommTraffic, opened


def entry(direction: str, kind: str, data: str | bytes | None, size: int = 0) -> LogEntry:
    return LogEntry(1_700_000_000.25, direction, kind, data, size)  # type: ignore[arg-type]


def test_rows_show_time_direction_size_and_escaped_payload() -> None:
    row = render_entry(entry("received", "text", "<b>hi</b>", 9))
    assert ".250<" in row and "←" in row and "9 B" in row
    assert "&lt;b&gt;hi&lt;/b&gt;" in row and "<b>" not in row
    assert "→" in render_entry(entry("sent", "text", "x", 1))
    event = render_entry(entry("event", "close", "1000 bye"))
    assert "•" in event and "lihil-log-kind-close" in event and "1000 bye" in event


def test_json_is_pretty_binary_is_hex_and_long_payloads_are_cut() -> None:
    assert "{\n  &quot;a&quot;: [\n    1" in render_entry(entry("received", "text", '{"a": [1, 2]}', 12))
    assert "not json {" in render_entry(entry("received", "text", "not json {", 10))
    assert "00 ff 10" in render_entry(entry("received", "binary", b"\x00\xff\x10", 3))
    long_binary = render_entry(entry("received", "binary", bytes(300), 300), max_binary_bytes=256)
    assert "(+44 bytes)" in long_binary
    long_text = render_entry(entry("received", "text", "y" * 5000, 5000), max_text_chars=4000)
    assert "(+1000 characters)" in long_text and "4.9 KiB" in long_text


def test_filter_matches_whole_payloads_and_directions() -> None:
    entries = [
        entry("sent", "text", "hello"),
        entry("received", "binary", b"\xab\xcd" * 200 + b"\xef"),
        entry("event", "close", "1000 bye"),
    ]
    assert LogFilter("HELLO").last_kept(entries, 10) == entries[:1]
    assert LogFilter("cd ef").last_kept(entries, 10) == entries[1:2]  # past any display cut
    assert LogFilter(directions=frozenset({"event"})).last_kept(entries, 10) == entries[2:]
    assert LogFilter("close").last_kept(entries, 10) == entries[2:]  # the kind counts too
    assert LogFilter().last_kept(entries, 2) == entries[1:]


def test_log_view_keeps_the_last_n_rows_and_resends_only_changed_chunks(comm_traffic: CommTraffic) -> None:
    view = LogView(max_entries=50, chunk_size=10)
    view.append([f"<p>{n}</p>" for n in range(45)])
    assert len(view) == 45 and view.rows[0] == "<p>0</p>"
    writes = view.writes

    view.append(["<p>45</p>"])
    assert view.writes - writes == 1  # only the newest chunk
    view.append([f"<p>{n}</p>" for n in range(46, 53)])
    assert len(view) == 50 and view.rows[0] == "<p>3</p>" and view.rows[-1] == "<p>52</p>"

    view.append([f"<p>{n}</p>" for n in range(53, 200)])  # more than fit: only the last 50 are rendered
    assert view.rows == [f"<p>{n}</p>" for n in range(150, 200)]
    chunks = opened(comm_traffic, "lihil-log-chunk")  # every chunk the front end was ever sent
    assert len(chunks) <= 50 // 10 + 2  # recycled, never more than the view needs

    view.replace([])
    assert len(view) == 0 and view.rows == []


def test_log_view_traffic_per_message_does_not_grow_with_the_log(comm_traffic: CommTraffic) -> None:
    view = LogView(max_entries=500, chunk_size=20)
    row = "<div>" + "x" * 80 + "</div>"
    for _ in range(1000):  # one message per flush: the worst case for an incremental view
        view.append([row])
    ids = opened(comm_traffic, "lihil-log-chunk")
    sizes = [m.nbytes for m in comm_traffic.updates(ids)]
    assert max(sizes) < 2 * 20 * len(row) + 500  # at most a chunk or two, never the whole log
    assert len(view) == 500


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("hi", "text", "hi"),
        ('{"a": 1}', "json", '{"a": 1}'),
        ("68 69", "hex", b"hi"),
        ("0x68:0x69", "hex", b"hi"),
        ("aGk=", "base64", b"hi"),
    ],
)
def test_compose_modes_encode(text: str, mode: str, expected: str | bytes) -> None:
    assert encode_message(text, mode) == expected


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ("{", "json", "json: not valid JSON"),
        ("6", "hex", "hex: expected pairs of hex digits"),
        ("!!", "base64", "base64: not valid base64"),
        ("x", "morse", "compose mode: expected one of text, json, hex, base64, got 'morse'"),
    ],
)
def test_compose_errors_name_the_mode(text: str, mode: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_message(text, mode)
