"""formats.md, "Activity": `last_change` at open is what the build state records, not the files' mtimes; while
watching it is the time of the change seen; and the activity words follow from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from buildrunner_gui.model.activity import activity
from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.formats import parse_checkpoint, parse_registry
from buildrunner_gui.model.inputs import FileRead

NOW = "2026-12-06T09:00:00.000Z"
COPIED = datetime(2026, 12, 6, 8, 59, tzinfo=UTC).timestamp()  # a fresh clone: every mtime a minute ago
OLD_MTIME = datetime(2025, 1, 1, tzinfo=UTC).timestamp()


def engine() -> SessionEngine:
    return SessionEngine("p", "p", clock=lambda: NOW)


def checkpoint(name: str, raw: dict[str, Any], mtime: float = COPIED, announce: bool = False) -> FileRead:
    data = json.dumps(raw).encode()
    record = parse_checkpoint(data, name, mtime)
    return FileRead(f".buildrunner/checkpoints/{name}", "checkpoint", "created", record, len(data), mtime, announce)


def registry(raw: dict[str, Any], mtime: float = COPIED, announce: bool = False) -> FileRead:
    data = json.dumps(raw).encode()
    return FileRead(
        ".buildrunner/features.json", "features", "created", parse_registry(data), len(data), mtime, announce
    )


BUILDING = {"id": "f", "status": "in_progress", "progress": 40}


def test_at_open_the_newest_recorded_time_wins_over_mtimes():
    run = engine()
    run.apply(
        [
            checkpoint("a.json", {"timestamp": "2025-11-17T21:30:05Z", "phase": "build_1"}),
            checkpoint("b.json", {"timestamp": "2025-11-17T22:40:22Z", "phase": "build_2"}),
            registry({"last_updated": "2025-11-17T22:00:00Z", "features": [BUILDING]}),
        ]
    )
    assert run.store.status == "in_progress"
    assert run.store.last_change == "2025-11-17T22:40:22.000Z"


def test_at_open_the_registrys_last_updated_counts_when_newer():
    run = engine()
    run.apply(
        [
            checkpoint("a.json", {"timestamp": "2025-11-17T22:40:22Z", "phase": "build_1"}),
            registry({"last_updated": "2026-04-20T20:06:20.436398Z", "features": []}),
        ]
    )
    assert run.store.last_change == "2026-04-20T20:06:20.436Z"


def test_a_checkpoint_without_timestamp_stands_at_its_mtime():
    run = engine()
    run.apply([checkpoint("a.json", {"phase": "build_1"}, mtime=OLD_MTIME)])
    assert run.store.last_change == "2025-01-01T00:00:00.000Z"


def test_the_registrys_mtime_counts_only_when_nothing_is_recorded():
    alone = engine()
    alone.apply([registry({"features": [BUILDING]}, mtime=OLD_MTIME)])
    assert alone.store.last_change == "2025-01-01T00:00:00.000Z"

    with_checkpoint = engine()
    with_checkpoint.apply(
        [
            checkpoint("a.json", {"timestamp": "2024-06-01T00:00:00Z", "phase": "plan"}),
            registry({"features": [BUILDING]}),  # no last_updated; its mtime (a copy's) must not count
        ]
    )
    assert with_checkpoint.store.last_change == "2024-06-01T00:00:00.000Z"


def test_a_change_seen_while_watching_is_the_time_it_was_seen():
    run = engine()
    run.apply([checkpoint("a.json", {"timestamp": "2024-06-01T00:00:00Z", "phase": "build_1"})])
    run.apply([registry({"last_updated": "2024-06-01T00:00:00Z", "features": [BUILDING]}, announce=True)])
    assert run.store.last_change == NOW


def test_a_copied_project_opened_long_after_its_build_is_idle_not_building():
    run = engine()
    run.apply(
        [
            checkpoint("a.json", {"timestamp": "2025-11-17T22:40:22Z", "phase": "build_4e_start"}),
            registry({"last_updated": "2025-11-17T22:00:00Z", "features": [BUILDING]}),
        ]
    )
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)  # a minute after the copy's mtimes
    state = activity(run.store.status, run.store.last_change, now, 10)
    assert state.word == "idle"
    assert state.since == datetime(2025, 11, 17, 22, 40, 22, tzinfo=UTC)
    assert state.text.startswith("idle since 2025-11-1")  # the local date: the 17th, or the 18th east of UTC
    fresh = activity(run.store.status, run.store.last_change, state.since + timedelta(minutes=5), 10)
    assert fresh.text == "building"
