"""The real BuildRunner 3 fixtures, read the way `status` reads a project (`sources.oneshot.read_once`).

Expected figures are computed here from the fixture files themselves, following formats.md, wherever that is
reasonable; the few hard-coded numbers are the ones the fixtures' README and the task state.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from buildrunner_gui.model.activity import local_time
from buildrunner_gui.model.classify import classify
from buildrunner_gui.model.clock import parse_iso
from buildrunner_gui.model.messages import SNAPSHOT
from buildrunner_gui.model.now import what_now
from buildrunner_gui.sources.oneshot import read_once
from buildrunner_gui.sources.reader import ProjectReader

SAMPLE_CHECKPOINT_IDS = [
    "checkpoint_20251117_213005_705272",
    "checkpoint_20251117_215252_008237",
    "checkpoint_20251117_220126_836480",
    "checkpoint_20251117_224022_364548",
]
DONE_WORDS = {"complete", "completed", "done", "finished", "success", "succeeded", "passed", "production_ready"}
ACTIVE_WORDS = {"in_progress", "active", "running", "started", "building", "wip", "in_development", "testing"}


def checked_snapshot(root: Path) -> dict[str, Any]:
    state = read_once(root).snapshot()
    SNAPSHOT.validate_python(state)
    json.loads(json.dumps(state))
    return state


def files_under(root: Path) -> dict[str, tuple[bool, int]]:
    """Every entry under `root` (not following symlinks): relative path -> (is symlink, size)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            info = full.lstat()
            found[full.relative_to(root).as_posix()] = (full.is_symlink(), info.st_size)
    return found


def spec_status(raw: Any) -> str:
    word = str(raw or "").strip().lower().replace(" ", "_").replace("-", "_")
    return "completed" if word in DONE_WORDS else "in_progress" if word in ACTIVE_WORDS else "pending"


def spec_progress(feature: dict[str, Any]) -> float:
    """formats.md: a completed item is at 100 whatever number it carries; others at theirs, else 0."""
    if spec_status(feature.get("status")) == "completed":
        return 100.0
    if isinstance(feature.get("progress"), int | float):
        return min(100.0, max(0.0, float(feature["progress"])))
    return 100.0 if spec_status(feature.get("status")) == "completed" else 0.0


