"""Composition root of the desktop app: builds the window, the sessions and the mirror server, wires their
signals in one place, and runs them on one qasync loop (Qt and asyncio on the GUI thread)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

import qasync
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from .model.alerts import worst_status
from .model.session_ids import session_id_for
from .os_signals import stop_on_signals
from .project.registry_read import UnknownProjectError, alias_for_path, resolve_project
from .report import report_html, report_json
from .server.mirror_server import MirrorServer
from .settings import AppSettings, Preferences
from .sources.remote import RemoteSource
from .sources.watcher import ProjectWatcher
from .ui.main_window import MainWindow
from .ui.new_project_wizard import NewProjectWizard
from .ui.session import Session
from .ui.settings_dialog import SettingsDialog
from .ui.tray import StatusTray

log = logging.getLogger(__name__)

STALL_CHECK_MS = 30_000
SERVER_STATUS_MS = 1_000
LOAD_POLL_MS = 10


class DesktopApp(QObject):
    def __init__(self, settings: AppSettings, server_port: int | None = None) -> None:
        super().__init__()
        # The loop ends when `closed` is set, after an orderly shutdown; Qt must not stop it on its own.
        QGuiApplication.setQuitOnLastWindowClosed(False)
        self.settings = settings
        self.preferences: Preferences = settings.preferences()
        if server_port is not None:
            self.preferences.port = server_port
        self.window = MainWindow()
        self.tray = StatusTray(self.window)
        self.sessions: dict[str, Session] = {}
        self.server: MirrorServer | None = None
        self.server_error = ""
        self.closed = asyncio.Event()
        self._demo = None
        self.wizard: NewProjectWizard | None = None
        self._tasks: set[asyncio.Task] = set()
        self._stall_timer = self._timer(STALL_CHECK_MS, self._check_stalls)
        self._server_timer = self._timer(SERVER_STATUS_MS, self._show_server)
        self._load_timer = self._timer(LOAD_POLL_MS, self._load_ready_sessions)
        self._connect_window()

    def _timer(self, interval_ms: int, slot) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(interval_ms)
        timer.timeout.connect(slot)
        return timer

    def _connect_window(self) -> None:
        self.window.open_folder_requested.connect(lambda folder: self.open_project(folder))
        self.window.open_alias_requested.connect(lambda alias: self.open_project(alias))
        self.window.remove_requested.connect(self.remove_project)
        self.window.export_requested.connect(self.export_report)
        self.window.settings_requested.connect(self.show_settings)
        self.window.new_project_requested.connect(self.show_new_project)
        self.window.close_requested.connect(lambda: self._spawn(self.shutdown()))
        self.window.set_recent(self.settings.recent_projects())

    # ---------------------------------------------------------------- lifecycle

    async def start(
        self, projects: list[str], demo: bool = False, mirrors: list[tuple[str, str | None]] | None = None
    ) -> None:
        """Create the server inside the running loop (never in a constructor), then open the projects."""
        if self.preferences.server_enabled:
            await self._start_server()
        self.window.restore_layout(*self.settings.window_state())
        for url, token in mirrors or []:
            self.open_remote(url, token)
        for project in projects or ([] if demo or mirrors else self.settings.open_projects()):
            self.open_project(project)
        if demo:
            from .demo import DemoBuild

            self._demo = DemoBuild.in_temporary_folder()
            self._demo.prepare()
            self.open_project(str(self._demo.folder), remember=False)
            self._demo.start()
        self._stall_timer.start()
        self._server_timer.start()
        self._show_server()
        self.window.show()

    async def shutdown(self) -> None:
        """Stop watchers, the server, the demo and every timer; then let the window close."""
        if self.closed.is_set():
            return
        self.settings.set_open_projects(
            [
                s.folder
                for s in self.sessions.values()
                if s.folder != self._demo_folder() and isinstance(s.watcher, ProjectWatcher)
            ]
        )
        self.settings.save_window_state(self.window.saveGeometry(), self.window.saveState())
        self.settings.sync()
        for timer in (self._stall_timer, self._server_timer, self._load_timer):
            timer.stop()
        if self.wizard is not None:
            self.wizard.stop()  # cancels a running creation and waits for its rollback
        for session_id in list(self.sessions):
            self._close_session(session_id)
        if self._demo is not None:
            self._demo.cleanup()
            self._demo = None
        await self._stop_server()
        self.tray.hide()
        self.window.allow_close()
        self.window.close()
        self.closed.set()

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)  # keep a reference: the loop holds only weak ones
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- projects

    def open_project(self, project: str, remember: bool = True) -> Session | None:
        try:
            folder, alias = resolve_project(project)
        except UnknownProjectError as exc:
            self.window.statusBar().showMessage(str(exc), 8000)
            return None
        for session in self.sessions.values():
            if session.folder == str(folder):
                self.window.sidebar.select(session.session_id)
                return session
        alias = alias or alias_for_path(folder)
        session_id = session_id_for(alias, folder.name, self.sessions.keys())
        watcher = ProjectWatcher(folder, alias=alias, session_id=session_id)
        session = Session(watcher, self.preferences.stall_minutes, publish=self._publish)
        session.status_changed.connect(self._on_status_changed)
        session.alert.connect(self._on_alert)
        self.sessions[session_id] = session
        if self.server is not None:
            self.server.add_session(watcher)
        self.window.add_session(session_id, session.view, folder.name, "pending", 0.0, str(folder))
        session.start()
        self._load_timer.start()
        if remember:
            self.settings.add_recent(str(folder))
            self.window.set_recent(self.settings.recent_projects())
        return session

    def open_remote(self, url: str, token: str | None = None) -> Session | None:
        """A read-only mirror of a remote server's session (not re-served: it has no engine here)."""
        try:
            source = RemoteSource(url, token)
        except ValueError as exc:
            self.window.statusBar().showMessage(str(exc), 8000)
            return None
        source.session_id = session_id_for(None, source.session_id, self.sessions.keys())
        session = Session(source, self.preferences.stall_minutes)
        session.status_changed.connect(self._on_status_changed)
        session.alert.connect(self._on_alert)
        self.sessions[source.session_id] = session
        self.window.add_session(source.session_id, session.view, source.session_id, "pending", 0.0, url)
        session.start()
        self._load_timer.start()
        return session

    def remove_project(self, session_id: str) -> None:
        self._close_session(session_id)
        self._on_status_changed("")

    def _close_session(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        session.stop()
        if self.server is not None and isinstance(session.watcher, ProjectWatcher):
            self.server.remove_session(session_id)
        self.window.remove_session(session_id)
        session.deleteLater()

    def _load_ready_sessions(self) -> None:
        """Sessions load their view once their first scan is done (polled: waiting would block the GUI)."""
        waiting = False
        for session in self.sessions.values():
            if session.loaded:
                continue
            if session.watcher.loaded.is_set():
                session.load()
            else:
                waiting = True
        if not waiting:
            self._load_timer.stop()

    def _publish(self, session_id: str, batch: list) -> None:
        if self.server is not None:
            self.server.publish(session_id, batch)

    def _demo_folder(self) -> str | None:
        return str(self._demo.folder.resolve()) if self._demo is not None else None

    # ---------------------------------------------------------------- status and alerts

    def _on_status_changed(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            self.window.update_session(session_id, session.name, session.status, session.percent)
        worst = worst_status([s.status for s in self.sessions.values()])
        self.window.show_worst_status(worst)
        summary = "\n".join(f"{s.name}: {s.status} {s.percent:.0f}%" for s in self.sessions.values())
        self.tray.show_status(worst, summary or "no projects")

    def _on_alert(self, _session_id: str, kind: str, text: str) -> None:
        if kind != "stalled" and not getattr(self.preferences, f"notify_{kind}", True):
            return
        title = {
            "started": "Build started",
            "completed": "Build completed",
            "failed": "Build failed",
            "fixed": "Build recovered",
            "stalled": "Build stalled",
        }.get(kind, "BuildRunner")
        self.tray.notify(title, text, failed=kind in ("failed", "stalled"))

    def _check_stalls(self) -> None:
        for session in self.sessions.values():
            session.check_stall()

    # ---------------------------------------------------------------- the mirror server

    async def _start_server(self) -> None:
        p = self.preferences
        server = MirrorServer(p.host, p.port, p.token or None)
        try:
            await server.start()
        except OSError as exc:
            self.server_error = f"mirror server not started: {exc.strerror or exc}"
            log.warning(self.server_error)
            return
        self.server, self.server_error = server, ""
        for session in self.sessions.values():
            if isinstance(session.watcher, ProjectWatcher):
                server.add_session(session.watcher)

    async def _stop_server(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()

    def _show_server(self) -> None:
        if self.server is None:
            self.window.server_status.show_server(None, note=self.server_error or "mirror server off")
        else:
            self.window.server_status.show_server(self.server.page_url(), self.server.client_count())

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.preferences, self.window)
        dialog.saved.connect(lambda: self._spawn(self.apply_preferences(dialog.result_preferences())))
        dialog.open()

    def show_new_project(self) -> None:
        if self.wizard is not None:  # one wizard at a time: bring it back to the front
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        wizard = self.wizard = NewProjectWizard(self.window)
        wizard.project_created.connect(lambda folder: self.open_project(folder))
        wizard.finished.connect(lambda _result: self._wizard_closed(wizard))
        wizard.open()  # open(), not exec(): never a nested event loop under qasync

    def _wizard_closed(self, wizard: NewProjectWizard) -> None:
        if self.wizard is wizard:
            self.wizard = None
        wizard.deleteLater()

    async def apply_preferences(self, preferences: Preferences) -> None:
        server_changed = (preferences.server_enabled, preferences.host, preferences.port, preferences.token) != (
            self.preferences.server_enabled,
            self.preferences.host,
            self.preferences.port,
            self.preferences.token,
        )
        self.preferences = preferences
        self.settings.save_preferences(preferences)
        for session in self.sessions.values():
            session.set_stall_minutes(preferences.stall_minutes)
        if server_changed:
            await self._stop_server()
            if preferences.server_enabled:
                await self._start_server()
        self._show_server()

    # ---------------------------------------------------------------- export

    def export_report(self, session_id: str, path: str) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            return
        state = session.watcher.snapshot()
        text = report_json(state) if path.lower().endswith(".json") else report_html(state)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            self.window.statusBar().showMessage(f"Export failed: {exc.strerror or exc}", 8000)
            return
        self.window.statusBar().showMessage(f"Report saved to {path}", 6000)


def follow_system_colour_scheme(app: QApplication) -> None:
    """Fusion with a dark palette when the system asks for dark, and back when it changes."""
    app.setStyle(QStyleFactory.create("Fusion"))

    def apply(scheme: Qt.ColorScheme) -> None:
        app.setPalette(_dark_palette() if scheme == Qt.ColorScheme.Dark else app.style().standardPalette())

    hints = QGuiApplication.styleHints()
    apply(hints.colorScheme())
    hints.colorSchemeChanged.connect(apply)


def _dark_palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#333333",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d6fb4",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#333333",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
        QPalette.ColorRole.Link: "#6ea8fe",
    }
    for role, value in colors.items():
        palette.setColor(role, value)
    return palette


def make_application() -> qasync.QEventLoop:
    """The QApplication as the window wants it, and the qasync loop that runs Qt and asyncio together."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("BuildRunner Desktop")
    app.setOrganizationName("BuildRunner")
    app.setWindowIcon(QIcon.fromTheme("utilities-system-monitor"))
    follow_system_colour_scheme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop


def run_window(projects: list[str], demo: bool, mirrors: list[tuple[str, str | None]] | None = None) -> int:
    loop = make_application()
    desktop = DesktopApp(AppSettings())

    async def main() -> int:
        started = time.perf_counter()
        # Ctrl+C in the terminal (or SIGTERM) closes the window the orderly way: settings saved, threads stopped.
        restore = stop_on_signals(lambda: desktop.window.close())
        try:
            await desktop.start(projects, demo, mirrors)
            log.info("window shown in %.0f ms", (time.perf_counter() - started) * 1000)
            await desktop.closed.wait()
        finally:
            restore()
        return 0

    with loop:
        return loop.run_until_complete(main())
