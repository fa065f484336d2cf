"""The live watch outlives any deletion and re-creation of `.buildrunner/`, of the project folder and of the
folders above it: fast, repeated and nested, with the real watchdog observer on real folders.

Every watcher here re-scans once an hour, so a change that arrives within WAIT_MS was seen live."""

from __future__ import annotations

import os
import random
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from watchdog.observers.polling import PollingObserver

from buildrunner_gui.sources.watcher import ProjectWatcher

from .helpers import WAIT_MS, Collector, checkpoint_ids, write_json

HOUR = 3600.0
SETTLE_MS = 400  # a pause after a burst of churn, so a lost watch cannot hide behind a walk still under way
STATE = ".buildrunner"


def fill(root: Path) -> Path:
    """A small real-looking project: one checkpoint, a registry, a log and a nested context folder."""
    write_json(root / STATE / "checkpoints/base.json", {"id": "base", "timestamp": "2025-01-01T00:00:00"})
    write_json(root / STATE / "features.json", {"features": [{"id": "f1", "status": "planned"}]})
    (root / STATE / "logs").mkdir(parents=True, exist_ok=True)
    (root / STATE / "logs/build.log").write_text("started\n")
    (root / STATE / "context/deep/deeper").mkdir(parents=True, exist_ok=True)
    (root / STATE / "context/deep/deeper/notes.md").write_text("# Notes\n")
    return root


@pytest.fixture
def nested(tmp_path: Path) -> tuple[Path, Path]:
    """(outer, project): the project three levels below `outer`, and a pristine copy of `outer` beside it."""
    outer = tmp_path / "outer"
    fill(outer / "mid" / "proj")
    shutil.copytree(outer, tmp_path / "outer.backup")
    return outer, outer / "mid" / "proj"


def replace_tree(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


def live_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.is_alive())


def baseline(qtbot, watcher: ProjectWatcher, project: Path) -> int:
    """The number of threads once the watcher is seen watching (its observer starts after the first scan)."""
    assert_live(qtbot, watcher, project, "before")
    return live_threads()


def percent(watcher: ProjectWatcher) -> float:
    return watcher.store.snapshot()["progress"]["percent"]


def assert_live(qtbot, watcher: ProjectWatcher, project: Path, tag: str) -> None:
    """A new checkpoint, a change to it, a new document in a new sub-folder and the checkpoint's deletion all
    arrive live."""
    checkpoint = project / STATE / "checkpoints" / f"{tag}.json"
    write_json(checkpoint, {"id": tag, "timestamp": "2099-01-01T00:00:00", "completion": 11})
    qtbot.waitUntil(lambda: tag in checkpoint_ids(watcher) and percent(watcher) == 11.0, timeout=WAIT_MS)
    write_json(checkpoint, {"id": tag, "timestamp": "2099-01-01T00:00:00", "completion": 12})
    qtbot.waitUntil(lambda: percent(watcher) == 12.0, timeout=WAIT_MS)
    document = project / STATE / "context" / f"new-{tag}" / "doc.md"
    document.parent.mkdir(parents=True)
    document.write_text(f"# Doc {tag}\n")
    qtbot.waitUntil(
        lambda: f"Doc {tag}" in {d["title"] for d in watcher.store.snapshot()["documents"]}, timeout=WAIT_MS
    )
    checkpoint.unlink()
    qtbot.waitUntil(lambda: tag not in checkpoint_ids(watcher), timeout=WAIT_MS)


def assert_matches_disk(watcher: ProjectWatcher, project: Path) -> None:
    on_disk = sorted(path.stem for path in (project / STATE / "checkpoints").glob("*.json"))
    assert sorted(checkpoint_ids(watcher)) == on_disk


def errors_of(got: Collector, error_type: str) -> list[dict]:
    return [m for m in got.of_type("error") if m["error_type"] == error_type]


def infos(got: Collector) -> list[str]:
    return [m["output"] for m in got.of_type("terminal_output") if m["output_type"] == "info"]