def checkpoint_ids_in_order(state_dir: Path) -> list[str]:
    rows = []
    for path in (state_dir / "checkpoints").glob("*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        moment = datetime.fromisoformat(raw["timestamp"])
        if moment.tzinfo is None:
            moment = moment.astimezone()
        rows.append((moment.astimezone(UTC), path.name, raw.get("id") or path.stem))
    return [row[2] for row in sorted(rows)]


def expected_documents(root: Path) -> dict[str, str]:
    """Context documents and the spec, with the title of their first heading (file name when none)."""
    state = root / ".buildrunner"
    paths = [p for p in (state / "context").rglob("*") if p.suffix in (".md", ".txt") and p.is_file()]
    paths += [p for p in (state / "PROJECT_SPEC.md", root / "PROJECT_SPEC.md") if p.is_file()]
    documents = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        heading = next(
            (
                line.strip().lstrip("#").strip()
                for line in text.splitlines()
                if line.strip().startswith("#") and line.strip().lstrip("#").strip()
            ),
            path.name,
        )
        documents[path.relative_to(root).as_posix()] = heading
    return documents


def expected_log_lines(state_dir: Path) -> dict[str, list[str]]:
    return {
        f"log:{path.name}": path.read_text(encoding="utf-8").splitlines()
        for path in sorted((state_dir / "logs").glob("*.log"))
        if path.stat().st_size < 256 * 1024
    }


def expected_artifacts(root: Path) -> dict[str, int]:
    return {
        f".buildrunner/artifacts/{rel}": size
        for rel, (_, size) in files_under(root / ".buildrunner" / "artifacts").items()
        if not (root / ".buildrunner" / "artifacts" / rel).is_dir()
        or (root / ".buildrunner" / "artifacts" / rel).is_symlink()
    }


# ---------------------------------------------------------------- br3-sample


def test_sample_project(sample_project: Path):
    root = sample_project
    state_dir = root / ".buildrunner"
    before = files_under(root)
    registry = json.loads((state_dir / "features.json").read_text(encoding="utf-8"))
    raw_features = registry["features"]

    state = checked_snapshot(root)

    # Features: 17, all completed, so all at 100 %; three of them carry a stale 95, kept as raw_progress.
    assert len(raw_features) == 17
    assert [f["id"] for f in state["features"]] == [f["id"] for f in raw_features]
    assert {f["status"] for f in state["features"]} == {"completed"}
    assert {f["raw_status"] for f in state["features"]} == {"complete"}
    assert [f["id"] for f in raw_features if f.get("progress") == 95] == ["feat-010", "feat-011", "feat-012"]
    assert {f["id"]: f["progress"] for f in state["features"]} == {f["id"]: 100.0 for f in raw_features}
    assert {f["id"]: f["metadata"].get("raw_progress") for f in state["features"]} == {
        f["id"]: f.get("progress") for f in raw_features
    }

    # Components: every path the features list, once.
    paths = list(dict.fromkeys(p for f in raw_features for p in f.get("components", [])))
    assert len(paths) == 91
    assert [c["id"] for c in state["components"]] == paths
    assert {c["status"] for c in state["components"]} == {"completed"}
    for component in state["components"]:
        owners = [f for f in raw_features if component["id"] in f.get("components", [])]
        assert component["progress"] == pytest.approx(sum(map(spec_progress, owners)) / len(owners))
        assert component["metadata"]["features"] == [f["id"] for f in owners]

    # Checkpoints: 4, newest last.
    assert checkpoint_ids_in_order(state_dir) == SAMPLE_CHECKPOINT_IDS
    assert [c["checkpoint_id"] for c in state["checkpoints"]] == SAMPLE_CHECKPOINT_IDS
    latest = json.loads((state_dir / "checkpoints" / f"{SAMPLE_CHECKPOINT_IDS[-1]}.json").read_text())
    assert state["checkpoints"][-1]["phase"] == latest["phase"] == "build_4e_start"

    # Figures: every feature completed, so 100 % and completed (rule 4); the stale 95s no longer hold it
    # "in progress" by rule 3 (phase build_4e_start, completion < 100). BuildRunner's own metrics agree.
    percent = round(sum(map(spec_progress, raw_features)) / len(raw_features), 1)
    assert percent == 100.0 == registry["metrics"]["completion_percentage"]
    assert state["progress"] == {
        "total": 17,
        "completed": 17,
        "percent": percent,
        "status": "completed",
        "tasks_completed": 0,
        "files_created": 0,
    }
    assert state["status"] == "completed"
    assert state["feature_stats"] == {
        "total": 17,
        "completed": 17,
        "in_progress": 0,
        "pending": 0,
        "failed": 0,
        "completion_percentage": percent,
    }
    assert state["component_stats"]["total"] == state["component_stats"]["completed"] == 91
    assert state["project"]["name"] == registry["project"]

    # Documents: the 4 context documents and the spec.
    documents = expected_documents(root)
    assert len(documents) == 5
    assert ".buildrunner/PROJECT_SPEC.md" in documents
    assert {d["file_path"]: d["title"] for d in state["documents"]} == documents
    assert {d["file_path"]: d["size"] for d in state["documents"]} == {p: (root / p).stat().st_size for p in documents}
    assert sum(classify(p) == "context" for p in documents) == 4
    assert classify(".buildrunner/PROJECT_SPEC.md") == "spec"

    # The log's lines, in the terminal.
    logs = expected_log_lines(state_dir)
    assert list(logs) == ["log:research-cost.log"]
    shown = [t for t in state["terminal"] if t["source"] == "log:research-cost.log"]
    assert [t["output"] for t in shown] == logs["log:research-cost.log"]
    assert len(shown) == 10
    assert {t["output_type"] for t in shown} == {"stdout"}

    # Artifacts, listed with their sizes.
    artifacts = expected_artifacts(root)
    assert len(artifacts) == 15
    assert {a["file_path"]: a["size"] for a in state["artifacts"]} == artifacts

    # Nothing went wrong, and nothing was written.
    assert state["errors"] == []
    assert files_under(root) == before


def test_sample_workflow_files_are_other(sample_project: Path):
    workflows = sorted((sample_project / ".buildrunner" / "workflows").glob("*.json"))
    assert len(workflows) == 2
    rels = [p.relative_to(sample_project).as_posix() for p in workflows]
    assert [classify(rel) for rel in rels] == ["other", "other"]
    inputs = ProjectReader(str(sample_project)).scan()
    listed = {i.path: i for i in inputs if getattr(i, "path", None) in rels}
    assert set(listed) == set(rels)
    assert all(type(i).__name__ == "FileRead" and i.file_type == "other" and i.record is None for i in listed.values())
    state = checked_snapshot(sample_project)
    assert state["errors"] == []
    assert [c["checkpoint_id"] for c in state["checkpoints"]] == SAMPLE_CHECKPOINT_IDS  # not taken as checkpoints


def test_sample_with_bad_symlinks(sample_project: Path, full_tree: Path, tmp_path: Path):
    """Symlinks in places the app parses: one pointing outside (the real link of the full tree), one dangling."""
    real_link = full_tree / ".buildrunner" / "dashboard"
    assert real_link.is_symlink() and not real_link.exists()
    state_dir = sample_project / ".buildrunner"
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"id": "sneaky", "timestamp": "2030-01-01T00:00:00Z", "error": "x"}))
    (state_dir / "checkpoints" / "zz_outside.json").symlink_to(outside)
    (state_dir / "context" / "dashboard.md").symlink_to(os.readlink(real_link))
    (state_dir / "context" / "dangling.md").symlink_to(state_dir / "context" / "missing.md")

    state = checked_snapshot(sample_project)
    bad = {
        ".buildrunner/checkpoints/zz_outside.json",
        ".buildrunner/context/dashboard.md",
        ".buildrunner/context/dangling.md",
    }
    assert {e["file_path"] for e in state["errors"]} == bad
    assert all(e["error_message"] and "\n" not in e["error_message"] for e in state["errors"])
    assert [c["checkpoint_id"] for c in state["checkpoints"]] == SAMPLE_CHECKPOINT_IDS
    assert state["status"] == "completed"  # the outside checkpoint's error is not read
    assert len(state["documents"]) == 5


