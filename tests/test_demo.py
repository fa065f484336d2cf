"""The demo build: real files in a real folder, written by a real thread, read back the way the app reads them."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from buildrunner_gui.demo import FAILING_FEATURE, DemoBuild
from buildrunner_gui.sources.oneshot import read_once

RUN_TIMEOUT = 60.0  # generous: a 3 s demo on a slow, loaded CI machine
CHECKPOINT_NAME = re.compile(r"^checkpoint_\d{8}_\d{6}_\d{6}\.json$")
LOG_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] .*\S")


def demo_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "demo-build" and thread.is_alive()]


def checkpoint_files(folder: Path) -> list[dict[str, Any]]:
    """Every checkpoint on disk, oldest first (by timestamp, then file name, as the app orders them)."""
    rows = []
    for path in (folder / ".buildrunner" / "checkpoints").iterdir():
        rows.append({"file_name": path.name, **json.loads(path.read_text(encoding="utf-8"))})
    return sorted(rows, key=lambda row: (row["timestamp"], row["file_name"]))


@dataclass
class Run:
    folder: Path
    samples: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    finished: bool = False


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One 3-second demo run, watched from outside by reading the project over and over while it runs."""
    folder = tmp_path_factory.mktemp("demo") / "project"
    demo = DemoBuild(folder, duration=3.0, seed=7)
    run = Run(folder)
    demo.start()
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not demo.finished and time.monotonic() < deadline:
            snapshot = read_once(folder).snapshot()
            run.samples.append(
                {
                    "status": snapshot["status"],
                    "errors": snapshot["errors"],
                    "failed": [f["id"] for f in snapshot["features"] if f["status"] == "failed"],
                    "percent": snapshot["progress"]["percent"],
                }
            )
        run.finished = demo.finished
    finally:
        demo.stop()
    run.final = read_once(folder).snapshot()
    return run


# ---------------------------------------------------------------- before the run


def test_prepare_writes_a_planned_build(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    demo = DemoBuild(folder, duration=2.0, seed=1)
    demo.prepare()

    assert demo.folder == folder
    assert not demo_threads(), "prepare() must not start the simulation"
    for name in ("checkpoints", "context", "logs", "artifacts"):
        assert (folder / ".buildrunner" / name).is_dir()

    snapshot = read_once(folder).snapshot()
    assert snapshot["errors"] == []
    features = snapshot["features"]
    assert 10 <= len(features) <= 14
    assert {f["status"] for f in features} == {"pending"}
    assert {f["raw_status"] for f in features} == {"planned"}
    for feature in features:
        assert feature["progress"] == 0
        assert feature["name"] and feature["name"] != feature["id"]
        assert feature["metadata"]["description"]
        assert feature["metadata"]["priority"] in ("critical", "high", "medium", "low")
        components = feature["metadata"]["components"]
        assert components and all(isinstance(path, str) and path.strip() for path in components)
    assert len({f["id"] for f in features}) == len(features)
    assert snapshot["progress"]["percent"] == 0
    assert snapshot["progress"]["completed"] == 0
    assert snapshot["feature_stats"]["pending"] == len(features)
    assert snapshot["components"], "components come from the features' paths"
    assert len(snapshot["checkpoints"]) == 1
    documents = {d["file_path"] for d in snapshot["documents"]}
    assert {
        ".buildrunner/PROJECT_SPEC.md",
        ".buildrunner/context/architecture.md",
        ".buildrunner/context/current-work.md",
        ".buildrunner/context/blockers.md",
    } <= documents
    assert not demo.finished
    demo.cleanup()  # not a temporary folder: the project stays
    assert folder.is_dir()


def test_start_prepares_when_needed_on_a_named_daemon_thread(tmp_path: Path) -> None:
    demo = DemoBuild(tmp_path / "project", duration=30.0)
    demo.start()
    try:
        threads = demo_threads()
        assert len(threads) == 1 and threads[0].daemon
        assert (demo.folder / ".buildrunner" / "features.json").is_file()
        demo.start()  # a second start is a no-op, not a second thread
        assert len(demo_threads()) == 1
    finally:
        demo.stop()
    assert not demo_threads()


def test_negative_duration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DemoBuild(tmp_path, duration=-1)


# ---------------------------------------------------------------- a whole run


def test_run_ends_with_every_feature_complete(finished_run: Run) -> None:
    assert finished_run.finished, "the demo did not finish in time"
    assert not demo_threads()
    final = finished_run.final
    assert final["status"] == "completed"
    assert final["progress"]["percent"] == 100
    assert final["progress"]["completed"] == final["progress"]["total"] == len(final["features"])
    assert {f["status"] for f in final["features"]} == {"completed"}
    assert {c["status"] for c in final["components"]} == {"completed"}
    assert final["progress"]["tasks_completed"] > 0
    assert final["progress"]["files_created"] > 0
    assert final["errors"] == []


def test_progress_climbs_while_it_runs(finished_run: Run) -> None:
    percents = [sample["percent"] for sample in finished_run.samples]
    assert len(set(percents)) >= 5, f"progress barely moved: {sorted(set(percents))}"
    assert any(0 < p < 100 for p in percents)
    assert {"pending", "in_progress"} & {sample["status"] for sample in finished_run.samples}


def test_checkpoints_grow_and_end_with_build_complete(finished_run: Run) -> None:
    rows = finished_run.final["checkpoints"]
    assert len(rows) >= 5
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows), "newest last"
    assert rows[-1]["phase"] == "build_complete"
    assert any(r["phase"].startswith("build_2") for r in rows)
    task_counts = [len(r["tasks_completed"]) for r in rows]
    assert task_counts == sorted(task_counts) and task_counts[-1] > task_counts[0]


