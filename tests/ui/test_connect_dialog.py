"""File → Connect to Server…: list a real server's sessions, mirror the ones picked, and find them again at the
next start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt

from buildrunner_gui.app.desktop import DesktopApp
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.settings import AppSettings
from buildrunner_gui.sources.watcher import ProjectWatcher
from buildrunner_gui.ui.connect_dialog import ConnectDialog

TOKEN = "connect-dialog-token-01"


async def wait_for(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def project(root: Path, name: str) -> Path:
    folder = root / name
    (folder / ".buildrunner" / "checkpoints").mkdir(parents=True)
    return folder


def test_connect_lists_the_servers_sessions_mirrors_the_chosen_and_restores_them(run, tmp_path):
    settings_path = str(tmp_path / "settings.ini")

    async def scenario():
        server = MirrorServer(port=0, token=TOKEN)
        watchers = [ProjectWatcher(project(tmp_path, name)) for name in ("alpha", "beta")]
        await server.start()
        for watcher in watchers:
            server.add_session(watcher)
            watcher.start()
        try:
            desktop = DesktopApp(AppSettings(settings_path), server_port=0)
            await desktop.start([])
            try:
                action = next(a for a in desktop.window.actions() if a.text() == "&Connect to Server…")
                assert action.shortcut().toString() == "Ctrl+K"
                action.trigger()
                dialog = desktop.window.findChild(ConnectDialog)
                assert dialog is not None and dialog.isVisible()
                dialog.url.setText(f"ws://127.0.0.1:{server.port}")
                dialog.token.setText(TOKEN)
                assert dialog.token.echoMode() == dialog.token.EchoMode.Password
                dialog.list_button.click()
                await wait_for(lambda: dialog.sessions.count() == 2)
                assert not dialog.connect_button.isEnabled()  # nothing checked yet
                dialog.sessions.item(1).setCheckState(Qt.CheckState.Checked)
                assert dialog.connect_button.isEnabled()
                dialog.connect_button.click()
                await wait_for(lambda: len(desktop.sessions) == 1)
                session = next(iter(desktop.sessions.values()))
                await wait_for(lambda: session.loaded and session.liveness.live)
                assert session.session_id == "beta"
                assert session.location == f"mirror of 127.0.0.1:{server.port}"
            finally:
                await desktop.shutdown()

            settings = AppSettings(settings_path)
            assert settings.last_server() == (f"ws://127.0.0.1:{server.port}", TOKEN)
            assert settings.open_mirrors() == [(f"ws://127.0.0.1:{server.port}/api/build/stream/beta", TOKEN)]

            again = DesktopApp(AppSettings(settings_path), server_port=0)
            await again.start([])  # nothing asked for: the last session's mirrors come back
            try:
                await wait_for(lambda: len(again.sessions) == 1)
                restored = next(iter(again.sessions.values()))
                await wait_for(lambda: restored.loaded and restored.liveness.live)
                assert restored.session_id == "beta"
            finally:
                await again.shutdown()
        finally:
            await server.stop()
            for watcher in watchers:
                watcher.stop()

    run(scenario(), timeout=60)


def test_a_wrong_token_is_said_in_the_dialog(run, tmp_path):
    async def scenario():
        server = MirrorServer(port=0, token=TOKEN)
        await server.start()
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([])
        try:
            desktop.show_connect()
            dialog = desktop.window.findChild(ConnectDialog)
            dialog.url.setText(f"http://127.0.0.1:{server.port}")
            dialog.token.setText("not-the-token-at-all")
            dialog.connect_button.click()  # a server's address: Connect lists its sessions first
            await wait_for(lambda: "refused: token" in dialog.message.text())
            assert dialog.isVisible() and not desktop.sessions
        finally:
            await desktop.shutdown()
            await server.stop()

    run(scenario(), timeout=60)