# ---------------------------------------------------------------- br3-example-features.json


def test_example_registry(fixtures_dir: Path, tmp_path: Path):
    project = tmp_path / "example"
    (project / ".buildrunner").mkdir(parents=True)
    shutil.copyfile(fixtures_dir / "br3-example-features.json", project / ".buildrunner" / "features.json")
    raw = json.loads((fixtures_dir / "br3-example-features.json").read_text(encoding="utf-8"))

    state = checked_snapshot(project)

    assert len(state["features"]) == 6
    assert [(f["id"], f["name"], f["raw_status"]) for f in state["features"]] == [
        (f["id"], f["name"], f["status"]) for f in raw["features"]
    ]
    mapping = {"complete": "completed", "in_progress": "in_progress", "planned": "pending"}
    assert {f["raw_status"] for f in state["features"]} == set(mapping)
    assert [f["status"] for f in state["features"]] == [mapping[f["status"]] for f in raw["features"]]
    assert [f["status"] for f in state["features"]] == [spec_status(f["status"]) for f in raw["features"]]
    assert all("progress" not in f for f in raw["features"])
    assert [f["progress"] for f in state["features"]] == [
        100.0 if f["status"] == "completed" else 0.0 for f in state["features"]
    ]
    assert state["features"][0]["metadata"]["build"] == "1A"

    percent = round(100 * sum(f["status"] == "complete" for f in raw["features"]) / len(raw["features"]), 1)
    assert percent == 33.3
    assert state["progress"] == {
        "total": 6,
        "completed": 2,
        "percent": percent,
        "status": "in_progress",
        "tasks_completed": 0,
        "files_created": 0,
    }
    assert state["feature_stats"] == {
        "total": 6,
        "completed": 2,
        "in_progress": 1,
        "pending": 3,
        "failed": 0,
        "completion_percentage": percent,
    }
    assert state["components"] == [] and state["checkpoints"] == [] and state["errors"] == []
    assert state["project"]["name"] == "Example Project"


# ---------------------------------------------------------------- the full .buildrunner/ tree


