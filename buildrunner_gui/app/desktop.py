"""The composition root of the desktop app: builds the parts and wires their signals, in one place.

The parts each do one job: `SessionManager` (open and close sessions), `ServerHost` (the mirror server's
lifecycle), `Notifier` (rows, title, tray and notifications) and the background-task runner for everything
that must not run on the GUI thread. Everything runs on one qasync loop (Qt and asyncio on the GUI thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication

from ..model.broker_keys import is_broker_url
from ..report import report_html, report_json
from ..server.mirror_server import MirrorServer
from ..settings import AppSettings, Preferences
from ..sources.remote import is_stream_url
from ..sources.server_sessions import OfferedSession, fetch_sessions
from ..ui.connect_dialog import ConnectDialog
from ..ui.main_window import MainWindow
from ..ui.new_project_wizard import NewProjectWizard
from ..ui.session import Session
from ..ui.settings_dialog import SettingsDialog
from ..ui.task_runner import TaskRunner
from ..ui.tray import StatusTray
from .background import in_background
from .notifications import Notifier
from .publishing import PublishHost
from .runs import RunControl
from .server_host import ServerHost
from .sessions import SessionManager

STALL_CHECK_MS = 30_000
SERVER_STATUS_MS = 1_000


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
        self.tasks = TaskRunner(self, name="app")
        self.manager = SessionManager(self.tasks, self.preferences.stall_minutes, self)
        self.runs = RunControl(self.window, self.manager, settings)  # build runs: toolbar, keys, context menu
        self.host = ServerHost()
        self.host.controller = self.runs.answer  # serve's control routes, when a control token is set
        self.publishing = PublishHost(lambda text: self.window.statusBar().showMessage(text, 8000))
        self.notifier = Notifier(self.window, self.tray, self.manager.sessions, lambda: self.preferences)
        self.closed = asyncio.Event()
        self.wizard: NewProjectWizard | None = None
        self._demo: Any = None
        self._coroutines: set[asyncio.Task[Any]] = set()
        self._stall_timer = self._timer(STALL_CHECK_MS, self.manager.check_stalls)
        self._server_timer = self._timer(SERVER_STATUS_MS, self._show_server)
        self._connect()

    @property
    def sessions(self) -> dict[str, Session]:
        return self.manager.sessions

    @property
    def server(self) -> MirrorServer | None:
        return self.host.server

    @property
    def server_error(self) -> str:
        return self.host.error

    def _timer(self, interval_ms: int, slot: Any) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(interval_ms)
        timer.timeout.connect(slot)
        return timer

    def _connect(self) -> None:
        window, manager = self.window, self.manager
        window.open_folder_requested.connect(lambda folder: self._spawn(self.open_project(folder)))
        window.open_alias_requested.connect(lambda alias: self._spawn(self.open_project(alias)))
        window.connect_requested.connect(self.show_connect)
        window.demo_requested.connect(lambda: self._spawn(self.open_demo()))
        window.remove_requested.connect(manager.close)
        window.export_requested.connect(self.export_report)
        window.settings_requested.connect(self.show_settings)
        window.new_project_requested.connect(self.show_new_project)
        window.close_requested.connect(lambda: self.runs.confirm_quit(lambda: self._spawn(self.shutdown())))
        window.set_recent(self.settings.recent_projects())
        manager.added.connect(self._session_added)
        manager.removed.connect(self._session_removed)
        manager.status_changed.connect(self.notifier.status_changed)
        manager.liveness_changed.connect(self.notifier.liveness_changed)
        manager.alert.connect(self.notifier.alert)
        manager.opened_folder.connect(self._remember_folder)
        manager.notice.connect(lambda text: window.statusBar().showMessage(text, 8000))

    # ---------------------------------------------------------------- lifecycle

    async def start(
        self, projects: list[str], demo: bool = False, mirrors: list[tuple[str, str | None]] | None = None
    ) -> None:
        """Create the server inside the running loop (never in a constructor), then open the projects."""
        if self.preferences.server_enabled:
            await self.host.start(self.preferences)
        if self.preferences.publish_url:
            await self.publishing.start(self.preferences.publish_url)
        self.window.restore_layout(*self.settings.window_state())
        self.window.show()  # at once: sessions appear in it as they open (and each view is laid out on its own)
        restore = not (projects or demo or mirrors)  # nothing asked for: the last session's projects and mirrors
        for url, token in self.settings.open_mirrors() if restore else mirrors or []:
            self.manager.open_remote(url, token)
            await asyncio.sleep(0)  # one session's views at a time: thirty at once would freeze the window
        for project in self.settings.open_projects() if restore else projects:
            if is_stream_url(project):  # cli.md: the window takes a mirror URL wherever it takes a PROJECT
                self.manager.open_remote(project)
                await asyncio.sleep(0)
            elif is_broker_url(project):  # and a broker's: its sessions open as they are found
                self.manager.open_broker(project)
            else:
                await self.open_project(project)
        if demo:
            await self.open_demo()
        self._stall_timer.start()
        self._server_timer.start()
        self._show_server()

    async def open_demo(self) -> None:
        """The simulated build in a temporary folder (one per window: asked again, it is shown again), started as
        a run of the project's build command."""
        if self._demo is not None:
            session = self.manager.find_local(str(self._demo.folder))
            if session is not None:
                self.window.sidebar.select(session.session_id)
            return
        from ..demo import DemoBuild

        self._demo = DemoBuild.in_temporary_folder()
        await in_background(self.tasks, self._demo.prepare)  # writes the demo's files: not on the GUI thread
        session = await self.manager.open_project(str(self._demo.folder), remember=False)
        if session is None:
            return
        # The simulated build is the demo project's build command, started at once as a run (protocol.md).
        from ..demo_run import command

        self.runs.use_command(session.session_id, command(self._demo.folder))
        if session.session_id in self.runs.runners:
            self.runs.start(session.session_id)

    async def open_project(self, project: str) -> Session | None:
        session = await self.manager.open_project(project)
        if session is not None:
            self.window.sidebar.select(session.session_id)
        return session

    def quit_now(self) -> None:
        """Close without asking (a signal): running builds are cancelled by `shutdown`."""
        self._spawn(self.shutdown())

    async def shutdown(self) -> None:
        """Stop sources, the server, the demo and every timer; then let the window close."""
        if self.closed.is_set():
            return
        demo_folder = str(self._demo.folder.resolve()) if self._demo is not None else None
        local = [s.location for s in self.sessions.values() if s.source.is_local and s.location != demo_folder]
        self.settings.set_open_projects(local + list(self.manager.brokers))  # a broker reopens all its sessions
        self.settings.set_open_mirrors(self.manager.mirrors())
        self.settings.save_window_state(self.window.saveGeometry(), self.window.saveState())
        self.settings.sync()
        for timer in (self._stall_timer, self._server_timer):
            timer.stop()
        if self.wizard is not None:
            self.wizard.stop()  # cancels a running creation and waits for its rollback
        await self.runs.stop_all()  # cancels every build still running and waits until each has ended
        self.manager.close_all()
        await self.manager.close_brokers()
        if self._demo is not None:
            self._demo.cleanup()
            self._demo = None
        await self.host.stop()
        await self.publishing.stop()
        self.tasks.shutdown(wait=True)
        self.tray.hide()
        self.window.allow_close()
        self.window.close()
        self.closed.set()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._coroutines.add(task)  # keep a reference: the loop holds only weak ones
        task.add_done_callback(self._coroutines.discard)

    # ---------------------------------------------------------------- wiring sessions to their sinks

    def _session_added(self, session_id: str) -> None:
        session = self.sessions[session_id]
        self.window.add_session(
            session_id, session.view, session.name, session.status, session.percent, session.location
        )
        self.host.add(session.source)
        self.publishing.add(session.source)
        self.notifier.liveness_changed(session_id)

    def _session_removed(self, session_id: str) -> None:
        self.host.remove(session_id)
        self.publishing.remove(session_id)
        self.window.remove_session(session_id)

    def _remember_folder(self, folder: str) -> None:
        self.settings.add_recent(folder)
        self.window.set_recent(self.settings.recent_projects())

    # ---------------------------------------------------------------- the mirror server

    def _show_server(self) -> None:
        url, clients, note = self.host.status()
        note = " · ".join(filter(None, [note, self.publishing.trouble]))  # a broker away holds until it is back
        if url is None:
            self.window.server_status.show_server(None, note=note)
        else:
            self.window.server_status.show_server(url, clients, note)

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.preferences, self.window)
        dialog.saved.connect(lambda: self._spawn(self.apply_preferences(dialog.result_preferences())))
        dialog.open()

    async def apply_preferences(self, preferences: Preferences) -> None:
        before = self.preferences

        def served(p: Preferences) -> tuple[object, ...]:
            return p.server_enabled, p.host, p.port, p.token, p.serve_br3, p.allowed_origins, p.control_token

        server_changed = served(preferences) != served(before)
        self.preferences = preferences
        self.settings.save_preferences(preferences)
        self.manager.set_stall_minutes(preferences.stall_minutes)
        if self.host.server is not None:
            self.host.server.stall_minutes = preferences.stall_minutes
        if server_changed:
            await self.host.stop()
            if preferences.server_enabled:
                await self.host.start(preferences)
        if preferences.publish_url != before.publish_url:
            await self.publishing.stop()
            if preferences.publish_url:
                await self.publishing.start(preferences.publish_url)
        self._show_server()

    # ---------------------------------------------------------------- mirroring a remote server

    def show_connect(self) -> None:
        dialog = ConnectDialog(*self.settings.last_server(), parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.list_requested.connect(lambda url, token: self._list_sessions(dialog, url, token))
        dialog.connect_requested.connect(lambda urls, token: self.connect_mirrors(urls, token, dialog.url.text()))
        dialog.open()  # open(), not exec(): never a nested event loop under qasync

    def _list_sessions(self, dialog: ConnectDialog, url: str, token: str) -> None:
        """Asked off the GUI thread; the answer goes to the dialog only if it is still open."""

        def shown(offered: list[OfferedSession]) -> None:
            if shiboken6.isValid(dialog) and dialog.isVisible():
                dialog.show_sessions(offered)

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(dialog) and dialog.isVisible():
                dialog.show_error(str(exc))

        self.tasks.run(lambda: fetch_sessions(url, token or None), shown, failed)

    def connect_mirrors(self, urls: list[str], token: str, server: str = "") -> None:
        self.settings.set_last_server(server or (urls[0] if urls else ""), token)
        self._spawn(self._open_mirrors(urls, token or None))

    async def _open_mirrors(self, urls: list[str], token: str | None) -> None:
        last = None
        for url in urls:
            last = self.manager.open_remote(url, token) or last
            await asyncio.sleep(0)  # one session's views at a time, as at start
        if last is not None:
            self.window.sidebar.select(last.session_id)

    # ---------------------------------------------------------------- the new-project wizard

    def show_new_project(self) -> None:
        if self.wizard is not None:  # one wizard at a time: bring it back to the front
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        wizard = self.wizard = NewProjectWizard(self.window, tasks=self.tasks)
        wizard.project_created.connect(lambda folder: self._spawn(self.open_project(folder)))
        wizard.finished.connect(lambda _result: self._wizard_closed(wizard))
        wizard.open()  # open(), not exec(): never a nested event loop under qasync

    def _wizard_closed(self, wizard: NewProjectWizard) -> None:
        if self.wizard is wizard:
            self.wizard = None
        wizard.deleteLater()

    # ---------------------------------------------------------------- export

    def export_report(self, session_id: str, path: str) -> None:
        """Rendered and written on the background runner: a big report never freezes the window."""
        session = self.sessions.get(session_id)
        if session is None:
            return
        state = session.store.snapshot()  # built once per seq and never changed afterwards: safe to hand over

        def write() -> None:
            text = report_json(state) if path.lower().endswith(".json") else report_html(state)
            Path(path).write_text(text, encoding="utf-8")

        def failed(exc: BaseException) -> None:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.window.statusBar().showMessage(f"Export failed: {reason}", 8000)

        self.tasks.run(write, lambda _: self.window.statusBar().showMessage(f"Report saved to {path}", 6000), failed)
