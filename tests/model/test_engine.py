"""The session engine driven with source inputs: seq numbers, minimal diffs, bad files, bounded buffers, resume."""

from __future__ import annotations

import json
from typing import Any

import pytest

from buildrunner_gui.model import engine as engine_module
from buildrunner_gui.model import store as store_module
from buildrunner_gui.model.formats import parse_checkpoint, parse_document, parse_registry
from buildrunner_gui.model.inputs import FileFailed, FileRead, FileRemoved, LogAppended, Notice, StateDirChanged
from buildrunner_gui.model.jsonbytes import ParseError

CP_DIR = ".buildrunner/checkpoints"
FEATURES = ".buildrunner/features.json"
MTIME = 1_763_400_000.0


def cp_read(
    name: str, obj: dict[str, Any], change: str = "modified", announce: bool = True, mtime: float = MTIME
) -> FileRead:
    data = json.dumps(obj).encode()
    record = parse_checkpoint(data, name, mtime)
    return FileRead(f"{CP_DIR}/{name}", "checkpoint", change, record, len(data), mtime, announce)


def reg_read(obj: Any, change: str = "modified", announce: bool = True) -> FileRead:
    data = json.dumps(obj).encode()
    return FileRead(FEATURES, "features", change, parse_registry(data), len(data), MTIME, announce)


def doc_read(
    path: str, text: str, file_type: str = "context", change: str = "created", announce: bool = True
) -> FileRead:
    data = text.encode()
    return FileRead(path, file_type, change, parse_document(data, path), len(data), MTIME, announce)


def failed(path: str, file_type: str, data: bytes) -> FileFailed:
    """The FileFailed a source would send for these bytes (they must fail to parse)."""
    with pytest.raises(ParseError) as info:
        if file_type == "checkpoint":
            parse_checkpoint(data, path.rsplit("/", 1)[-1], MTIME)
        else:
            parse_registry(data)
    return FileFailed(path, file_type, "modified", info.value.error_type, info.value.message)


REGISTRY = {
    "project": "Demo Project",
    "features": [
        {"id": "f1", "name": "Auth", "status": "planned", "components": ["src/auth.py", "src/shared.py"]},
        {"id": "f2", "name": "API", "status": "complete", "components": ["src/shared.py"]},
        {"id": "f3", "name": "UI", "status": "in_progress", "progress": 40, "components": ["src/ui.py"]},
    ],
}
CP1 = {
    "id": "cp1",
    "timestamp": "2025-11-17T21:00:00Z",
    "phase": "plan",
    "tasks_completed": ["t1"],
    "files_created": [],
    "status": "created",
    "metadata": {"description": "first"},
}