def test_full_tree(full_tree: Path):
    root = full_tree
    state_dir = root / ".buildrunner"
    entries = files_under(root)
    assert sum(1 for is_link, _ in entries.values() if not is_link) > 1000
    links = {rel: os.readlink(root / rel) for rel, (is_link, _) in entries.items() if is_link}
    outside = [
        rel
        for rel, target in links.items()
        if not os.path.realpath(root / rel).startswith(os.path.realpath(root) + os.sep)
    ]
    dangling = [rel for rel in links if not (root / rel).exists()]
    assert outside and dangling and len(links) >= 2

    registry = json.loads((state_dir / "features.json").read_text(encoding="utf-8"))
    assert registry["features"] == []

    state = checked_snapshot(root)

    assert state["features"] == [] and state["components"] == []
    assert state["project"]["name"] == registry["project"]
    ids = checkpoint_ids_in_order(state_dir)
    assert len(ids) == 4
    assert [c["checkpoint_id"] for c in state["checkpoints"]] == ids
    assert state["progress"] == {
        "total": 0,
        "completed": 0,
        "percent": 0.0,
        "status": "in_progress",
        "tasks_completed": 0,
        "files_created": 0,
    }
    assert {d["file_path"]: d["title"] for d in state["documents"]} == expected_documents(root)
    for source, lines in expected_log_lines(state_dir).items():
        assert [t["output"] for t in state["terminal"] if t["source"] == source] == lines
    assert {a["file_path"]: a["size"] for a in state["artifacts"]} == expected_artifacts(root)
    # The symlinks are listed, not followed; if anything is reported at all, it is about them.
    assert {e["file_path"] for e in state["errors"]} <= set(links)
    assert files_under(root) == entries  # read only


def test_full_tree_scan_lists_every_relevant_file(full_tree: Path):
    inputs = ProjectReader(str(full_tree)).scan()
    paths = [i.path for i in inputs if hasattr(i, "path")]
    assert len(paths) == len(set(paths))
    expected = {
        f".buildrunner/{rel}"
        for rel, (is_link, _) in files_under(full_tree / ".buildrunner").items()
        if is_link or not (full_tree / ".buildrunner" / rel).is_dir()
    }
    assert set(paths) == expected
    kinds = {classify(p) for p in paths}
    assert kinds == {"checkpoint", "features", "context", "artifact", "log", "spec", "other"}


# ---------------------------------------------------------------- at a glance: activity (formats.md, "Activity")


def recorded_last_change(state_dir: Path) -> datetime:
    """The newest time the build state records itself: checkpoint timestamps and the registry's last_updated."""
    moments = []
    for path in (state_dir / "checkpoints").glob("*.json"):
        moments.append(datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["timestamp"]))
    moments.append(datetime.fromisoformat(json.loads((state_dir / "features.json").read_text())["last_updated"]))
    return max(m.astimezone() if m.tzinfo is None else m for m in moments).astimezone(UTC)


def test_sample_reads_completed_at_a_glance(sample_project: Path):
    engine = read_once(sample_project)
    glance = what_now(engine.store, datetime.now(UTC), 10)
    assert (engine.store.status, engine.store.progress["percent"]) == ("completed", 100.0)
    assert glance.activity.word == glance.activity.text == "completed"
    assert glance.headline == "features: 17 of 17 complete"  # no "checkpoint reports": the figures agree
    assert glance.failure is None


def test_full_tree_is_idle_since_its_last_recorded_change_never_building(full_tree: Path):
    """The real tree says in_progress (rule 3: phase build_4e_start, nothing counted). Its newest recorded time
    is the registry's last_updated (2026-04-20, after the last checkpoint of 2025-11-17): idle since then."""
    state_dir = full_tree / ".buildrunner"
    expected = recorded_last_change(state_dir)
    assert expected == datetime(2026, 4, 20, 20, 6, 20, 436398, tzinfo=UTC)
    engine = read_once(full_tree)
    now = datetime.now(UTC)
    glance = what_now(engine.store, now, 10)
    assert engine.store.status == "in_progress"
    assert parse_iso(engine.store.last_change) == expected.replace(microsecond=436000)
    assert glance.activity.word == "idle"
    assert glance.activity.text == f"idle since {local_time(expected, now)}"
    assert glance.phase == "build_4e_start"


def test_a_fresh_copy_of_the_full_tree_is_still_idle(full_tree: Path, tmp_path: Path):
    """A copy resets every mtime to now; what the files record still says when the build last changed."""
    source = full_tree / ".buildrunner"
    copy = tmp_path / "copied" / ".buildrunner"
    (copy / "checkpoints").mkdir(parents=True)
    for path in (source / "checkpoints").glob("*.json"):
        shutil.copyfile(path, copy / "checkpoints" / path.name)  # copyfile: fresh mtimes, as a clone has
    shutil.copyfile(source / "features.json", copy / "features.json")
    engine = read_once(copy.parent)
    glance = what_now(engine.store, datetime.now(UTC), 10)
    assert engine.store.status == "in_progress"
    assert not glance.activity.building
    assert glance.activity.since == recorded_last_change(source).replace(microsecond=436000)
