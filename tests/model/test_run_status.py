"""A run of the build command that ended badly makes the session failed, with its exit code as the reason, until
the files say otherwise; the status is derived in the store alone, so a mirror derives the same from the wire."""

from __future__ import annotations

import json
from typing import Any

from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.follow import UpstreamFollower
from buildrunner_gui.model.formats import parse_checkpoint
from buildrunner_gui.model.inputs import FileRead
from buildrunner_gui.model.messages import SNAPSHOT
from buildrunner_gui.model.now import failure_of, what_now
from buildrunner_gui.model.run_outcome import run_reason, status_with_run
from buildrunner_gui.model.store import SessionStore

from .test_now import NOW
from .test_runs import MIRROR_SOURCE, PROJECT, wire, without_source


class Clock:
    def __init__(self, stamp: str) -> None:
        self.stamp = stamp

    def __call__(self) -> str:
        return self.stamp


def run(run_id: str, state: str, exit_code: int | None, ended_at: str | None, stamp: str) -> dict[str, Any]:
    return {
        "type": "run_update",
        "session_id": "",
        "epoch": "",
        "seq": 0,
        "timestamp": stamp,
        "run_id": run_id,
        "state": state,
        "command": "make",
        "started_at": "2026-12-06T10:00:00.000Z",
        "ended_at": ended_at,
        "exit_code": exit_code,
        "duration_s": 5.0 if ended_at else None,
    }


def checkpoint_read(name: str, raw: dict[str, Any]) -> FileRead:
    data = json.dumps(raw).encode()
    mtime = 1_700_000_000.0
    record = parse_checkpoint(data, name, mtime)
    return FileRead(f".buildrunner/checkpoints/{name}", "checkpoint", "modified", record, len(data), mtime, True)


def building_engine(clock: Clock) -> SessionEngine:
    engine = SessionEngine("p", "p", clock=clock)
    engine.apply([checkpoint_read("a.json", {"phase": "build_1", "percent_complete": 40})])
    assert engine.store.status == "in_progress"
    return engine


def test_a_non_zero_exit_fails_the_session_until_the_differ_reports_a_later_change():
    clock = Clock("2026-12-06T10:00:01.000Z")
    engine = building_engine(clock)
    store = engine.store
    store.publish([run("r1", "running", None, None, "2026-12-06T10:00:01.000Z")])
    assert store.status == "in_progress"
    store.publish([run("r1", "finished", 3, "2026-12-06T10:00:05.000Z", "2026-12-06T10:00:05.000Z")])
    assert store.status == "failed" and store.progress["status"] == "in_progress"  # the files' own status kept
    state = store.snapshot()
    SNAPSHOT.validate_python(state)
    assert (state["status"], state["progress"]["status"]) == ("failed", "in_progress")
    failure = failure_of(store, None)
    assert failure is not None
    assert (failure.reason, failure.where, failure.ref) == ("the build command exited with code 3", "run", "r1")
    assert what_now(store, NOW, 10).failure == failure

    # the run's own last write reaching the watcher a moment after the end does not clear it
    clock.stamp = "2026-12-06T10:00:06.000Z"
    engine.apply([checkpoint_read("a.json", {"phase": "build_1", "percent_complete": 45})])
    assert store.status == "failed"

    # a change the differ reports later does
    clock.stamp = "2026-12-06T10:01:00.000Z"
    engine.apply([checkpoint_read("a.json", {"phase": "build_2", "percent_complete": 50})])
    assert store.status == "in_progress"
    assert what_now(store, NOW, 10).failure is None


def test_a_zero_exit_or_an_active_run_leaves_the_files_status():
    clock = Clock("2026-12-06T10:00:01.000Z")
    store = building_engine(clock).store
    store.publish([run("r1", "finished", 0, "2026-12-06T10:00:05.000Z", "2026-12-06T10:00:05.000Z")])
    assert store.status == "in_progress"
    store.publish([run("r2", "finished", 2, "2026-12-06T10:00:09.000Z", "2026-12-06T10:00:09.000Z")])
    assert store.status == "failed"
    store.publish([run("r3", "running", None, None, "2026-12-06T10:00:10.000Z")])  # a new run: no verdict yet
    assert store.status == "in_progress"


def test_a_command_that_did_not_start_fails_the_session():
    store = SessionStore("s", PROJECT)
    store.publish([run("r1", "failed_to_start", None, "2026-12-06T10:00:00.000Z", "2026-12-06T10:00:00.000Z")])
    assert store.status == "failed"
    failure = failure_of(store, None)
    assert failure is not None and failure.reason == "the build command did not start"


def test_reasons_and_the_rule_alone():
    ended = run("r", "finished", -15, "2026-12-06T10:00:05.000Z", "")
    assert run_reason(ended) == "the build command was ended by signal 15"
    assert status_with_run("completed", ended, "2026-12-06T10:00:04.000Z") == "failed"
    assert status_with_run("completed", ended, "2026-12-06T10:00:08.000Z") == "completed"
    assert status_with_run("completed", ended, None) == "failed"
    assert status_with_run("completed", None, None) == "completed"


def test_a_mirror_derives_the_same_status_and_reason_by_status_and_by_events():
    clock = Clock("2026-12-06T10:00:01.000Z")
    engine = building_engine(clock)
    local = engine.store
    mirror = SessionStore("m", PROJECT, MIRROR_SOURCE)
    follower = UpstreamFollower(mirror)
    follower.take_status(wire(local.status_message()))
    events = wire(local.publish([run("r1", "finished", 4, "2026-12-06T10:00:05.000Z", "2026-12-06T10:00:05.000Z")]))
    mirror.publish([m for m in events if follower.take_event(m)])
    assert mirror.status == local.status == "failed"
    assert failure_of(mirror, None) == failure_of(local, None)

    late = SessionStore("late", PROJECT, MIRROR_SOURCE)  # joins after the failure: from a status alone
    UpstreamFollower(late).take_status(wire(local.status_message()))
    assert without_source(late.snapshot()) == without_source(local.snapshot())
    assert late.status == "failed" and failure_of(late, None) == failure_of(local, None)

    clock.stamp = "2026-12-06T10:02:00.000Z"
    events = wire(engine.apply([checkpoint_read("a.json", {"phase": "build_3", "percent_complete": 70})]))
    mirror.publish([m for m in events if follower.take_event(m)])
    assert mirror.status == local.status == "in_progress"
    assert without_source(mirror.snapshot()) == without_source(local.snapshot())


def test_a_cancelled_run_is_not_a_failure_and_a_mirror_knows_it_was_cancelled():
    clock = Clock("2026-12-06T10:00:01.000Z")
    store = building_engine(clock).store
    ended = run("r1", "finished", -15, "2026-12-06T10:00:05.000Z", "2026-12-06T10:00:05.000Z")
    store.publish([{**ended, "cancelled": True}])
    assert store.status == "in_progress" and (store.current_run() or {}).get("cancelled") is True
    mirror = SessionStore("m", PROJECT)
    UpstreamFollower(mirror).take_status(wire(store.status_message()))
    assert mirror.status == "in_progress" and (mirror.current_run() or {}).get("cancelled") is True
    store.publish([{**ended, "run_id": "r2"}])  # the same end, not cancelled: the signal is a failure
    assert store.status == "failed"
