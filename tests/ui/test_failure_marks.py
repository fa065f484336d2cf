"""What the window marks as a failure, and how it words times: pure functions, no Qt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from buildrunner_gui.model.failure_lines import checkpoint_failure, failure_line_numbers, is_failure_line
from buildrunner_gui.ui.when import ago, time_with_ago

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------------- failure lines


@pytest.mark.parametrize(
    "line",
    [
        "tests/test_api.py::test_login FAILED",
        "FAILED tests/test_api.py::test_login - AssertionError",
        "FAIL: test_routing (tests.test_router.RouterTest)",
        "ERROR: 3 tests failed",
        "ERROR tests/test_db.py - ImportError",
        "error: build step api_tests exited with 1",
        "Error: Cannot find module 'x'",
        "error[E0308]: mismatched types",
        "Traceback (most recent call last):",
        "ValueError: bad route",
        "core.router.RoutingError: no route",
        "KeyError: 'feat-001'",
    ],
)
def test_failure_lines(line: str) -> None:
    assert is_failure_line(line)
    assert failure_line_numbers(f"fine\n{line}\nfine") == {1}


@pytest.mark.parametrize(
    "line",
    [
        "",
        "collecting 12 items",
        "test_routing.py::test_a PASSED",
        '{"providers_failed": ["codex", "gemini"], "cap_hit": false}',
        "0 errors, 0 warnings",
        "errors: 0",
        "ERRORS=0",
        "Terror: a film",
        '  File "core/router.py", line 3, in route',
        "retrying after an error in the network",
    ],
)
def test_ordinary_lines(line: str) -> None:
    assert not is_failure_line(line)
    assert failure_line_numbers(line) == set()


def test_failure_line_numbers_count_lines_from_zero() -> None:
    text = "a\nb FAILED\nc\nd\nValueError: x\nerror: y"
    assert failure_line_numbers(text) == {1, 4, 5}
    assert failure_line_numbers("\n".join(["plain"] * 1_000)) == set()


def test_checkpoint_failure() -> None:
    base = {"checkpoint_id": "c", "phase": "build_4e_start", "status": "created", "metadata": {}}
    assert checkpoint_failure(base) is None
    assert checkpoint_failure({**base, "metadata": {"error": "3 API tests failed"}}) == "error: 3 API tests failed"
    assert checkpoint_failure({**base, "metadata": {"error": {"message": "boom"}}}) == "error: boom"
    assert checkpoint_failure({**base, "error": "disk full"}) == "error: disk full"
    assert checkpoint_failure({**base, "metadata": {"error": None}}) is None
    assert checkpoint_failure({**base, "phase": "build_2a_api_tests_failed"}) is not None
    assert checkpoint_failure({**base, "phase": "build_4b_error_handling"}) is None  # work on errors, not one
    assert checkpoint_failure({**base, "status": "failed"}) == "status: failed"
    assert checkpoint_failure({**base, "status": "rolled_back"}) is None


# ---------------------------------------------------------------------- times


def test_times_are_local_with_how_long_ago() -> None:
    assert ago(NOW - timedelta(seconds=20), NOW) == "just now"
    assert ago(NOW - timedelta(minutes=1), NOW) == "1 minute ago"
    assert ago(NOW - timedelta(hours=5, minutes=59), NOW) == "5 hours ago"
    assert ago(NOW - timedelta(days=383, hours=3), NOW) == "383 days ago"
    assert ago(NOW + timedelta(days=2), NOW) == "in 2 days"
    moment = datetime(2025, 11, 17, 22, 40, 22, tzinfo=UTC)
    local = moment.astimezone().strftime("%Y-%m-%d %H:%M")
    assert time_with_ago("2025-11-17T22:40:22.364557Z", NOW) == f"{local} (382 days ago)"
    local_noon = datetime(2026, 12, 5, 12, 0).astimezone()
    assert time_with_ago("2024-11-01", local_noon) == "2024-11-01 (764 days ago)"  # a date stays a date
    for not_a_time in ("build_4e_start", "2024", "3.1.0", "2024-13-45", ""):
        assert time_with_ago(not_a_time, NOW) is None
