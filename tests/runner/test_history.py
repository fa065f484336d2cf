"""Every run recorded in the app's data folder (never in the project), its output log beside it; the runs panel
and its log viewer; past runs back in the snapshot after a restart; the time left by past runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from buildrunner_gui.model.run_outcome import run_summary, typical_duration
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.runner.build_run import BuildRunner
from buildrunner_gui.runner.history import DATA_VARIABLE, RunHistory, data_folder, past_run_events, read_log
from buildrunner_gui.ui.runs_panel import RUN_ID_ROLE, RunsModel, RunsPanel

from .test_build_run import Recorder, script

pytestmark = pytest.mark.timeout(120)


def run_row(run_id: str, state: str = "finished", code: int | None = 0, seconds: float | None = 10.0) -> dict:
    return {
        "run_id": run_id,
        "state": state,
        "command": "make",
        "started_at": f"2026-12-06T10:00:{int(run_id[1:]):02d}.000Z",
        "ended_at": None if state in ("starting", "running", "paused") else "2026-12-06T10:01:00.000Z",
        "exit_code": code,
        "duration_s": seconds,
    }


def test_the_data_folder_is_the_variables_when_set(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_VARIABLE, str(tmp_path / "data"))
    assert data_folder() == tmp_path / "data"
    monkeypatch.delenv(DATA_VARIABLE)
    assert data_folder().name == "BuildRunner Desktop"


def test_a_run_is_recorded_with_its_output_outside_the_project(tmp_path, qtbot):
    project = tmp_path / "project"
    project.mkdir()
    history = RunHistory(tmp_path / "data")
    recorder = Recorder()
    runner = BuildRunner(str(project), history.recorder(str(project), recorder))
    command = script(
        tmp_path,
        "b.py",
        "import sys\nfor i in range(3000):\n    print('line', i)\nprint('bad', file=sys.stderr)\nsys.exit(2)\n",
    )
    try:
        runner.start(command)
        qtbot.waitUntil(lambda: runner.state == "finished", timeout=60_000)
    finally:
        if runner.pgid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(runner.pgid, signal.SIGKILL)
    assert recorder.count == 3001  # every event still reaches the store
    assert sorted(p.name for p in project.iterdir()) == []  # nothing written into the project
    [record] = history.runs(str(project))
    assert (record["command"], record["state"], record["exit_code"]) == (command, "finished", 2)
    assert record["started_at"] and record["ended_at"] and record["duration_s"] >= 0
    assert record["project"] == str(project)
    log_text = history.log_path(str(project), record["run_id"]).read_text()
    assert log_text.splitlines() == [f"line {i}" for i in range(3000)] + ["bad"]
    assert history.log_path(str(project), record["run_id"]).parent.parent == tmp_path / "data" / "runs"

    # a restart: the recorded runs come back as run_update events (the snapshot's runs)
    store = SessionStore("s", {"name": "p", "alias": None, "path": str(project)})
    store.publish(past_run_events(history, str(project)))
    assert store.snapshot()["run"]["run_id"] == record["run_id"] and store.status == "failed"


def test_the_oldest_runs_are_pruned_and_a_long_log_is_shown_from_its_end(tmp_path):
    history = RunHistory(tmp_path)
    seen: list = []
    recorder = history.recorder(str(tmp_path / "p"), seen.extend)
    for number in range(1, 8):
        run = run_row(f"r{number}")
        recorder([{"type": "run_update", "timestamp": "", **run, "state": "starting"}])
        recorder([{"type": "terminal_output", "output": "x" * 100, "output_type": "stdout", "source": "build"}])
        recorder([{"type": "run_update", "timestamp": "", **run}])
    history.prune(str(tmp_path / "p"), keep=3)
    assert [run["run_id"] for run in history.runs(str(tmp_path / "p"))] == ["r5", "r6", "r7"]
    assert len(seen) == 21  # every event handed on
    path = history.log_path(str(tmp_path / "p"), "r7")
    path.write_text("".join(f"{i:04d}\n" for i in range(1000)))
    shown = read_log(path, 100)
    assert shown is not None and shown.startswith("(the first ") and shown.endswith("0999\n")
    assert read_log(tmp_path / "missing.log", 100) is None


def test_an_unwritable_data_folder_never_stops_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    seen: list = []
    recorder = RunHistory(blocker).recorder(str(tmp_path), seen.extend)
    recorder([{"type": "run_update", "timestamp": "", **run_row("r1", "starting", None, None)}])
    recorder([{"type": "terminal_output", "output": "x", "output_type": "stdout", "source": "build"}])
    recorder([{"type": "run_update", "timestamp": "", **run_row("r1")}])
    assert len(seen) == 3


def test_the_runs_model_passes_the_model_tester_and_follows_the_store(qtmodeltester):
    model = RunsModel()
    qtmodeltester.check(model)
    model.reset([run_row("r1"), run_row("r2", code=3)])
    qtmodeltester.check(model)
    assert [model.index(row, 0).data(RUN_ID_ROLE) for row in range(2)] == ["r2", "r1"]  # newest first
    assert model.index(0, 2).data() == "failed (exit code 3)"
    model.update([run_row("r2", code=3), run_row("r3", "running", None, None)])
    qtmodeltester.check(model)
    assert [model.index(row, 0).data(RUN_ID_ROLE) for row in range(2)] == ["r3", "r2"]
    assert model.index(0, 2).data() == "running" and model.index(0, 3).data() == "—"


def test_the_runs_panel_asks_for_a_runs_output(qtbot):
    store = SessionStore("s", {"name": "p", "alias": None, "path": "/p"})
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.load(store)
    assert panel.model.rowCount() == 0
    batch = store.publish([{"type": "run_update", "timestamp": "", **run_row("r1")}])
    panel.apply_batch(batch, store)
    assert panel.model.rowCount() == 1
    panel.table.setCurrentIndex(panel.model.index(0, 0))
    with qtbot.waitSignal(panel.log_requested) as asked:
        panel.show_button.click()
    assert asked.args == ["r1"]


def test_the_time_left_is_the_median_of_past_successful_runs():
    now = datetime(2026, 12, 6, 10, 0, 40, tzinfo=UTC)
    past = [run_row("r1", seconds=60.0), run_row("r2", seconds=100.0), run_row("r3", seconds=80.0)]
    past += [run_row("r4", code=1, seconds=5.0)]  # a failed run does not count
    assert typical_duration(past) == (80.0, 3)
    running = run_row("r5", "running", None, None)  # started 10:00:05, so 35 s ago
    assert (
        run_summary([*past, running], now)
        == "build command running for 35 s · about 45 s left (the median of 3 past runs)"
    )
    assert (
        run_summary([run_row("r1", code=2, seconds=65.0)], now) == "last run: failed with exit code 2, took 1 min 5 s"
    )
    cancelled = {**run_row("r1", code=-15, seconds=12.0), "cancelled": True}
    assert run_summary([cancelled], now) == "last run: cancelled, took 12 s"  # stopped on purpose, not failed
    assert run_summary([], now) == ""


def test_the_window_records_a_run_lists_it_and_shows_its_output(run, tmp_path, monkeypatch):
    from buildrunner_gui.app.desktop import DesktopApp
    from buildrunner_gui.settings import AppSettings
    from tests.ui.test_window import wait_for

    monkeypatch.setenv(DATA_VARIABLE, str(tmp_path / "data"))
    project = tmp_path / "proj"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    settings = AppSettings(str(tmp_path / "settings.ini"))
    settings.set_build_command(str(project), script(tmp_path, "b.py", "print('built it')\n"))

    async def scenario() -> None:
        desktop = DesktopApp(settings, server_port=0)
        await desktop.start([str(project)])
        try:
            session = next(iter(desktop.sessions.values()))
            await wait_for(lambda: session.loaded, timeout=20)
            runner = desktop.runs.runners[session.session_id]
            desktop.runs.start(session.session_id)
            await wait_for(lambda: runner.state == "finished", timeout=30)
            panel = session.view.runs
            assert panel.model.rowCount() == 1
            assert "last run: succeeded" in session.view.overview.run_label.text().lower()
            viewer = desktop.runs.show_log(session.session_id, panel.model.run_id_at(0) or "")
            assert viewer is not None and viewer.text_edit.isReadOnly()
            assert viewer.text_edit.toPlainText() == "built it\n"
            viewer.close()
        finally:
            await desktop.shutdown()

        again = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)  # a restart
        await again.start([str(project)])
        try:
            session = next(iter(again.sessions.values()))
            await wait_for(lambda: session.loaded, timeout=20)
            assert session.view.runs.model.rowCount() == 1
            assert session.store.snapshot()["run"]["exit_code"] == 0
        finally:
            await again.shutdown()

    run(scenario(), timeout=90)
    assert not any(Path(project).glob("*.log"))
    assert json.loads(next((tmp_path / "data" / "runs").glob("*/*.json")).read_text())["exit_code"] == 0


def test_serve_gives_the_recorded_runs_in_its_snapshot(tmp_path):
    import subprocess
    import sys

    from websockets.sync.client import connect

    project = tmp_path / "proj"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    history = RunHistory(tmp_path / "data")
    recorder = history.recorder(str(project), lambda events: None)
    recorder([{"type": "run_update", "timestamp": "", **run_row("r1", code=4)}])
    env = {**os.environ, DATA_VARIABLE: str(tmp_path / "data"), "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", "serve", str(project), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().split(" ", 1)[1]
        with connect(url) as client:
            client.recv()  # connection
            state = json.loads(client.recv())["state"]
        assert state["run"]["run_id"] == "r1" and state["status"] == "failed"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
