"""A mirrored build in the window says at every moment whether it is live: sidebar row, overview, the banner
over every panel, window title and tray; and no alert fires from what it shows while it is not."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from PySide6.QtCore import Qt

from buildrunner_gui.app.desktop import DesktopApp
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.settings import AppSettings
from buildrunner_gui.sources import remote as remote_module
from buildrunner_gui.sources.watcher import ProjectWatcher


async def wait_for(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def serve(project: Path, port: int = 0) -> tuple[MirrorServer, ProjectWatcher]:
    server = MirrorServer(port=port)
    watcher = ProjectWatcher(project)
    await server.start()
    server.add_session(watcher)
    watcher.start()
    await wait_for(lambda: watcher.is_ready)
    return server, watcher


def test_the_window_marks_a_mirror_stale_while_its_server_is_gone(run, sample_project, tmp_path, monkeypatch):
    monkeypatch.setattr(remote_module, "BACKOFF_START", 0.2)
    # A build under way (formats.md rule 3), so that silence could mean a stall.
    checkpoint = sample_project / ".buildrunner" / "checkpoints" / "zz_more.json"
    checkpoint.write_text(json.dumps({"id": "zz_more", "phase": "build_5_more", "completion": 60}))

    async def scenario():
        server, watcher = await serve(sample_project)
        port = server.port
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([], mirrors=[(server.url_for("br3-sample"), None)])
        alerts: list[tuple[str, str]] = []
        desktop.manager.alert.connect(lambda _sid, kind, text: alerts.append((kind, text)))
        try:
            session = next(iter(desktop.sessions.values()))
            await wait_for(lambda: session.loaded and session.liveness.live)
            view, sidebar = session.view, desktop.window.sidebar
            row = sidebar.sessions.index(0, 0)
            assert view.stale_banner.isHidden()
            assert view.overview.path_label.text() == f"mirror of 127.0.0.1:{port}"
            assert view.overview.connection_label.text() == "● live"
            assert "not live" not in desktop.window.windowTitle()

            await server.stop()  # the workstation goes away
            watcher.stop()
            await wait_for(lambda: not session.liveness.live)
            await wait_for(lambda: "not live" in desktop.window.windowTitle())
            assert not view.stale_banner.isHidden()
            assert view.stale_banner.text().startswith("Not live: ")
            assert "last contact" in view.stale_banner.text()
            assert view.overview.connection_label.text().startswith("○ ")
            assert row.data().endswith(f"· {session.liveness.state}")
            tooltip = row.data(Qt.ItemDataRole.ToolTipRole)
            assert tooltip.startswith(f"mirror of 127.0.0.1:{port}\n") and "last contact" in tooltip
            assert desktop.window.windowTitle().endswith("· 1 not live")

            # Silence we cannot see is not a stall: no alert from stale data.
            assert session.status == "in_progress"
            desktop.manager.set_stall_minutes(0.0001)
            await asyncio.sleep(0.05)
            desktop.manager.check_stalls()
            assert not alerts
            server, watcher = await serve(sample_project, port)
            await wait_for(lambda: session.liveness.live)
            await wait_for(lambda: view.stale_banner.isHidden() and "not live" not in desktop.window.windowTitle())
            assert view.overview.connection_label.text() == "● live"
            await asyncio.sleep(0.05)
            desktop.manager.check_stalls()  # live, and quiet for longer than the (tiny) stall time
            assert [kind for kind, _ in alerts] == ["stalled"]
        finally:
            await desktop.shutdown()
            await server.stop()
            watcher.stop()

    run(scenario(), timeout=60)


def test_a_refused_mirror_says_what_to_fix(run, sample_project, tmp_path):
    async def scenario():
        server = MirrorServer(port=0, token="the-right-token-0123")
        watcher = ProjectWatcher(sample_project)
        await server.start()
        server.add_session(watcher)
        watcher.start()
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([], mirrors=[(server.url_for("br3-sample"), "a-wrong-token-0123456")])
        try:
            session = next(iter(desktop.sessions.values()))
            await wait_for(lambda: session.liveness.state == "refused")
            assert not session.view.stale_banner.isHidden()
            assert "check the token" in session.view.stale_banner.text()
            assert "check the token" in desktop.window.sidebar.sessions.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
        finally:
            await desktop.shutdown()
            await server.stop()
            watcher.stop()

    run(scenario(), timeout=60)