def test_state_dir_replaced_over_and_over_without_pause(qtbot, tmp_path, start_watcher):
    project = fill(tmp_path / "proj")
    backup = tmp_path / "backup"
    shutil.copytree(project / STATE, backup)
    watcher, _got = start_watcher(project, rescan_interval=HOUR)
    threads_before = baseline(qtbot, watcher, project)

    for _ in range(25):  # rm -rf .buildrunner && cp -r backup .buildrunner
        replace_tree(backup, project / STATE)
    qtbot.wait(SETTLE_MS)

    assert_live(qtbot, watcher, project, "after")
    assert_matches_disk(watcher, project)
    assert live_threads() <= threads_before, "every replaced watch's thread must have ended"


def test_state_dir_moved_away_and_back(qtbot, tmp_path, start_watcher):
    project = fill(tmp_path / "proj")
    watcher, _got = start_watcher(project, rescan_interval=HOUR)

    for step in range(10):
        os.rename(project / STATE, tmp_path / "parked")
        if step % 2:
            (project / STATE).mkdir()  # an empty one takes its place for a moment
            shutil.rmtree(project / STATE)
        os.rename(tmp_path / "parked", project / STATE)
    qtbot.wait(SETTLE_MS)

    assert_live(qtbot, watcher, project, "after")
    assert_matches_disk(watcher, project)


def test_project_folder_replaced_over_and_over_without_pause(qtbot, tmp_path, start_watcher):
    project = fill(tmp_path / "proj")
    backup = tmp_path / "proj.backup"
    shutil.copytree(project, backup)
    watcher, _got = start_watcher(project, rescan_interval=HOUR)
    threads_before = baseline(qtbot, watcher, project)

    for _ in range(15):
        replace_tree(backup, project)
    qtbot.wait(SETTLE_MS)

    assert_live(qtbot, watcher, project, "after")
    assert_matches_disk(watcher, project)
    assert live_threads() <= threads_before


def test_a_deleted_project_folder_is_reported_and_watched_for_until_it_returns(qtbot, tmp_path, start_watcher):
    project = fill(tmp_path / "proj")
    watcher, got = start_watcher(project, rescan_interval=HOUR)

    shutil.rmtree(project)
    qtbot.waitUntil(lambda: bool(errors_of(got, "project_missing")), timeout=WAIT_MS)
    missing = errors_of(got, "project_missing")[-1]
    assert missing["file_path"] is None
    assert str(project) in missing["error_message"] and str(tmp_path) in missing["error_message"]
    assert "project_missing" in {e["error_type"] for e in watcher.store.snapshot()["errors"]}
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == [], timeout=WAIT_MS)

    project.mkdir()  # the folder comes back empty first, its state a moment later
    qtbot.waitUntil(lambda: any(f"{project} is back" in text for text in infos(got)), timeout=WAIT_MS)
    fill(project)
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == ["base"], timeout=WAIT_MS)
    assert_live(qtbot, watcher, project, "after")
    assert len(errors_of(got, "project_missing")) == 1


def test_a_project_that_does_not_exist_yet_is_picked_up_when_created(qtbot, tmp_path, start_watcher):
    project = tmp_path / "later" / "proj"
    watcher, got = start_watcher(project, rescan_interval=HOUR)
    assert errors_of(got, "project_missing")

    fill(project)
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == ["base"], timeout=WAIT_MS)
    assert_live(qtbot, watcher, project, "after")


def test_folders_above_the_project_deleted_and_recreated_step_by_step(qtbot, nested, start_watcher):
    outer, project = nested
    watcher, got = start_watcher(project, rescan_interval=HOUR)

    shutil.rmtree(outer)
    qtbot.waitUntil(lambda: bool(errors_of(got, "project_missing")), timeout=WAIT_MS)
    for folder in (outer, outer / "mid", project, project / STATE):
        folder.mkdir()
        qtbot.wait(50)  # each level appears on its own; the watch must follow it down
    fill(project)
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == ["base"], timeout=WAIT_MS)
    assert_live(qtbot, watcher, project, "after")