def test_checkpoint_files_are_shaped_like_buildrunner_3(finished_run: Run) -> None:
    files = checkpoint_files(finished_run.folder)
    assert [row["file_name"] for row in files] == sorted(row["file_name"] for row in files)
    for row in files:
        assert CHECKPOINT_NAME.match(row["file_name"]), row["file_name"]
        assert row["id"] == row["file_name"].removesuffix(".json")
        assert row["status"] == "created"
        assert isinstance(row["tasks_completed"], list) and isinstance(row["files_created"], list)
        assert set(row["metadata"]) >= {"name", "description", "created_by"}
        assert row["metadata"]["name"] == row["phase"]
        assert 0 <= row["completion_percentage"] <= 100
    assert files[-1]["phase"] == "build_complete"
    assert files[-1]["completion_percentage"] == 100
    completions = [row["completion_percentage"] for row in files]
    assert completions == sorted(completions)


def test_a_feature_fails_midway_and_is_fixed(finished_run: Run) -> None:
    failed_samples = [s for s in finished_run.samples if s["failed"]]
    assert failed_samples, "no sample saw the failed feature"
    assert all(s["failed"] == [FAILING_FEATURE] and s["status"] == "failed" for s in failed_samples)
    first_failed = finished_run.samples.index(failed_samples[0])
    assert any(s["status"] != "failed" for s in finished_run.samples[:first_failed]), "failed from the start"
    assert any(s["status"] != "failed" for s in finished_run.samples[first_failed:]), "never recovered"

    files = checkpoint_files(finished_run.folder)
    with_error = [i for i, row in enumerate(files) if row.get("error")]
    assert len(with_error) == 1
    assert "failed" in files[with_error[0]]["phase"]
    assert with_error[0] < len(files) - 1 and not files[-1].get("error")

    failing = next(f for f in finished_run.final["features"] if f["id"] == FAILING_FEATURE)
    assert failing["status"] == "completed"
    assert "error" not in failing["metadata"]


