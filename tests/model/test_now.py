"""What the build is doing now and why it failed, from a store: the activity rule of formats.md, the current
phase and items, the span, and the failure's reason and place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from buildrunner_gui.model.activity import activity, ago, duration
from buildrunner_gui.model.failure_lines import is_failure_output
from buildrunner_gui.model.now import what_now
from buildrunner_gui.model.store import SessionStore

from .test_store import PROJECT, event

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def item(kind: str, item_id: str, status: str, stamp: datetime, **metadata: Any) -> dict[str, Any]:
    body = {f"{kind}_id": item_id, "id": item_id, "name": item_id.title(), "status": status, "raw_status": status}
    message = event(f"{kind}_update", **body, progress=0.0, metadata=metadata, removed=False)
    message["timestamp"] = iso(stamp)
    return message


def checkpoint(checkpoint_id: str, stamp: datetime, phase: str, error: str | None = None) -> dict[str, Any]:
    message = event(
        "checkpoint_update",
        checkpoint_id=checkpoint_id,
        phase=phase,
        status="created",
        tasks_completed=[],
        files_created=[],
        metadata={},
        removed=False,
        checkpoint_timestamp=iso(stamp),
        error=error,
    )
    message["timestamp"] = iso(stamp)
    return message


def progress(status: str, percent: float, total: int = 0, completed: int = 0) -> dict[str, Any]:
    return event("build_progress", total=total, completed=completed, percent=percent, status=status,
                 tasks_completed=0, files_created=0)  # fmt: skip


def line(text: str, output_type: str = "stdout") -> dict[str, Any]:
    return event("terminal_output", output=text, output_type=output_type, source="log:build.log")


def test_in_progress_is_building_only_while_something_writes():
    recent = iso(NOW - timedelta(minutes=3))
    assert activity("in_progress", recent, NOW, 10).text == "building"
    old = NOW - timedelta(days=379)
    idle = activity("in_progress", iso(old), NOW, 10)
    assert idle.word == "idle" and idle.since == old and idle.text.startswith("idle since 2025-")
    assert activity("in_progress", None, NOW, 10).word == "idle"  # nothing recorded: never "building"
    assert activity("completed", recent, NOW, 10).text == "completed"


def test_a_building_session_says_its_phase_current_items_span_and_newest_line():
    store = SessionStore("s", PROJECT)
    start = NOW - timedelta(minutes=12)
    store.publish(
        [
            checkpoint("c1", start, "build_1_setup"),
            checkpoint("c2", NOW - timedelta(minutes=2), "build_2_api"),
            item("feature", "api", "in_progress", NOW - timedelta(minutes=1)),
            item("feature", "ui", "completed", NOW - timedelta(minutes=1)),
            progress("in_progress", 43.0, 2, 1),
            line("\x1b[32mcompiling api\x1b[0m"),
        ]
    )
    shown = what_now(store, NOW, 10)
    assert shown.activity.building
    assert (shown.phase, shown.current, shown.last_line) == ("build_2_api", "Api", "compiling api")
    assert shown.started == start and shown.span == timedelta(minutes=12)
    assert shown.failure is None
    assert shown.headline == "features: 1 of 2 complete · checkpoint reports 43.0%"


def test_the_failure_reason_comes_from_the_checkpoint_then_the_items_then_the_terminal():
    store = SessionStore("s", PROJECT)
    store.publish([line("FAILED tests/api/test_tasks.py::test_reorder - assert 2 == 3"), progress("failed", 40.0)])
    assert what_now(store, NOW, 10).failure.where == "terminal"
    assert what_now(store, NOW, 10).failure.reason.startswith("FAILED tests/api/test_tasks.py")

    store.publish([item("feature", "api", "failed", NOW, error="2 tests failed"), progress("failed", 40.0)])
    failure = what_now(store, NOW, 10).failure
    assert (failure.where, failure.ref, failure.reason) == ("feature", "api", "Api: 2 tests failed")

    store.publish(
        [checkpoint("c9", NOW, "build_2a_api_tests_failed", error="api tests failed"), progress("failed", 40.0)]
    )
    failure = what_now(store, NOW, 10).failure
    assert (failure.where, failure.ref, failure.reason) == ("checkpoint", "c9", "api tests failed")


def test_failure_output():
    assert is_failure_output("FAILED tests/x.py::t", "stdout")
    assert is_failure_output("\x1b[31mTraceback (most recent call last):\x1b[0m", "stdout")
    assert is_failure_output("anything at all", "stderr")
    assert not is_failure_output("12 passed in 0.3s, errors: 0", "stdout")


def test_words_for_times():
    assert ago(NOW - timedelta(seconds=12), NOW) == "12 s ago"
    assert ago(NOW - timedelta(days=383), NOW) == "383 days ago"
    assert duration(timedelta(minutes=12, seconds=5)) == "12 min 5 s"
    assert duration(timedelta(days=2, hours=5)) == "2 d 5 h"
