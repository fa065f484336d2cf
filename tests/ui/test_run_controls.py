"""The window's build controls (DesktopApp on the qasync loop, a real project and real build processes): the
per-project command, which actions apply, the keys, the context menu, and asking before quitting."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from buildrunner_gui.app import DesktopApp
from buildrunner_gui.runner.build_run import DEFAULT_COMMAND
from buildrunner_gui.settings import AppSettings

PY = shlex.quote(sys.executable)


async def wait_for(condition, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    (folder / ".buildrunner" / "checkpoints").mkdir(parents=True)
    (folder / "build.py").write_text(
        "import os, time\nopen('build.pid', 'w').write(str(os.getpid()))\nprint('building', flush=True)\n"
        "time.sleep(120)\n"
    )
    return folder


def test_start_pause_resume_cancel_from_the_toolbar(run, tmp_path):
    folder = project(tmp_path)
    settings_file = str(tmp_path / "settings.ini")

    async def scenario():
        desktop = DesktopApp(AppSettings(settings_file), server_port=0)
        await desktop.start([str(folder)])
        await wait_for(lambda: all(s.loaded for s in desktop.sessions.values()))
        try:
            (session_id,) = desktop.sessions
            bar = desktop.runs.toolbar
            assert bar.command.text() == DEFAULT_COMMAND  # the default until the user changes it
            assert bar.start_action.isEnabled()
            assert not bar.pause_action.isEnabled() and not bar.cancel_action.isEnabled()
            assert [a.shortcut().toString() for a in bar.actions_for_window()] == ["F5", "F6", "Shift+F5"]

            command = f"{PY} -u build.py"
            bar.command.setText(command)
            bar.command.editingFinished.emit()
            assert AppSettings(settings_file).build_command(str(folder), DEFAULT_COMMAND) == command

            bar.start_action.trigger()
            session = desktop.sessions[session_id]
            await wait_for(lambda: session.store.snapshot()["run"]["state"] == "running")
            await wait_for(lambda: any(r["output"] == "building" for r in session.store.snapshot()["terminal"]))
            assert not bar.start_action.isEnabled() and bar.cancel_action.isEnabled()
            assert bar.pause_action.text() == "Pause Build" and bar.pause_action.isEnabled()

            bar.pause_action.trigger()
            assert session.store.snapshot()["run"]["state"] == "paused"
            assert bar.pause_action.text() == "Resume Build"
            menu = bar.context_menu(session_id, desktop.runs.state(session_id))  # the sidebar row's menu
            assert [(a.text(), a.isEnabled()) for a in menu.actions()] == [
                ("Start Build", False),
                ("Resume Build", True),
                ("Cancel Build", True),
            ]
            menu.actions()[1].trigger()
            assert session.store.snapshot()["run"]["state"] == "running"
            menu.deleteLater()

            bar.cancel_action.trigger()
            assert not bar.cancel_action.isEnabled()
            await wait_for(lambda: session.store.snapshot()["run"]["state"] == "finished")
            assert bar.start_action.isEnabled() and not bar.pause_action.isEnabled()
            assert not alive(int((folder / "build.pid").read_text()))

            desktop.manager.close(session_id)  # the project goes: its controls with it
            assert bar.session_id is None and not bar.start_action.isEnabled()
        finally:
            await desktop.shutdown()

    run(scenario(), timeout=60)


def test_quitting_while_a_build_runs_asks_first_then_cancels_it(run, tmp_path):
    folder = project(tmp_path)
    settings_file = str(tmp_path / "settings.ini")
    AppSettings(settings_file).set_build_command(str(folder), f"{PY} -u build.py")

    async def scenario():
        desktop = DesktopApp(AppSettings(settings_file), server_port=0)
        await desktop.start([str(folder)])
        await wait_for(lambda: all(s.loaded for s in desktop.sessions.values()))
        (session_id,) = desktop.sessions
        try:
            desktop.runs.start(session_id)
            await wait_for(lambda: (folder / "build.pid").exists() and (folder / "build.pid").read_text())
            pid = int((folder / "build.pid").read_text())

            desktop.window.close()  # asks: nothing stops yet
            box = desktop.runs.quit_box
            await wait_for(lambda: box.isVisible())
            assert not desktop.closed.is_set()
            box.button(QMessageBox.StandardButton.No).click()  # keep running
            await asyncio.sleep(0.2)
            assert not desktop.closed.is_set() and alive(pid)

            desktop.window.close()
            box = desktop.runs.quit_box
            await wait_for(lambda: box.isVisible())
            box.button(QMessageBox.StandardButton.Yes).click()  # cancel the build and quit
            await wait_for(desktop.closed.is_set)
            assert not alive(pid)
            assert desktop.sessions == {}
        finally:
            await desktop.shutdown()

    run(scenario(), timeout=60)


def test_a_mirror_has_no_build_controls(run, tmp_path):
    settings_file = str(tmp_path / "settings.ini")

    async def scenario():
        desktop = DesktopApp(AppSettings(settings_file), server_port=0)
        await desktop.start([], mirrors=[("ws://127.0.0.1:9/api/build/stream/x", None)])
        try:
            (session_id,) = desktop.sessions
            assert session_id not in desktop.runs.runners
            state = desktop.runs.state(session_id)
            assert not (state.can_start or state.can_pause or state.can_cancel)
            desktop.window.sidebar.select(session_id)
            assert not desktop.runs.toolbar.start_action.isEnabled()
        finally:
            await desktop.shutdown()

    run(scenario(), timeout=30)


def test_the_window_server_takes_build_actions_with_its_control_token(run, tmp_path):
    folder = project(tmp_path)
    settings_file = str(tmp_path / "settings.ini")
    settings = AppSettings(settings_file)
    settings.set_build_command(str(folder), f"{PY} -u build.py")
    preferences = settings.preferences()
    preferences.control_token = "control-token-0123456789abcdef"
    settings.save_preferences(preferences)

    async def post(port: int, target: str, token: str) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        raw = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return int(raw.split()[1])

    async def scenario():
        desktop = DesktopApp(AppSettings(settings_file), server_port=0)
        await desktop.start([str(folder)])
        await wait_for(lambda: all(s.loaded for s in desktop.sessions.values()))
        try:
            (session_id,) = desktop.sessions
            port = desktop.server.port
            assert await post(port, f"/api/build/start/{session_id}", "wrong-token-0123456789abcdef") == 401
            assert await post(port, f"/api/build/start/{session_id}", preferences.control_token) == 202
            await wait_for(lambda: (folder / "build.pid").exists() and (folder / "build.pid").read_text())
            assert not desktop.runs.toolbar.start_action.isEnabled()  # the window shows the run
            assert desktop.runs.toolbar.cancel_action.isEnabled()
            assert await post(port, f"/api/build/cancel/{session_id}", preferences.control_token) == 202
            await wait_for(lambda: desktop.sessions[session_id].store.snapshot()["run"]["state"] == "finished")
        finally:
            await desktop.shutdown()

    run(scenario(), timeout=60)


def test_removing_a_project_cancels_its_build(run, tmp_path):
    folder = project(tmp_path)
    settings_file = str(tmp_path / "settings.ini")
    AppSettings(settings_file).set_build_command(str(folder), f"{PY} -u build.py")

    async def scenario():
        desktop = DesktopApp(AppSettings(settings_file), server_port=0)
        await desktop.start([str(folder)])
        await wait_for(lambda: all(s.loaded for s in desktop.sessions.values()))
        try:
            (session_id,) = desktop.sessions
            desktop.runs.start(session_id)
            await wait_for(lambda: (folder / "build.pid").exists() and (folder / "build.pid").read_text())
            pid = int((folder / "build.pid").read_text())
            desktop.manager.close(session_id)
            await wait_for(lambda: not alive(pid))
            await wait_for(lambda: not desktop.runs._leaving)  # the runner goes once its build has ended
        finally:
            await desktop.shutdown()

    run(scenario(), timeout=60)
