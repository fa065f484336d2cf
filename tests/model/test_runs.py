"""Build runs in the store: `run_update` events reduce to the snapshot's `run` and `runs` (protocol.md), and a
mirror rebuilds both from the wire, by events, by a `status`, and by the catch-up events of a reload."""

from __future__ import annotations

import json
from typing import Any

from buildrunner_gui.model.follow import UpstreamFollower
from buildrunner_gui.model.messages import SERVER_MESSAGE, SNAPSHOT
from buildrunner_gui.model.store import SNAPSHOT_RUNS, SessionStore

PROJECT = {"name": "p", "alias": None, "path": "/p"}
MIRROR_SOURCE = {"kind": "mirror", "upstream": "ws://127.0.0.1:1/api/build/stream/p", "state": "live"}


def run_update(run_id: str, state: str, exit_code: int | None = None) -> dict[str, Any]:
    ended = state in ("finished", "failed_to_start")
    return {
        "type": "run_update",
        "timestamp": "2026-01-01T00:00:01Z",
        "run_id": run_id,
        "state": state,
        "command": "br build start",
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": "2026-01-01T00:00:09Z" if ended else None,
        "exit_code": exit_code,
        "duration_s": 9.0 if ended else None,
    }


def wire(value: Any) -> Any:
    return json.loads(json.dumps(value))


def without_source(state: Any) -> Any:
    return {key: value for key, value in wire(state).items() if key != "source"}


def test_no_run_yet():
    state = SessionStore("s", PROJECT).snapshot()
    assert state["run"] is None and state["runs"] == []
    SNAPSHOT.validate_python(state)


def test_updates_reduce_to_the_current_run_and_the_last_twenty():
    store = SessionStore("s", PROJECT)
    published = store.publish([run_update("r1", "starting"), run_update("r1", "running")])
    for message in published:
        SERVER_MESSAGE.validate_python(message)
    state = store.snapshot()
    assert state["run"]["state"] == "running" and [r["run_id"] for r in state["runs"]] == ["r1"]
    store.publish([run_update("r1", "finished", exit_code=3)])
    state = store.snapshot()
    assert (state["run"]["state"], state["run"]["exit_code"], state["run"]["duration_s"]) == ("finished", 3, 9.0)
    assert set(state["run"]) == {
        "run_id",
        "state",
        "command",
        "started_at",
        "ended_at",
        "exit_code",
        "duration_s",
    }
    for number in range(2, 30):
        store.publish([run_update(f"r{number}", "starting"), run_update(f"r{number}", "finished", 0)])
    state = store.snapshot()
    assert len(state["runs"]) == SNAPSHOT_RUNS == 20
    assert [r["run_id"] for r in state["runs"]] == [f"r{n}" for n in range(10, 30)]  # newest last
    assert state["run"] == state["runs"][-1]
    SNAPSHOT.validate_python(state)


def test_a_mirror_rebuilds_runs_from_a_status_events_and_a_reload():
    local = SessionStore("s", PROJECT)
    local.publish([run_update("r1", "starting"), run_update("r1", "finished", 0)])
    mirror = SessionStore("m", PROJECT, MIRROR_SOURCE)
    follower = UpstreamFollower(mirror)
    follower.take_status(wire(local.status_message()))  # joins with a status
    assert without_source(mirror.snapshot()) == without_source(local.snapshot())

    events = wire(local.publish([run_update("r2", "starting"), run_update("r2", "running")]))
    mirror.publish([m for m in events if follower.take_event(m)])  # follows by events
    assert without_source(mirror.snapshot()) == without_source(local.snapshot())

    # the mirror (as a relay) misses the next events; a fresh status reloads it, and its own viewers get the
    # catch-up events
    viewer = SessionStore("v", PROJECT, MIRROR_SOURCE)
    viewer_follower = UpstreamFollower(viewer)
    viewer_follower.take_status(wire(mirror.status_message()))
    local.publish([run_update("r2", "paused"), run_update("r2", "finished", 1), run_update("r3", "starting")])
    published = wire(follower.take_status(wire(local.status_message())))
    assert [(m["type"], m["run_id"], m["state"]) for m in published] == [
        ("run_update", "r2", "finished"),
        ("run_update", "r3", "starting"),
    ]
    viewer.publish([m for m in published if viewer_follower.take_event(m)])
    assert without_source(mirror.snapshot()) == without_source(local.snapshot())
    assert without_source(viewer.snapshot())["runs"] == without_source(local.snapshot())["runs"]
    assert viewer.snapshot()["run"]["run_id"] == "r3"
