"""The whole window (DesktopApp) on the qasync loop, against real project folders and a real mirror server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from websockets.asyncio.client import connect

from buildrunner_gui.app import DesktopApp
from buildrunner_gui.settings import AppSettings


@pytest.fixture
def settings_file(tmp_path: Path) -> str:
    return str(tmp_path / "settings.ini")


async def wait_for(condition, timeout: float = 8.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def opened(settings_file: str, projects: list[str], demo: bool = False) -> DesktopApp:
    desktop = DesktopApp(AppSettings(settings_file), server_port=0)
    await desktop.start(projects, demo)
    await wait_for(lambda: all(s.loaded for s in desktop.sessions.values()))
    return desktop


def write_checkpoint(project: Path, name: str, **fields) -> None:
    path = project / ".buildrunner" / "checkpoints" / f"{name}.json"
    path.write_text(json.dumps({"id": name, **fields}))


def test_opens_a_project_and_every_panel_follows_the_files(run, sample_project, settings_file):
    async def scenario():
        desktop = await opened(settings_file, [str(sample_project)])
        try:
            session = desktop.sessions["br3-sample"]
            view = session.view
            assert desktop.window.sidebar.count() == 1
            assert view.features.model.rowCount() == 17
            assert view.components.model.rowCount() == 91
            assert session.percent == 100.0

            write_checkpoint(
                sample_project,
                "zz_late",
                timestamp="2030-01-01T00:00:00",
                phase="build_9z",
                completion_percentage=42,
                features={"feat-001": {"status": "failed"}},
            )
            await wait_for(lambda: session.percent == 42.0 and session.status == "failed")
            assert "failed" in desktop.window.windowTitle()
            assert desktop.tray.sent[-1][0] == "Build failed"
            feature_rows = [view.features.model.item_at(r) for r in range(view.features.model.rowCount())]
            assert next(f for f in feature_rows if f["id"] == "feat-001")["status"] == "failed"
        finally:
            await desktop.shutdown()

    run(scenario())


def test_notifications_fire_once_per_transition(run, tmp_path, settings_file):
    project = tmp_path / "notify"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    write_checkpoint(project, "a", timestamp="2030-01-01T00:00:00", phase="setup", completion=0)

    async def scenario():
        desktop = await opened(settings_file, [str(project)])
        try:
            session = next(iter(desktop.sessions.values()))
            steps = [
                ("b", "build_1", 10, None, "in_progress"),
                ("c", "build_1", 20, None, "in_progress"),
                ("d", "build_1", 30, "tests failed", "failed"),
                ("e", "build_1", 35, "still", "failed"),
                ("f", "build_1", 60, None, "in_progress"),
                ("g", "done", 100, None, "completed"),
            ]
            for minute, (name, phase, completion, error, status) in enumerate(steps, start=1):
                fields = {"timestamp": f"2030-01-01T00:{minute:02d}:00", "phase": phase, "completion": completion}
                if error:
                    fields["error"] = error
                write_checkpoint(project, name, **fields)
                await wait_for(lambda s=status, c=completion: session.status == s and session.percent == c)
            assert [title for title, _ in desktop.tray.sent] == [
                "Build started",
                "Build failed",
                "Build recovered",
                "Build completed",
            ]
        finally:
            await desktop.shutdown()

    run(scenario())


def test_switched_off_notifications_stay_quiet(run, tmp_path, settings_file):
    project = tmp_path / "quiet"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)

    async def scenario():
        desktop = await opened(settings_file, [str(project)])
        try:
            prefs = desktop.preferences
            prefs.notify_started = False
            await desktop.apply_preferences(prefs)
            session = next(iter(desktop.sessions.values()))
            write_checkpoint(project, "a", phase="build_1", completion=5)
            await wait_for(lambda: session.status == "in_progress")
            assert list(desktop.tray.sent) == []
        finally:
            await desktop.shutdown()

    run(scenario())


def test_stall_alert_when_a_building_project_goes_quiet(run, tmp_path, settings_file):
    project = tmp_path / "stall"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    write_checkpoint(project, "a", phase="build_1", completion=5)

    async def scenario():
        desktop = await opened(settings_file, [str(project)])
        try:
            session = next(iter(desktop.sessions.values()))
            session.set_stall_minutes(0.5 / 60)  # half a second of silence
            desktop.manager.check_stalls()
            assert list(desktop.tray.sent) == []
            await asyncio.sleep(0.6)
            desktop.manager.check_stalls()
            desktop.manager.check_stalls()
            assert [title for title, _ in desktop.tray.sent] == ["Build stalled"]
        finally:
            await desktop.shutdown()

    run(scenario())


def test_settings_and_open_projects_survive_a_restart(run, sample_project, tmp_path, settings_file):
    other = tmp_path / "second"
    (other / ".buildrunner").mkdir(parents=True)

    async def scenario():
        first = await opened(settings_file, [str(sample_project), str(other)])
        prefs = first.preferences
        prefs.stall_minutes = 3
        prefs.notify_fixed = False
        await first.apply_preferences(prefs)
        first.window.resize(700, 500)  # inside the offscreen 800x800 screen
        await first.shutdown()

        second = await opened(settings_file, [])
        try:
            assert sorted(s.location for s in second.sessions.values()) == sorted(
                [str(sample_project.resolve()), str(other.resolve())]
            )
            assert second.preferences.stall_minutes == 3 and second.preferences.notify_fixed is False
            assert (second.window.size().width(), second.window.size().height()) == (700, 500)
            assert second.window.recent_menu.actions()
        finally:
            await second.shutdown()

    run(scenario())


def test_mirror_server_runs_inside_the_window(run, sample_project, settings_file):
    async def scenario():
        desktop = await opened(settings_file, [str(sample_project)])
        try:
            assert desktop.server is not None
            async with connect(desktop.server.url_for("br3-sample")) as client:
                assert json.loads(await client.recv())["type"] == "connection"
                status = json.loads(await client.recv())
                assert status["state"]["feature_stats"]["total"] == 17
                desktop._show_server()
                assert "1 client" in desktop.window.server_status.label.text()
                write_checkpoint(sample_project, "zz", timestamp="2030-01-01T00:00:00", completion=50)
                async with asyncio.timeout(5):
                    while json.loads(await client.recv())["type"] != "build_progress":
                        pass
        finally:
            await desktop.shutdown()

    run(scenario())


def test_export_report_as_html_and_json(run, sample_project, tmp_path, settings_file):
    async def scenario():
        desktop = await opened(settings_file, [str(sample_project)])
        try:
            desktop.export_report("br3-sample", str(tmp_path / "r.html"))
            desktop.export_report("br3-sample", str(tmp_path / "r.json"))
        finally:
            await desktop.shutdown()

    run(scenario())
    page = (tmp_path / "r.html").read_text()
    assert "<!doctype html>" in page and "BuildRunner3" in page and "100.0%" in page
    assert "http" not in page.split("<body>")[0].replace("http-equiv", "")  # no external resources
    assert json.loads((tmp_path / "r.json").read_text())["feature_stats"]["total"] == 17


def test_closing_stops_watchers_server_and_timers(run, sample_project, settings_file):
    async def scenario():
        desktop = await opened(settings_file, [str(sample_project)])
        server = desktop.server
        await desktop.shutdown()
        assert desktop.sessions == {} and desktop.server is None
        assert server is not None and not server.running
        timers = desktop.findChildren(QTimer)
        assert timers and not any(timer.isActive() for timer in timers)
        assert not desktop.window.isVisible()

    run(scenario())
    QApplication.processEvents()


def test_demo_runs_in_the_window(run, settings_file):
    async def scenario():
        desktop = await opened(settings_file, [], demo=True)
        try:
            session = next(iter(desktop.sessions.values()))
            assert session.view.features.model.rowCount() >= 10
            await wait_for(lambda: session.view.terminal.line_count() > 0, timeout=15)
        finally:
            await desktop.shutdown()

    run(scenario(), timeout=40)


def test_mirror_window_follows_a_remote_server(run, sample_project, settings_file):
    from tests.server.conftest import mirror

    async def scenario():
        async with mirror([sample_project]) as server:
            desktop = DesktopApp(AppSettings(settings_file), server_port=0)
            await desktop.start([], mirrors=[(server.url_for("br3-sample"), None)])
            try:
                await wait_for(lambda: all(s.loaded for s in desktop.sessions.values()) and desktop.sessions)
                session = next(iter(desktop.sessions.values()))
                assert session.view.features.model.rowCount() == 17
                assert session.percent == 100.0
                write_checkpoint(sample_project, "zz_remote", timestamp="2030-01-01T00:00:00", completion=12)
                await wait_for(lambda: session.percent == 12.0)
                assert session.location == f"mirror of 127.0.0.1:{server.port}"
                # The window re-serves the mirrored session to its own clients, with its own numbering.
                assert desktop.server is not None
                async with connect(desktop.server.url_for("br3-sample")) as client:
                    assert json.loads(await client.recv())["type"] == "connection"
                    status = json.loads(await client.recv())
                state = status["state"]
                assert state["source"]["kind"] == "mirror" and state["source"]["state"] == "live"
                assert state["progress"]["percent"] == 12.0 and state["project"]["name"] == "BuildRunner3"
                assert status["epoch"] != server.sessions["br3-sample"].store.epoch
            finally:
                await desktop.shutdown()

    run(scenario())


def test_a_stream_url_given_as_a_project_opens_a_mirror(run, sample_project, settings_file):
    """cli.md: the window takes a mirror URL wherever it takes a PROJECT (the token travels as a header)."""
    from tests.server.conftest import mirror

    async def scenario():
        async with mirror([sample_project], token="a-token-of-twenty-chars") as server:
            url = server.url_for("br3-sample") + "?token=a-token-of-twenty-chars"
            desktop = DesktopApp(AppSettings(settings_file), server_port=0)
            await desktop.start([url])
            try:
                await wait_for(lambda: desktop.sessions and all(s.loaded for s in desktop.sessions.values()))
                session = next(iter(desktop.sessions.values()))
                assert not session.source.is_local and session.view.features.model.rowCount() == 17
                assert "a-token" not in session.location and "a-token" not in json.dumps(session.store.source)
            finally:
                await desktop.shutdown()

    run(scenario())


def test_dropping_a_folder_opens_it(run, sample_project, settings_file):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    async def scenario():
        desktop = await opened(settings_file, [])
        try:
            data = QMimeData()
            data.setUrls([QUrl.fromLocalFile(str(sample_project))])
            drop = QDropEvent(
                QPointF(10, 10),
                Qt.DropAction.CopyAction,
                data,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
            desktop.window.dropEvent(drop)
            await wait_for(lambda: len(desktop.sessions) == 1 and all(s.loaded for s in desktop.sessions.values()))
            assert next(iter(desktop.sessions.values())).view.features.model.rowCount() == 17
        finally:
            await desktop.shutdown()

    run(scenario())


def test_sidebar_buttons_and_keyboard_move_between_projects(run, sample_project, tmp_path, settings_file):
    other = tmp_path / "other"
    (other / ".buildrunner").mkdir(parents=True)

    async def scenario():
        desktop = await opened(settings_file, [str(sample_project), str(other)])
        try:
            window = desktop.window
            assert window.current_session() == "other"
            window.sidebar.step(1)
            assert window.current_session() == "br3-sample"
            assert window.views.currentWidget() is desktop.sessions["br3-sample"].view
            window.remove_button.click()
            assert list(desktop.sessions) == ["other"] and window.sidebar.count() == 1
        finally:
            await desktop.shutdown()

    run(scenario())


def test_the_windows_server_serves_br3_clients_and_allowed_origins_when_set(run, sample_project, settings_file):
    """Settings → Serve BuildRunner 3 web clients and Allowed origins: the window's own server then answers a page
    on that origin in the br3 dialect, with CORS."""
    from tests.server.test_br3_dialect import raw_http

    async def scenario():
        desktop = await opened(settings_file, [str(sample_project)])
        try:
            from dataclasses import replace

            prefs = replace(desktop.preferences, serve_br3=True, allowed_origins="http://localhost:3001")
            await desktop.apply_preferences(prefs)  # as the settings dialog hands them over: a new object
            base = f"http://127.0.0.1:{desktop.server.port}"
            status, headers, body = await raw_http(
                base, "GET", "/api/build/status/br3-sample", {"Origin": "http://localhost:3001"}
            )
            assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:3001"
            assert json.loads(body)["id"] == "br3-sample"
        finally:
            await desktop.shutdown()

    run(scenario())