def test_folders_above_the_project_replaced_over_and_over(qtbot, nested, start_watcher):
    outer, project = nested
    watcher, _got = start_watcher(project, rescan_interval=HOUR)
    threads_before = baseline(qtbot, watcher, project)

    for _ in range(10):
        replace_tree(outer.with_name("outer.backup"), outer)
    qtbot.wait(SETTLE_MS)

    assert_live(qtbot, watcher, project, "after")
    assert_matches_disk(watcher, project)
    assert live_threads() <= threads_before


def churn(rng: random.Random, outer: Path, project: Path, steps: int) -> None:
    """Random deletions, moves and re-creations at every level, with no pause; the tree is whole at the end."""
    backup = outer.with_name("outer.backup")
    state = project / STATE
    parked = outer.with_name("parked")

    def park() -> None:
        if state.is_dir() and not parked.exists():
            os.rename(state, parked)

    def unpark() -> None:
        if parked.is_dir() and project.is_dir() and not state.exists():
            os.rename(parked, state)

    def replace_inside(name: str) -> None:
        if state.is_dir():
            replace_tree(backup / "mid" / "proj" / STATE / name, state / name)

    operations: list[Callable[[], None]] = [
        lambda: replace_tree(backup / "mid" / "proj" / STATE, state),
        lambda: shutil.rmtree(state, ignore_errors=True),
        lambda: replace_tree(backup / "mid" / "proj", project),
        lambda: shutil.rmtree(project, ignore_errors=True),
        lambda: replace_tree(backup, outer),
        lambda: shutil.rmtree(outer, ignore_errors=True),
        park,
        unpark,
        lambda: replace_inside("checkpoints"),
        lambda: replace_inside("context"),
    ]
    for _ in range(steps):
        rng.choice(operations)()
    shutil.rmtree(parked, ignore_errors=True)
    replace_tree(backup, outer)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_churn_at_every_level(qtbot, nested, start_watcher, seed):
    outer, project = nested
    watcher, _got = start_watcher(project, rescan_interval=HOUR)
    threads_before = baseline(qtbot, watcher, project)

    churn(random.Random(seed), outer, project, steps=60)
    qtbot.wait(SETTLE_MS)

    assert_live(qtbot, watcher, project, f"after{seed}")
    assert_matches_disk(watcher, project)
    assert live_threads() <= threads_before


def test_churn_with_the_polling_observer(qtbot, nested, start_watcher):
    outer, project = nested
    polling = lambda: PollingObserver(timeout=0.05)  # noqa: E731
    watcher, _got = start_watcher(project, rescan_interval=HOUR, observer_factory=polling)

    churn(random.Random(7), outer, project, steps=40)
    qtbot.wait(SETTLE_MS)
    shutil.rmtree(outer)  # gone long enough for a poll to see it
    qtbot.wait(SETTLE_MS)
    replace_tree(outer.with_name("outer.backup"), outer)

    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == ["base"], timeout=WAIT_MS)
    assert_live(qtbot, watcher, project, "after")


def test_a_lost_inotify_thread_is_noticed_and_replaced(qtbot, tmp_path, start_watcher):
    project = fill(tmp_path / "proj")
    watcher, got = start_watcher(project, rescan_interval=HOUR)
    baseline(qtbot, watcher, project)
    inotify_thread = getattr(watcher._worker._watches.observer, "_inotify_fd", None)
    if not isinstance(inotify_thread, threading.Thread):
        pytest.skip("this platform's observer has no inotify thread")

    inotify_thread.stop()  # as an exception inside it would: the thread ends and every watch goes quiet
    inotify_thread.join(5.0)

    qtbot.waitUntil(lambda: any("stopped unexpectedly" in text for text in infos(got)), timeout=WAIT_MS)
    assert_live(qtbot, watcher, project, "after")
