"""Files that are not what their names promise: far too large, replaced by a folder, FIFOs. Each is reported
once (not on every event), never blocks the watcher, and what it contributed goes when it is gone."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from watchdog.observers.polling import PollingObserver

from buildrunner_gui.model.jsonbytes import MAX_FILE_BYTES

from .helpers import WAIT_MS, Collector, checkpoint_ids, write_json

MIB = 1024 * 1024
CHECKPOINTS = ".buildrunner/checkpoints"


def settle(qtbot, watcher, project: Path, tag: str) -> None:
    """Write a checkpoint and wait for it: every event before it has been handled by then."""
    write_json(project / CHECKPOINTS / f"{tag}.json", {"id": tag})
    qtbot.waitUntil(lambda: tag in checkpoint_ids(watcher), timeout=WAIT_MS)


def errors_of(got: Collector, path: str, error_type: str) -> list[dict]:
    return [m for m in got.errors(path) if m["error_type"] == error_type]


def test_a_too_large_file_is_reported_once_while_it_stays_too_large(qtbot, project, start_watcher):
    watcher, got = start_watcher(project)
    write_json(project / ".buildrunner/features.json", "not a registry")  # a real error, to be kept in view
    qtbot.waitUntil(lambda: bool(got.errors(".buildrunner/features.json")), timeout=WAIT_MS)
    rel = f"{CHECKPOINTS}/huge.json"
    huge = project / rel

    with huge.open("wb") as handle:  # written in many pieces: one event each
        handle.write(b'{"id": "huge", "pad": "')
        for _ in range(MAX_FILE_BYTES // MIB + 8):
            handle.write(b"x" * MIB)
            handle.flush()
            qtbot.wait(5)  # let the watcher read the file between pieces
        handle.write(b'"}')
    qtbot.waitUntil(lambda: bool(errors_of(got, rel, "too_large")), timeout=WAIT_MS)
    os.utime(huge)  # touched: same size, new time
    with huge.open("ab") as handle:
        handle.write(b" ")  # still too large
    settle(qtbot, watcher, project, "marker")

    assert len(errors_of(got, rel, "too_large")) == 1
    assert len(got.files(rel)) == 1, "nor is each of its changes listed"
    kept = [e["file_path"] for e in watcher.store.snapshot()["errors"]]
    assert kept == [".buildrunner/features.json", rel]

    write_json(huge, {"id": "huge", "completion": 5})  # readable again ...
    qtbot.waitUntil(lambda: "huge" in checkpoint_ids(watcher), timeout=WAIT_MS)
    huge.write_bytes(b" " * (MAX_FILE_BYTES + 1))  # ... and too large again: that is news
    qtbot.waitUntil(lambda: len(errors_of(got, rel, "too_large")) == 2, timeout=WAIT_MS)


@pytest.mark.parametrize("live", [True, False], ids=["live", "rescan"])
def test_a_checkpoint_replaced_by_a_folder_is_removed(qtbot, project, start_watcher, live):
    rel = f"{CHECKPOINTS}/cp.json"
    write_json(project / rel, {"id": "cp", "completion": 40})
    options = {} if live else {"observer_factory": lambda: PollingObserver(timeout=3600), "rescan_interval": 0.2}
    watcher, got = start_watcher(project, **options)
    assert checkpoint_ids(watcher) == ["cp"]

    (project / rel).unlink()
    (project / rel).mkdir()  # at once: the watcher may only ever see the folder

    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == [], timeout=WAIT_MS)
    removed = got.of_type("checkpoint_update")[-1]
    assert (removed["checkpoint_id"], removed["removed"]) == ("cp", True)
    assert got.files(rel)[-1] == "deleted"
    assert watcher.store.snapshot()["progress"]["percent"] == 0.0


def test_a_checkpoint_replaced_by_a_link_to_a_folder_is_removed(qtbot, project, start_watcher):
    rel = f"{CHECKPOINTS}/cp.json"
    write_json(project / rel, {"id": "cp"})
    (project / ".buildrunner/somewhere").mkdir()
    watcher, _got = start_watcher(project)

    (project / ".buildrunner/link").symlink_to(project / ".buildrunner/somewhere")
    os.replace(project / ".buildrunner/link", project / rel)

    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == [], timeout=WAIT_MS)


def assert_not_open_for_reading(fifo: Path) -> None:
    """Opening a FIFO to write without blocking fails with ENXIO exactly when no one holds it open to read."""
    with pytest.raises(OSError) as caught:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert caught.value.errno == errno.ENXIO


FIFO_PATHS = [
    f"{CHECKPOINTS}/pipe.json",
    ".buildrunner/features.json",
    ".buildrunner/logs/pipe.log",
    ".buildrunner/context/pipe.md",
]


def test_fifos_named_like_state_files_are_reported_once_and_never_opened(qtbot, project, start_watcher):
    watcher, got = start_watcher(project)

    for rel in FIFO_PATHS:
        os.mkfifo(project / rel)
    for rel in FIFO_PATHS:
        qtbot.waitUntil(lambda rel=rel: bool(got.errors(rel)), timeout=WAIT_MS)
    for rel in FIFO_PATHS:
        os.utime(project / rel)  # more events for each: touched, and written through (which moves its mtime)
        through = os.open(project / rel, os.O_RDWR | os.O_NONBLOCK)  # Linux: both ends at once, no waiting
        os.write(through, b"{}\n")
        os.close(through)
    settle(qtbot, watcher, project, "marker")

    for rel in FIFO_PATHS:
        (error,) = got.errors(rel)
        assert error["error_type"] == "not_regular_file"
        assert "not a regular file" in error["error_message"] and "FIFO" in error["error_message"]
        assert_not_open_for_reading(project / rel)


def test_fifos_present_at_start_do_not_block_it(qtbot, project, start_watcher):
    for rel in FIFO_PATHS:
        os.mkfifo(project / rel)
    watcher, got = start_watcher(project)

    assert {m["file_path"] for m in got.of_type("error")} == set(FIFO_PATHS)
    settle(qtbot, watcher, project, "marker")  # and it watches on


def test_a_checkpoint_swapped_for_a_fifo_keeps_its_last_good_state(qtbot, project, start_watcher):
    rel = f"{CHECKPOINTS}/cp.json"
    write_json(project / rel, {"id": "cp", "completion": 30})
    watcher, got = start_watcher(project)
    os.mkfifo(project / "pipe")

    os.replace(project / "pipe", project / rel)

    qtbot.waitUntil(lambda: bool(got.errors(rel)), timeout=WAIT_MS)
    assert got.errors(rel)[0]["error_type"] == "not_regular_file"
    assert checkpoint_ids(watcher) == ["cp"]
    assert watcher.store.snapshot()["progress"]["percent"] == 30.0
    assert_not_open_for_reading(project / rel)