def types(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


def of_type(messages: list[dict[str, Any]], message_type: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == message_type]


@pytest.fixture
def loaded(make_engine):
    """An engine after the initial scan of a small project (nothing announced)."""
    checked = make_engine(session_id="demo", project_name="demo-folder", project_path="/p/demo", alias="dm")
    checked.apply(
        [
            StateDirChanged(True, at_start=True),
            reg_read(REGISTRY, "created", announce=False),
            cp_read("cp1.json", CP1, "created", announce=False),
        ]
    )
    return checked


# ---------------------------------------------------------------- seq


def test_seq_counts_events_and_control_messages_do_not_advance_it(make_engine, protocol):
    checked = make_engine()
    engine = checked.engine
    assert engine.seq == 0
    assert protocol.message(engine.control("pong"))["seq"] == 0
    first = checked.apply([Notice("one"), Notice("two"), LogAppended(".buildrunner/logs/a.log", "x\n")])
    assert [m["seq"] for m in first] == [1, 2, 3]
    for message in [
        engine.control("pong"),
        engine.control("subscribed", topics=["all"]),
        engine.control(
            "connection", status="connected", client_id="c1", server_version="0", protocol_version=1, max_frame=1
        ),
        engine.control("error", error_message="bad", error_type="invalid_json", file_path=None, traceback=None),
        engine.status_message(),
    ]:
        assert protocol.message(message)["seq"] == 3
    assert engine.seq == 3
    second = checked.apply([Notice("three")])
    assert [m["seq"] for m in second] == [4]


def test_status_message_carries_snapshot_and_last_seq(loaded, protocol):
    engine = loaded.engine
    message = protocol.message(engine.status_message())
    assert message["type"] == "status"
    assert message["seq"] == engine.seq
    assert message["state"] == engine.snapshot()


def test_epoch_is_random_per_engine_and_fixed(make_engine):
    a, b = make_engine(), make_engine()
    assert a.engine.epoch != b.engine.epoch
    assert len(a.engine.epoch) >= 8
    epoch = a.engine.epoch
    a.apply([Notice("x")])
    assert a.engine.epoch == epoch
    assert make_engine(epoch="fixed").engine.epoch == "fixed"


# ---------------------------------------------------------------- initial scan


def test_initial_scan_state(loaded):
    snap = loaded.snapshot()
    assert snap["project"] == {"name": "Demo Project", "alias": "dm", "path": "/p/demo"}
    assert [f["id"] for f in snap["features"]] == ["f1", "f2", "f3"]
    assert [c["id"] for c in snap["components"]] == ["src/auth.py", "src/shared.py", "src/ui.py"]
    assert {c["id"]: c["status"] for c in snap["components"]} == {
        "src/auth.py": "pending",
        "src/shared.py": "in_progress",
        "src/ui.py": "in_progress",
    }
    assert snap["progress"] == {
        "total": 3,
        "completed": 1,
        "percent": round(140 / 3, 1),
        "status": "in_progress",
        "tasks_completed": 1,
        "files_created": 0,
    }
    assert snap["status"] == "in_progress"
    assert snap["files"] == []  # the scan is state, not activity
    assert [c["checkpoint_id"] for c in snap["checkpoints"]] == ["cp1"]
    # The scan announced nothing but still produced the derived events (clients that resume see them).
    emitted = types(loaded.emitted)
    assert "file_change" not in emitted
    assert emitted.count("checkpoint_update") == 1
    assert emitted.count("feature_update") == 3
    assert emitted.count("component_update") == 3
    assert emitted.count("build_progress") == 1


def test_snapshot_has_every_protocol_key(loaded):
    loaded.apply(
        [
            LogAppended(".buildrunner/logs/build.log", "line 1\nline 2\n"),
            doc_read(".buildrunner/context/notes.md", "# Notes\nbody\n"),
            failed(FEATURES, "features", b"{"),
            FileRead(".buildrunner/artifacts/out.bin", "artifact", "created", None, 123, MTIME),
        ]
    )
    snap = loaded.snapshot()
    assert set(snap["project"]) >= {"name", "alias"}
    assert set(snap["progress"]) == {"total", "completed", "percent", "status", "tasks_completed", "files_created"}
    stat_keys = {"total", "completed", "in_progress", "pending", "failed", "completion_percentage"}
    assert set(snap["component_stats"]) == set(snap["feature_stats"]) == stat_keys
    item_keys = {"id", "name", "status", "raw_status", "progress", "metadata"}
    assert snap["components"] and all(set(c) == item_keys for c in snap["components"])
    assert snap["features"] and all(set(f) == item_keys for f in snap["features"])
    assert set(snap["checkpoints"][0]) == {
        "checkpoint_id",
        "timestamp",
        "phase",
        "status",
        "tasks_completed",
        "files_created",
        "error",  # beyond protocol.md: why a checkpoint failed, so a mirror can say it too
    }
    assert snap["checkpoints"][0]["timestamp"] == "2025-11-17T21:00:00Z"
    assert all(set(t) == {"output", "output_type", "source", "timestamp"} for t in snap["terminal"])
    assert snap["files"] and all("content" not in f for f in snap["files"])
    assert {f["file_path"] for f in snap["files"]} == {
        ".buildrunner/context/notes.md",
        FEATURES,
        ".buildrunner/artifacts/out.bin",
    }
    assert [(e["file_path"], e["error_type"]) for e in snap["errors"]] == [(FEATURES, "invalid_json")]
    assert [(d["file_path"], d["title"], d["size"]) for d in snap["documents"]] == [
        (".buildrunner/context/notes.md", "Notes", len("# Notes\nbody\n"))
    ]
    assert snap["artifacts"][0]["file_path"] == ".buildrunner/artifacts/out.bin"
    assert snap["artifacts"][0]["size"] == 123


# ---------------------------------------------------------------- one change sends only what changed


def test_new_checkpoint_sends_only_the_changes(loaded):
    cp2 = {
        **CP1,
        "id": "cp2",
        "timestamp": "2025-11-17T22:00:00Z",
        "phase": "deploy",
        "tasks_completed": ["t2"],
        "features": [{"id": "f1", "status": "done"}],
    }
    out = loaded.apply([cp_read("cp2.json", cp2, "created")])
    assert types(out) == [
        "checkpoint_update",
        "component_update",
        "component_update",
        "feature_update",
        "build_progress",
        "file_change",
    ]
    checkpoint, auth, shared, f1, progress, file_change = out
    assert (file_change["file_path"], file_change["file_type"], file_change["change_type"]) == (
        f"{CP_DIR}/cp2.json",
        "checkpoint",
        "created",
    )
    assert file_change["content"] is None
    assert (checkpoint["checkpoint_id"], checkpoint["phase"], checkpoint["tasks_completed"]) == (
        "cp2",
        "deploy",
        ["t2"],
    )
    assert (auth["component_id"], auth["status"], auth["removed"]) == ("src/auth.py", "completed", False)
    assert (shared["component_id"], shared["status"], shared["progress"]) == ("src/shared.py", "completed", 100.0)
    assert (f1["feature_id"], f1["name"], f1["status"], f1["raw_status"], f1["progress"]) == (
        "f1",
        "Auth",
        "completed",
        "done",
        100.0,
    )
    assert progress["completed"] == 2
    assert progress["percent"] == round(240 / 3, 1)
    assert progress["tasks_completed"] == 2
    assert progress["status"] == "in_progress"


def test_checkpoint_change_without_figure_change_sends_no_progress(loaded):
    changed = {**CP1, "metadata": {"description": "edited"}}
    out = loaded.apply([cp_read("cp1.json", changed)])
    assert types(out) == ["checkpoint_update", "file_change"]
    assert out[0]["metadata"] == {"description": "edited"}


def test_unchanged_reread_sends_nothing(loaded):
    before = loaded.snapshot()
    assert loaded.apply([cp_read("cp1.json", CP1)]) == []
    assert loaded.apply([reg_read(REGISTRY)]) == []
    assert loaded.apply([cp_read("cp1.json", CP1, announce=False), reg_read(REGISTRY, announce=False)]) == []
    after = loaded.snapshot()
    assert {k: v for k, v in after.items() if k != "files"} == {k: v for k, v in before.items() if k != "files"}


def test_reordered_registry_with_same_content_sends_no_item_updates(loaded):
    f1, f2, f3 = REGISTRY["features"]
    reordered = {**REGISTRY, "version": "2", "features": [f3, f1, f2]}
    out = loaded.apply([reg_read(reordered)])
    assert types(out) == ["file_change"]
    # Items keep the order they first appeared in: no event says "reordered", so a mirror keeps that order too.
    assert [f["id"] for f in loaded.snapshot()["features"]] == ["f1", "f2", "f3"]


def test_registry_change_updates_only_changed_items(loaded):
    features = [dict(f) for f in REGISTRY["features"]]
    features[2]["progress"] = 60
    out = loaded.apply([reg_read({**REGISTRY, "features": features})])
    assert types(out) == ["component_update", "feature_update", "build_progress", "file_change"]
    assert out[0]["component_id"] == "src/ui.py" and out[0]["progress"] == 60.0
    assert out[1]["feature_id"] == "f3" and out[1]["progress"] == 60.0
    assert out[2]["percent"] == round(160 / 3, 1)


def test_removed_items_are_sent_with_removed_true(loaded):
    features = [f for f in REGISTRY["features"] if f["id"] != "f3"]
    out = loaded.apply([reg_read({**REGISTRY, "features": features})])
    assert types(out) == ["component_update", "feature_update", "build_progress", "file_change"]
    component, feature = out[0], out[1]
    assert (component["component_id"], component["removed"]) == ("src/ui.py", True)
    assert (feature["feature_id"], feature["name"], feature["removed"]) == ("f3", "UI", True)
    snap = loaded.snapshot()
    assert [f["id"] for f in snap["features"]] == ["f1", "f2"]
    assert "src/ui.py" not in [c["id"] for c in snap["components"]]


def test_registry_deleted_removes_every_feature(loaded):
    out = loaded.apply([FileRemoved(FEATURES, "features")])
    assert types(out)[-1] == "file_change" and out[-1]["change_type"] == "deleted"
    assert sorted(m["feature_id"] for m in of_type(out, "feature_update") if m["removed"]) == ["f1", "f2", "f3"]
    assert len([m for m in of_type(out, "component_update") if m["removed"]]) == 3
    assert types(out)[-2] == "build_progress"
    snap = loaded.snapshot()
    assert snap["features"] == [] and snap["components"] == []
    assert snap["project"]["name"] == "demo-folder"  # the registry named the project; now the folder does


def test_checkpoint_deleted(loaded):
    out = loaded.apply([FileRemoved(f"{CP_DIR}/cp1.json", "checkpoint")])
    assert types(out) == ["checkpoint_update", "build_progress", "file_change"]
    assert out[0]["checkpoint_id"] == "cp1" and out[0]["removed"] is True
    assert out[1]["tasks_completed"] == 0
    assert loaded.snapshot()["checkpoints"] == []


def test_checkpoint_deleted_when_another_file_has_the_same_id(loaded):
    loaded.apply([cp_read("copy.json", CP1, "created")])
    out = loaded.apply([FileRemoved(f"{CP_DIR}/copy.json", "checkpoint")])
    assert of_type(out, "checkpoint_update") == []  # cp1 is still in the history
    assert [c["checkpoint_id"] for c in loaded.snapshot()["checkpoints"]] == ["cp1"]


def test_rolled_back_checkpoint_update(loaded):
    cp2 = {**CP1, "id": "cp2", "timestamp": "2025-11-17T22:00:00Z", "phase": "build_x", "error": "boom"}
    out = loaded.apply([cp_read("cp2.json", cp2, "created")])
    assert of_type(out, "build_progress")[0]["status"] == "failed"
    out = loaded.apply([cp_read("cp2.json", {**cp2, "status": "rolled_back"})])
    assert of_type(out, "checkpoint_update")[0]["status"] == "rolled_back"
    assert of_type(out, "build_progress")[0]["status"] == "in_progress"
    assert [c["status"] for c in loaded.snapshot()["checkpoints"]] == ["created", "rolled_back"]


def test_batch_rederives_once(loaded):
    """A batch of changes gives one build_progress at the end, for the final figures."""
    cp2 = {**CP1, "id": "cp2", "timestamp": "2025-11-17T22:00:00Z", "completion": 10}
    cp3 = {**CP1, "id": "cp3", "timestamp": "2025-11-17T23:00:00Z", "completion": 70}
    out = loaded.apply([cp_read("cp2.json", cp2, "created"), cp_read("cp3.json", cp3, "created")])
    assert types(out) == ["checkpoint_update", "checkpoint_update", "build_progress", "file_change", "file_change"]
    assert out[2]["percent"] == 70.0


# ---------------------------------------------------------------- bad files


def test_failed_file_keeps_last_good_state(loaded):
    before = loaded.snapshot()
    bad_registry = failed(FEATURES, "features", b'{"features": [{"id": "f1", "status": "do')
    bad_checkpoint = failed(f"{CP_DIR}/cp1.json", "checkpoint", b"\xff\xfe")
    out = loaded.apply([bad_registry, bad_checkpoint])
    assert types(out) == ["file_change", "error", "file_change", "error"]
    assert (out[1]["file_path"], out[1]["error_type"]) == (FEATURES, "invalid_json")
    assert (out[3]["file_path"], out[3]["error_type"]) == (f"{CP_DIR}/cp1.json", "not_utf8")
    assert out[1]["traceback"] is None
    assert out[1]["error_message"] and "\n" not in out[1]["error_message"]
    after = loaded.snapshot()
    for key in (
        "status",
        "progress",
        "component_stats",
        "feature_stats",
        "components",
        "features",
        "checkpoints",
        "project",
    ):
        assert after[key] == before[key], key
    assert [(e["file_path"], e["error_type"]) for e in after["errors"]] == [
        (FEATURES, "invalid_json"),
        (f"{CP_DIR}/cp1.json", "not_utf8"),
    ]
    # The next good read recovers.
    features = [dict(f) for f in REGISTRY["features"]]
    features[0]["status"] = "failed"
    out = loaded.apply([reg_read({**REGISTRY, "features": features})])
    assert of_type(out, "feature_update")[0]["status"] == "failed"
    assert loaded.snapshot()["status"] == "failed"


def test_failed_document_keeps_last_content(make_engine):
    checked = make_engine()
    path = ".buildrunner/context/a.md"
    checked.apply([doc_read(path, "# Good\n")])
    out = checked.apply([FileFailed(path, "context", "modified", "not_utf8", "not UTF-8 text")])
    assert types(out) == ["file_change", "error"]
    assert out[0]["content"] is None
    assert [(d["title"], d["content"]) for d in checked.snapshot()["documents"]] == [("Good", "# Good\n")]


# ---------------------------------------------------------------- documents, logs, artifacts, state dir


def test_document_file_change_carries_content(make_engine):
    checked = make_engine()
    big = "# Spec\n" + "z" * (70 * 1024)
    out = checked.apply(
        [doc_read(".buildrunner/context/a.md", "# A\ntext\n"), doc_read("PROJECT_SPEC.md", big, file_type="spec")]
    )
    assert [(m["file_type"], m["content"], m["truncated"]) for m in out[:1]] == [("context", "# A\ntext\n", False)]
    assert out[1]["file_type"] == "spec" and out[1]["truncated"] is True
    assert len(out[1]["content"]) == 64 * 1024
    docs = checked.snapshot()["documents"]
    assert [(d["file_path"], d["title"]) for d in docs] == [
        (".buildrunner/context/a.md", "A"),
        ("PROJECT_SPEC.md", "Spec"),
    ]
    out = checked.apply([FileRemoved(".buildrunner/context/a.md", "context")])
    assert types(out) == ["file_change"]
    assert [d["file_path"] for d in checked.snapshot()["documents"]] == ["PROJECT_SPEC.md"]


def test_non_document_file_change_has_no_content(make_engine):
    checked = make_engine()
    out = checked.apply([FileRead(".buildrunner/other.json", "other", "created", None, 5, MTIME)])
    assert out[0]["content"] is None and out[0]["truncated"] is False


def test_log_lines_become_terminal_output(make_engine):
    checked = make_engine()
    out = checked.apply(
        [
            LogAppended(".buildrunner/logs/research-cost.log", "a\nb\n"),
            LogAppended(".buildrunner/logs/research-cost.log", "c\n", restarted=True),
        ]
    )
    assert [(m["output"], m["output_type"], m["source"]) for m in out] == [
        ("a\nb\n", "stdout", "log:research-cost.log"),
        (".buildrunner/logs/research-cost.log: log restarted (truncated or rotated)", "info", "log:research-cost.log"),
        ("c\n", "stdout", "log:research-cost.log"),
    ]
    terminal = checked.snapshot()["terminal"]
    assert [t["output"] for t in terminal] == ["a", "b", terminal[2]["output"], "c"]
    assert {t["source"] for t in terminal} == {"log:research-cost.log"}


def test_artifacts_listed_and_removed(make_engine):
    checked = make_engine()
    checked.apply(
        [
            FileRead(".buildrunner/artifacts/b.txt", "artifact", "created", None, 10, MTIME),
            FileRead(".buildrunner/artifacts/a/x.csv", "artifact", "created", None, 20, MTIME + 1),
        ]
    )
    arts = checked.snapshot()["artifacts"]
    assert [(a["file_path"], a["size"]) for a in arts] == [
        (".buildrunner/artifacts/a/x.csv", 20),
        (".buildrunner/artifacts/b.txt", 10),
    ]
    checked.apply([FileRead(".buildrunner/artifacts/b.txt", "artifact", "modified", None, 11, MTIME + 2)])
    checked.apply([FileRemoved(".buildrunner/artifacts/a/x.csv", "artifact")])
    assert [(a["file_path"], a["size"]) for a in checked.snapshot()["artifacts"]] == [
        (".buildrunner/artifacts/b.txt", 11)
    ]


def test_state_dir_events(make_engine):
    checked = make_engine()
    out = checked.apply([StateDirChanged(False, at_start=True)])
    assert [(m["type"], m["output_type"]) for m in out] == [("terminal_output", "info")]
    checked.apply([doc_read(".buildrunner/context/a.md", "# A\n"), doc_read("PROJECT_SPEC.md", "# S\n", "spec")])
    out = checked.apply([StateDirChanged(False), FileRemoved(".buildrunner", "other")])
    assert types(out) == ["file_change", "error", "file_change"]
    assert out[1]["error_type"] == "state_dir_missing" and out[1]["file_path"] == ".buildrunner"
    assert [d["file_path"] for d in checked.snapshot()["documents"]] == ["PROJECT_SPEC.md"]
    out = checked.apply([StateDirChanged(True)])
    assert types(out) == ["file_change", "terminal_output"]
    assert out[0]["change_type"] == "created"


# ---------------------------------------------------------------- bounded buffers


def test_terminal_keeps_last_1000_lines(make_engine):
    checked = make_engine()
    checked.apply([LogAppended(".buildrunner/logs/a.log", "".join(f"line {n}\n" for n in range(1500)))])
    checked.apply([Notice("last notice")])
    terminal = checked.snapshot()["terminal"]
    assert len(terminal) == store_module.TERMINAL_LINES == 1000
    assert terminal[0]["output"] == "line 501"
    assert terminal[-2]["output"] == "line 1499"
    assert (terminal[-1]["output"], terminal[-1]["source"], terminal[-1]["output_type"]) == (
        "last notice",
        engine_module.MONITOR_SOURCE,
        "info",
    )


def test_files_keep_last_200(make_engine):
    checked = make_engine()
    checked.apply([FileRead(f".buildrunner/x/{n}.json", "other", "created", None, n, MTIME) for n in range(250)])
    files = checked.snapshot()["files"]
    assert len(files) == store_module.FILE_EVENTS == 200
    assert [f["file_path"] for f in files] == [f".buildrunner/x/{n}.json" for n in range(50, 250)]


def test_errors_keep_last_100(make_engine):
    checked = make_engine()
    checked.apply(
        [FileFailed(f"{CP_DIR}/{n}.json", "checkpoint", "created", "invalid_json", f"bad {n}") for n in range(150)]
    )
    errors = checked.snapshot()["errors"]
    assert len(errors) == store_module.ERROR_EVENTS == 100
    assert [e["error_message"] for e in errors] == [f"bad {n}" for n in range(50, 150)]


def test_checkpoints_snapshot_keeps_newest_500(make_engine):
    checked = make_engine()
    checked.apply(
        [
            cp_read(f"c{n:04d}.json", {"id": f"c{n}", "timestamp": 1_700_000_000 + n}, "created", False)
            for n in range(510)
        ]
    )
    rows = checked.snapshot()["checkpoints"]
    assert len(rows) == store_module.SNAPSHOT_CHECKPOINTS == 500
    assert rows[0]["checkpoint_id"] == "c10" and rows[-1]["checkpoint_id"] == "c509"