def test_the_project_never_reads_as_broken(finished_run: Run) -> None:
    assert len(finished_run.samples) >= 20, "too few samples to say anything"
    broken = [s["errors"] for s in finished_run.samples if s["errors"]]
    assert not broken, broken[:3]
    leftovers = [p.name for p in finished_run.folder.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def test_build_log_reaches_the_terminal(finished_run: Run) -> None:
    lines = [t["output"] for t in finished_run.final["terminal"] if t["source"] == "log:build.log"]
    assert len(lines) >= 50
    assert all(LOG_LINE.match(line) for line in lines), [line for line in lines if not LOG_LINE.match(line)][:3]
    assert any("pytest" in line for line in lines)
    assert any(re.search(r"\d+ passed", line) for line in lines)
    assert any("ERROR" in line for line in lines)
    assert any("failed" in line for line in lines)
    assert any("BUILD SUCCESSFUL" in line for line in lines[-3:])


def test_documents_and_artifacts_follow_the_build(finished_run: Run) -> None:
    documents = {d["file_path"]: d for d in finished_run.final["documents"]}
    current = documents[".buildrunner/context/current-work.md"]
    assert "Build complete" in current["content"]
    assert FAILING_FEATURE in documents[".buildrunner/context/blockers.md"]["content"]  # now a resolved blocker
    assert ".buildrunner/PROJECT_SPEC.md" in documents
    assert len(finished_run.final["artifacts"]) >= 2
    assert all(a["size"] > 0 for a in finished_run.final["artifacts"])


# ---------------------------------------------------------------- stopping and cleaning up


def test_stop_mid_run_is_prompt(tmp_path: Path) -> None:
    demo = DemoBuild(tmp_path / "project", duration=60.0, seed=3)  # about 1 s between steps
    demo.start()
    log_file = demo.folder / ".buildrunner" / "logs" / "build.log"
    deadline = time.monotonic() + RUN_TIMEOUT
    while len(list((demo.folder / ".buildrunner" / "checkpoints").iterdir())) < 2:  # the build is under way
        assert time.monotonic() < deadline
        time.sleep(0.02)

    started = time.monotonic()
    demo.stop()
    assert time.monotonic() - started < 0.5, "stop() waited for the next step instead of interrupting the pause"
    assert not demo_threads()
    assert not demo.finished

    size = log_file.stat().st_size
    time.sleep(0.3)
    assert log_file.stat().st_size == size, "the log still grows after stop()"
    snapshot = read_once(demo.folder).snapshot()
    assert snapshot["errors"] == []
    assert snapshot["status"] == "in_progress"
    demo.stop()  # stopping twice is harmless


def test_stop_before_start_is_harmless(tmp_path: Path) -> None:
    demo = DemoBuild(tmp_path / "project", duration=2.0)
    demo.stop()
    demo.cleanup()
    assert not demo_threads()


def test_temporary_folder_is_removed_by_cleanup() -> None:
    demo = DemoBuild.in_temporary_folder(duration=20.0)
    root = demo.folder.parent
    try:
        assert demo.folder.name == "demo-project"
        assert root.name.startswith("buildrunner-demo-")
        assert demo.folder.is_dir()
        demo.start()
        assert (demo.folder / ".buildrunner" / "checkpoints").is_dir()
    finally:
        demo.cleanup()
    assert not root.exists()
    assert not demo_threads()


def test_a_failure_inside_the_thread_is_logged_and_ends_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    demo = DemoBuild(tmp_path / "project", duration=2.0)
    demo.prepare()
    checkpoints = demo.folder / ".buildrunner" / "checkpoints"
    for path in checkpoints.iterdir():
        path.unlink()
    checkpoints.rmdir()
    checkpoints.write_text("not a folder")  # the next checkpoint cannot be written

    with caplog.at_level(logging.ERROR, logger="buildrunner_gui.demo"):
        demo.start()
        deadline = time.monotonic() + RUN_TIMEOUT
        while demo_threads() and time.monotonic() < deadline:
            time.sleep(0.02)
    assert not demo_threads(), "the thread should end by itself after the failure"
    assert not demo.finished
    assert any(record.levelno == logging.ERROR and record.exc_info for record in caplog.records)
    demo.stop()
