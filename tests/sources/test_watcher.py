"""The watcher against real file writes, the real watchdog observer and a real Qt event loop."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import threading

import pytest
from watchdog.observers.polling import PollingObserver

from buildrunner_gui.sources.watcher import ProjectWatcher

from .helpers import WAIT_MS, checkpoint_ids, replace_json, terminal_text, write_json


def test_plain_write_reaches_the_gui_thread(qtbot, project, start_watcher):
    watcher, got = start_watcher(project)
    gui_thread = threading.current_thread()
    seen_on: list[threading.Thread] = []
    watcher.batches.connect(lambda _batch: seen_on.append(threading.current_thread()))

    write_json(project / ".buildrunner/checkpoints/cp1.json", {"id": "cp1", "phase": "build_1", "completion": 30})

    qtbot.waitUntil(lambda: bool(got.of_type("build_progress")), timeout=WAIT_MS)
    assert got.files(".buildrunner/checkpoints/cp1.json") == ["created"]
    assert got.of_type("checkpoint_update")[0]["checkpoint_id"] == "cp1"
    assert got.of_type("build_progress")[-1]["percent"] == 30.0
    assert set(seen_on) == {gui_thread}


def test_burst_is_coalesced_and_the_newest_content_wins(qtbot, project, start_watcher):
    watcher, got = start_watcher(project)
    target = project / ".buildrunner/checkpoints/burst.json"
    write_json(target, {"phase": "build_burst", "completion": 0})
    # The first change of a burst is handled at once, without waiting for the burst to end.
    qtbot.waitUntil(lambda: bool(got.of_type("checkpoint_update")), timeout=WAIT_MS)

    writes = 300
    for step in range(1, writes + 1):
        write_json(target, {"phase": "build_burst", "completion": step / writes * 100})

    qtbot.waitUntil(lambda: got.of_type("build_progress")[-1]["percent"] == 100.0, timeout=WAIT_MS)
    assert watcher.store.snapshot()["progress"]["percent"] == 100.0
    updates = got.of_type("checkpoint_update")
    assert len(updates) < writes, "a burst of writes must be read fewer times than it was written"
    assert got.of_type("build_progress")[-1]["percent"] == 100.0
    assert not got.errors(), "mid-write reads must not surface as errors"


def test_os_replace_writes_are_seen_as_modifications(qtbot, project, start_watcher):
    registry = project / ".buildrunner/features.json"
    write_json(registry, {"features": [{"id": "f1", "status": "planned"}]})
    watcher, got = start_watcher(project)

    replace_json(registry, {"features": [{"id": "f1", "status": "in_progress", "progress": 40}]})

    qtbot.waitUntil(lambda: got.of_type("feature_update")[-1]["status"] == "in_progress", timeout=WAIT_MS)
    update = got.of_type("feature_update")[-1]
    assert (update["feature_id"], update["status"], update["progress"]) == ("f1", "in_progress", 40.0)
    assert "modified" in got.files(".buildrunner/features.json")
    assert watcher.store.snapshot()["features"][0]["raw_status"] == "in_progress"


def test_deletes_remove_what_the_file_contributed(qtbot, project, start_watcher):
    write_json(project / ".buildrunner/checkpoints/a.json", {"id": "a", "timestamp": "2025-01-01T00:00:00"})
    write_json(
        project / ".buildrunner/checkpoints/b.json", {"id": "b", "timestamp": "2025-01-02T00:00:00", "completion": 50}
    )
    write_json(project / ".buildrunner/features.json", [{"id": "f1", "status": "done"}])
    watcher, got = start_watcher(project)
    assert checkpoint_ids(watcher) == ["a", "b"]

    (project / ".buildrunner/checkpoints/b.json").unlink()
    (project / ".buildrunner/features.json").unlink()

    qtbot.waitUntil(
        lambda: checkpoint_ids(watcher) == ["a"] and not watcher.store.snapshot()["features"], timeout=WAIT_MS
    )
    removed = got.of_type("checkpoint_update")[-1]
    assert (removed["checkpoint_id"], removed["removed"]) == ("b", True)
    feature = got.of_type("feature_update")[-1]
    assert (feature["feature_id"], feature["removed"]) == ("f1", True)
    assert got.files(".buildrunner/features.json") == ["deleted"]


def test_state_dir_missing_then_created_deleted_and_recreated(qtbot, tmp_path, start_watcher):
    project = tmp_path / "late"
    project.mkdir()
    watcher, got = start_watcher(project)
    assert "does not exist yet" in watcher.store.snapshot()["terminal"][-1]["output"]

    write_json(project / ".buildrunner/checkpoints/one.json", {"id": "one", "completion": 10})
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == ["one"], timeout=WAIT_MS)

    shutil.rmtree(project / ".buildrunner")
    qtbot.waitUntil(lambda: bool(got.errors(".buildrunner")), timeout=WAIT_MS)
    assert got.errors(".buildrunner")[-1]["error_type"] == "state_dir_missing"
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == [], timeout=WAIT_MS)

    write_json(project / ".buildrunner/checkpoints/two.json", {"id": "two", "completion": 70})
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == ["two"], timeout=WAIT_MS)
    assert watcher.store.snapshot()["progress"]["percent"] == 70.0

    # The new folder has its own live watch: a later change inside it is seen too.
    write_json(project / ".buildrunner/checkpoints/two.json", {"id": "two", "completion": 80})
    qtbot.waitUntil(lambda: watcher.store.snapshot()["progress"]["percent"] == 80.0, timeout=WAIT_MS)


def test_log_appends_are_read_incrementally(qtbot, project, start_watcher):
    log = project / ".buildrunner/logs/build.log"
    log.write_text("old line 1\nold line 2\n")
    watcher, got = start_watcher(project)
    assert [t["output"] for t in watcher.store.snapshot()["terminal"] if t["source"] == "log:build.log"] == [
        "old line 1",
        "old line 2",
    ]
    start = len(got.messages)

    with log.open("a") as handle:
        handle.write("new line 3\npartial")
    qtbot.waitUntil(lambda: terminal_text(got, "log:build.log", start) == ["new line 3"], timeout=WAIT_MS)
    with log.open("a") as handle:
        handle.write(" done\n")
    qtbot.waitUntil(lambda: terminal_text(got, "log:build.log", start)[-1:] == ["partial done"], timeout=WAIT_MS)
    assert terminal_text(got, "log:build.log", start) == ["new line 3", "partial done"]


def test_log_truncation_and_rotation_restart_reading(qtbot, project, start_watcher):
    log = project / ".buildrunner/logs/run.log"
    log.write_text("a much longer first line of the log\n")
    _watcher, got = start_watcher(project)
    start = len(got.messages)

    log.write_text("short\n")  # truncated and rewritten: shorter than what was read
    qtbot.waitUntil(lambda: "short" in terminal_text(got, "log:run.log", start), timeout=WAIT_MS)

    os.rename(log, project / ".buildrunner/logs/run.log.1")  # rotation: a new file takes the name
    log.write_text("after rotation\n")
    qtbot.waitUntil(lambda: "after rotation" in terminal_text(got, "log:run.log", start), timeout=WAIT_MS)
    restarts = [m for m in got.of_type("terminal_output") if m["output_type"] == "info" and "restarted" in m["output"]]
    assert restarts, "truncation must be reported"
    assert terminal_text(got, "log:run.log", start) == ["short", "after rotation"]


def test_symlinks_are_never_followed_outside_the_project(qtbot, project, tmp_path, start_watcher):
    outside = tmp_path / "secret.md"
    outside.write_text("# Secret\ntop secret text\n")
    (tmp_path / "elsewhere").mkdir()
    write_json(tmp_path / "elsewhere" / "c.json", {"id": "outside", "completion": 99})
    watcher, got = start_watcher(project)

    (project / ".buildrunner/context/leak.md").symlink_to(outside)
    qtbot.waitUntil(lambda: bool(got.errors(".buildrunner/context/leak.md")), timeout=WAIT_MS)
    assert got.errors(".buildrunner/context/leak.md")[0]["error_type"] == "outside_project"
    assert "top secret" not in str(got.messages) + str(watcher.store.snapshot())

    (project / ".buildrunner/checkpoints/linked").symlink_to(tmp_path / "elsewhere")
    inside = project / ".buildrunner/context/ok.md"
    inside.write_text("# Inside\n")
    (project / ".buildrunner/context/alias.md").symlink_to(inside)
    qtbot.waitUntil(lambda: len(watcher.store.snapshot()["documents"]) == 2, timeout=WAIT_MS)
    assert checkpoint_ids(watcher) == []
    assert {d["title"] for d in watcher.store.snapshot()["documents"]} == {"Inside"}


def test_a_file_caught_mid_write_is_read_again_before_any_error(qtbot, project, start_watcher):
    watcher, got = start_watcher(project, retry_delay=0.3)
    target = project / ".buildrunner/checkpoints/slow.json"
    with target.open("w") as handle:
        handle.write('{"id": "slow", "compl')  # the writer pauses mid-file
        handle.flush()
        qtbot.wait(50)
        handle.write('etion": 55}')
    qtbot.waitUntil(lambda: watcher.store.snapshot()["progress"]["percent"] == 55.0, timeout=WAIT_MS)
    qtbot.wait(400)
    assert not got.errors(), "a file completed shortly after must not be reported as broken"


def test_a_broken_file_reports_one_error_and_keeps_the_last_good_state(qtbot, project, start_watcher):
    target = project / ".buildrunner/checkpoints/cp.json"
    write_json(target, {"id": "cp", "phase": "good", "completion": 20})
    watcher, got = start_watcher(project, retry_delay=0.05)

    target.write_text('{"id": "cp", "phase": "bro')
    qtbot.waitUntil(lambda: bool(got.errors(".buildrunner/checkpoints/cp.json")), timeout=WAIT_MS)
    qtbot.wait(200)
    errors = got.errors(".buildrunner/checkpoints/cp.json")
    assert len(errors) == 1 and errors[0]["error_type"] == "invalid_json"
    assert "\n" not in errors[0]["error_message"]
    snapshot = watcher.store.snapshot()
    assert snapshot["checkpoints"][0]["phase"] == "good"
    assert snapshot["progress"]["percent"] == 20.0

    write_json(target, {"id": "cp", "phase": "fixed", "completion": 60})
    qtbot.waitUntil(lambda: watcher.store.snapshot()["progress"]["percent"] == 60.0, timeout=WAIT_MS)


class _InotifyHog:
    """Holds inotify instances until the kernel refuses more: a real 'too many inotify instances'."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fds: list[int] = []

    def exhaust(self) -> None:
        while len(self._fds) < 100_000:
            fd = self._libc.inotify_init1(os.O_CLOEXEC)
            if fd < 0:
                if ctypes.get_errno() not in (errno.EMFILE, errno.ENFILE, errno.ENOSPC):
                    pytest.skip(f"inotify unavailable: {os.strerror(ctypes.get_errno())}")
                return
            self._fds.append(fd)
        pytest.skip("could not reach the inotify instance limit")

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def test_inotify_limits_fall_back_to_polling(qtbot, project, start_watcher):
    hog = _InotifyHog()
    try:
        hog.exhaust()
        watcher, got = start_watcher(project)
    finally:
        hog.release()
    assert watcher.polling
    notices = [m["output"] for m in got.of_type("terminal_output") if m["output_type"] == "info"]
    assert any("polling" in text for text in notices)

    write_json(project / ".buildrunner/checkpoints/p.json", {"id": "p", "completion": 33})
    qtbot.waitUntil(lambda: watcher.store.snapshot()["progress"]["percent"] == 33.0, timeout=WAIT_MS)


def test_periodic_rescan_repairs_missed_events(qtbot, project, start_watcher):
    # An observer that never reports anything: every change is a "missed event".
    deaf = lambda: PollingObserver(timeout=3600)  # noqa: E731
    watcher, _ = start_watcher(project, observer_factory=deaf, rescan_interval=0.2)

    write_json(project / ".buildrunner/checkpoints/quiet.json", {"id": "quiet", "completion": 45})
    qtbot.waitUntil(lambda: watcher.store.snapshot()["progress"]["percent"] == 45.0, timeout=WAIT_MS)
    (project / ".buildrunner/checkpoints/quiet.json").unlink()
    qtbot.waitUntil(lambda: checkpoint_ids(watcher) == [], timeout=WAIT_MS)


def test_stop_leaves_no_thread_running(qtbot, project):
    before = set(threading.enumerate())
    watcher = ProjectWatcher(project)
    watcher.start()
    qtbot.waitUntil(lambda: watcher.is_ready, timeout=5000)
    assert set(threading.enumerate()) - before, "the watcher should be running threads while started"
    watcher.stop()
    assert set(threading.enumerate()) - before == set()
