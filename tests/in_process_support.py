"""Running the playground's tests in the forced in-process transport too (issue 23), on CPython.

The tests named in :data:`BOTH_TRANSPORTS` get their ``pg`` fixture twice: over TCP and in-process. Those left out
need what only TCP has (a port for a plain websockets client or urllib, the server thread, a second loop).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lihil_notebook.playground import Playground
from tests.notebook.playground_support import PAUSES

BOTH_TRANSPORTS: dict[str, set[str]] = {
    "tests.notebook.test_session": {
        "test_frames_by_type_and_what_the_log_records",
        "test_timeouts_and_closed_sessions_say_what_happened",
        "test_messages_received_before_a_close_are_still_delivered",
        "test_closing_with_a_code_and_reason",
        "test_headers_and_subprotocols_reach_the_handler",
        "test_sessions_are_listed_and_closed_when_the_server_stops",
        "test_close_stays_idempotent_after_the_server_restarts",
        "test_queued_sends_go_out_in_call_order",
        "test_frames_queued_before_close_reach_the_server_first",
    },
    "tests.notebook.test_playground": {
        "test_redefining_a_route_serves_new_code_and_marks_open_sessions_stale",
        "test_a_handler_that_raises_closes_1011_and_files_its_traceback",
        "test_errors_before_the_handler_runs_are_filed_too",
        "test_denied_handshake_is_a_clear_error_naming_the_parameter",
    },
    "tests.console.test_page_frame": {
        "test_poll_mode_page_frame_relays_with_the_token_only_when_polled",
        "test_show_names_a_bad_path_height_or_mode",
    },
    "tests.console.test_console_sessions": {
        "test_a_session_added_by_name_connects_as_itself_and_keeps_its_own_target",
        "test_reconnecting_keeps_the_log_with_a_separator_and_no_stale_notice",
    },
}


def parametrize_transports(metafunc: pytest.Metafunc) -> None:
    """``pytest_generate_tests``: ``pg`` over both transports for the tests named above."""
    names = BOTH_TRANSPORTS.get(metafunc.module.__name__, set())
    if "pg" in metafunc.fixturenames and metafunc.function.__name__ in names:
        metafunc.parametrize("pg", ["tcp", "in-process"], indirect=True)


def started_playground(request: pytest.FixtureRequest) -> Iterator[Playground]:
    """A started Playground over ``request.param`` (default TCP); in-process, waits drive its loop."""
    transport = getattr(request, "param", "tcp")
    instance = Playground(transport=transport)
    instance.start()
    if instance.in_process:
        PAUSES.append(instance.run_pending)
    try:
        yield instance
    finally:
        if instance.in_process:
            PAUSES.remove(instance.run_pending)
        instance.stop()
