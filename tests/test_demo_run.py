"""The demo's simulated build as the project's build command: a real child process that Start, Pause, Resume
and Cancel act on, started by itself as a run in `--demo` (window) and `serve --demo`."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from buildrunner_gui import demo_run
from buildrunner_gui.__main__ import main as app_main
from buildrunner_gui.demo import STATE_DIR, DemoBuild
from buildrunner_gui.runner.build_run import BuildRunner
from tests.runner.test_build_run import Recorder

pytestmark = pytest.mark.timeout(120)
CONTROL = "control-token-0123456789abcdef"


def checkpoint_phases(folder: Path) -> list[str]:
    rows = [json.loads(p.read_text()) for p in (folder / STATE_DIR / "checkpoints").glob("*.json")]
    return [row["phase"] for row in sorted(rows, key=lambda row: row["timestamp"])]


def test_the_command_is_this_interpreter_or_the_bundled_app(monkeypatch, tmp_path):
    argv = shlex.split(demo_run.command(tmp_path / "a b", 2.5))
    assert argv == [sys.executable, "-m", "buildrunner_gui", "--demo-build", str(tmp_path / "a b"), "--duration", "2.5"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert shlex.split(demo_run.command(tmp_path)) == [sys.executable, "--demo-build", str(tmp_path)]


def test_the_hidden_flag_plays_the_build_taking_up_a_prepared_plan(tmp_path, capsys):
    folder = tmp_path / "demo"
    DemoBuild(folder, duration=0.5, seed=1).prepare()
    assert checkpoint_phases(folder) == ["plan_approved"]
    assert app_main(["--demo-build", str(folder), "--duration", "0.5"]) == 0  # the bundled app's way in
    phases = checkpoint_phases(folder)
    assert phases.count("plan_approved") == 1 and phases[-1] == "build_complete"
    assert "simulated build finished" in capsys.readouterr().out
    assert app_main(["--demo-build", str(folder), "--duration", "0.5"]) == 0  # again: planned afresh
    assert checkpoint_phases(folder).count("plan_approved") == 2


def test_the_runner_plays_pauses_resumes_and_cancels_the_demo(tmp_path, qtbot):
    folder = tmp_path / "demo"
    DemoBuild(folder, duration=1.0).prepare()
    recorder = Recorder()
    runner = BuildRunner(str(folder), recorder)
    try:
        runner.start(demo_run.command(folder, 1.0))
        qtbot.waitUntil(lambda: runner.state in ("finished", "failed_to_start"), timeout=60_000)
        assert recorder.updates[-1]["exit_code"] == 0, recorder.lines
        assert ("stdout", "simulated build finished") in recorder.lines
        assert checkpoint_phases(folder)[-1] == "build_complete"

        runner.start(demo_run.command(folder, 60.0))  # Start after the end runs it again
        qtbot.waitUntil(lambda: runner.state == "running" and bool(recorder.lines[-1:]), timeout=30_000)
        runner.pause()
        assert runner.state == "paused"
        runner.resume()
        pgid = runner.pgid
        runner.cancel()
        qtbot.waitUntil(lambda: runner.state == "finished", timeout=30_000)
        assert recorder.updates[-1]["exit_code"] != 0 and recorder.updates[-1]["cancelled"] is True
        assert recorder.store.status != "failed"  # cancelled on purpose: not a failure of the build
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
    finally:
        if runner.pgid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(runner.pgid, signal.SIGKILL)


def test_the_window_demo_starts_its_build_as_a_run(run, tmp_path):
    from buildrunner_gui.app.desktop import DesktopApp
    from buildrunner_gui.settings import AppSettings
    from tests.ui.test_window import wait_for

    async def scenario():
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([], demo=True)
        try:
            session = next(iter(desktop.sessions.values()))
            runner = desktop.runs.runners[session.session_id]
            assert runner.active  # started by itself: Pause and Cancel apply at once
            assert "--demo-build" in desktop.runs.command(session.session_id)
            await wait_for(lambda: runner.state == "running", timeout=30)
            desktop.runs.pause(session.session_id)
            assert runner.state == "paused"
            desktop.runs.cancel(session.session_id)
            await wait_for(lambda: runner.state == "finished", timeout=30)
            await wait_for(lambda: session.store.snapshot()["run"]["state"] == "finished", timeout=10)
        finally:
            await desktop.shutdown()

    run(scenario(), timeout=90)


def post(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method="POST", data=None)
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_serve_demo_runs_the_build_as_a_run_that_control_routes_act_on(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", "serve", "--demo", "--port", "0", "--control-token", CONTROL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().split(" ", 1)[1]
        session_id = url.rsplit("/", 1)[1]
        base = "http://" + url.split("//", 1)[1].split("/", 1)[0]
        deadline = time.monotonic() + 30
        run = None
        while time.monotonic() < deadline:
            with connect(url) as client:
                client.recv()  # connection
                run = json.loads(client.recv())["state"]["run"]
            if run is not None and run["state"] == "running":
                break
            time.sleep(0.2)
        assert run is not None and run["state"] == "running" and "--demo-build" in run["command"]
        assert post(f"{base}/api/build/start/{session_id}", CONTROL)[0] == 409  # already running
        assert post(f"{base}/api/build/pause/{session_id}", CONTROL)[0] == 202
        status, body = post(f"{base}/api/build/cancel/{session_id}", CONTROL)
        assert status == 202, body
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
