"""Build runs in the window: one `BuildRunner` per local session, its controls, and asking before quitting.

The runner of a session publishes into that session's store through its source (so the window's panels and
the mirror server get its output and its `run_update`s like any other event). A mirrored session has no
runner: it is read-only. The build command is kept per project folder in the app's settings.

`start`/`pause`/`resume`/`cancel` are what the toolbar, the context menu and the server's control routes call
(on the GUI thread): each returns the `run_update` it produced or raises `RunRefused` (a one-line reason) or
`KeyError` (no such session, or a mirrored one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QMessageBox

from ..model.messages import Message
from ..runner.build_run import DEFAULT_COMMAND, BuildRunner, RunRefused, act
from ..runner.history import LOG_SHOWN_BYTES, RunHistory, past_run_events, read_log
from ..settings import AppSettings
from ..ui.main_window import MainWindow
from ..ui.run_log_viewer import RunLogViewer
from ..ui.run_toolbar import RunState, RunToolbar, attach_context_menu
from .sessions import SessionManager

STOP_WAIT_S = 8.0  # SIGKILL comes 5 s after SIGTERM: a run being cancelled has ended by then

__all__ = ["RunControl", "RunRefused"]


class RunControl(QObject):
    changed = Signal(str)  # session_id: its run's state (so which actions apply) changed

    def __init__(
        self, window: MainWindow, manager: SessionManager, settings: AppSettings, history: RunHistory | None = None
    ) -> None:
        super().__init__(window)
        self.history = history or RunHistory()  # every run and its output, in the app's data folder
        self._window = window
        self._manager = manager
        self._settings = settings
        self.runners: dict[str, BuildRunner] = {}
        self._commands: dict[str, str] = {}  # a session's own build command, never kept in settings (the demo's)
        self._leaving: set[BuildRunner] = set()  # runners of removed sessions, until their run has ended
        self.toolbar = RunToolbar(window)
        window.addToolBar(self.toolbar)
        for action in self.toolbar.actions_for_window():
            window.addAction(action)  # the keys work wherever the focus is in the window
        self.toolbar.start_requested.connect(lambda sid: self._act(self.start, sid))
        self.toolbar.pause_requested.connect(lambda sid: self._act(self.pause, sid))
        self.toolbar.resume_requested.connect(lambda sid: self._act(self.resume, sid))
        self.toolbar.cancel_requested.connect(lambda sid: self._act(self.cancel, sid))
        self.toolbar.command_edited.connect(self.set_command)
        attach_context_menu(window.sidebar, self._context_menu)
        window.sidebar.session_selected.connect(self._show)
        manager.added.connect(self._added)
        manager.removed.connect(self._removed)
        self.changed.connect(self._changed)

    # ---------------------------------------------------------------- per session

    def _added(self, session_id: str) -> None:
        session = self._manager.sessions.get(session_id)
        if session is not None:
            session.view.runs.log_requested.connect(lambda run_id: self.show_log(session_id, run_id))
        publish = getattr(session.source, "publish", None) if session is not None else None
        if session is None or not session.source.is_local or publish is None:
            return
        past = past_run_events(self.history, session.location)
        if past:  # the runs recorded before: the snapshot's `runs`, so the overview and its mirrors know them
            publish(past)
        runner = BuildRunner(session.location, self.history.recorder(session.location, publish), self)
        runner.changed.connect(lambda: self.changed.emit(session_id))
        self.runners[session_id] = runner
        if session_id == self._window.current_session():
            self._show(session_id)

    def _removed(self, session_id: str) -> None:
        if self.toolbar.session_id == session_id:  # until another one is selected, the controls apply to none
            self.toolbar.show_run(None, RunState(), "")
        self._commands.pop(session_id, None)
        runner = self.runners.pop(session_id, None)
        if runner is None:
            return
        if not runner.active:
            runner.deleteLater()
            return
        self._leaving.add(runner)  # its build is cancelled; the runner goes once the build has ended
        runner.changed.connect(lambda: self._left(runner))
        if runner.can_cancel:
            runner.cancel()

    def _left(self, runner: BuildRunner) -> None:
        if not runner.active and runner in self._leaving:
            self._leaving.discard(runner)
            runner.deleteLater()

    def use_command(self, session_id: str, command: str) -> None:
        """Give a session a build command of its own for as long as it is open (the demo's simulated build)."""
        self._commands[session_id] = command
        if self.toolbar.session_id == session_id:
            self._show(session_id)

    def command(self, session_id: str) -> str:
        session = self._manager.sessions.get(session_id)
        if session is None:
            return DEFAULT_COMMAND
        if session_id in self._commands:
            return self._commands[session_id]
        return self._settings.build_command(session.location, DEFAULT_COMMAND)

    def set_command(self, session_id: str, command: str) -> None:
        session = self._manager.sessions.get(session_id)
        if session is not None and command.strip():
            self._settings.set_build_command(session.location, command.strip())

    def state(self, session_id: str) -> RunState:
        runner = self.runners.get(session_id)
        if runner is None:
            return RunState()
        return RunState(True, runner.state, runner.active and not runner.can_cancel)

    # ---------------------------------------------------------------- actions

    def _runner(self, session_id: str) -> BuildRunner:
        runner = self.runners.get(session_id)
        if runner is None:
            raise KeyError(session_id)
        return runner

    def start(self, session_id: str) -> Message:
        return self._runner(session_id).start(self.command(session_id))

    def pause(self, session_id: str) -> Message:
        return self._runner(session_id).pause()

    def resume(self, session_id: str) -> Message:
        return self._runner(session_id).resume()

    def cancel(self, session_id: str) -> Message:
        return self._runner(session_id).cancel()

    def answer(self, action: str, session_id: str) -> Message | str | None:
        """A build action asked through the mirror server: its `run_update`, the reason it does not apply, or
        None (no such session, or a mirrored one)."""
        runner = self.runners.get(session_id)
        if runner is None:
            return None
        return act(runner, action, self.command(session_id))

    def _act(self, action: Callable[[str], Message], session_id: str) -> None:
        try:
            action(session_id)
        except (RunRefused, KeyError) as exc:
            reason = str(exc) if isinstance(exc, RunRefused) else "this project cannot run builds (a mirror)"
            self._window.statusBar().showMessage(reason, 6000)

    # ---------------------------------------------------------------- a past run's output

    def show_log(self, session_id: str, run_id: str) -> RunLogViewer | None:
        """The run's output log, read-only (a mirrored session's runs keep theirs on the machine that ran them)."""
        session = self._manager.sessions.get(session_id)
        if session is None:
            return None
        if session.source.is_local:
            text = read_log(self.history.log_path(session.location, run_id), LOG_SHOWN_BYTES)
        else:
            text = None
        if text is None:
            text = "(no output log of this run here: a run's output is kept on the machine that ran it)"
        viewer = RunLogViewer(f"Output of run {run_id} — {session.name}", text, self._window)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.show()
        self.log_viewer = viewer  # for tests
        return viewer

    # ---------------------------------------------------------------- shown

    def _changed(self, session_id: str) -> None:
        if session_id == self._window.current_session():
            self._show(session_id)

    def _show(self, session_id: str) -> None:
        self.toolbar.show_run(session_id, self.state(session_id), self.command(session_id))

    def _context_menu(self, session_id: str, where: QPoint) -> None:
        menu = self.toolbar.context_menu(session_id, self.state(session_id))
        menu.popup(where)

    # ---------------------------------------------------------------- quitting

    def active_runs(self) -> list[str]:
        return [sid for sid, runner in self.runners.items() if runner.active]

    def confirm_quit(self, quit_now: Callable[[], None]) -> None:
        """Quit at once when no build runs; else ask first (open(), never exec()), and on yes quit (the runs
        are cancelled by `stop_all` during the shutdown)."""
        active = self.active_runs()
        if not active:
            quit_now()
            return
        names = ", ".join(self._manager.sessions[sid].name for sid in active if sid in self._manager.sessions)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "A build is running",
            f"A build is still running ({names}). Quit and cancel it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self._window,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        yes = box.button(QMessageBox.StandardButton.Yes)
        yes.setText("Cancel build and quit")
        box.button(QMessageBox.StandardButton.No).setText("Keep running")
        box.buttonClicked.connect(lambda button: quit_now() if button is yes else None)
        self.quit_box: QMessageBox | None = box  # for tests
        box.open()

    async def stop_all(self) -> None:
        """Cancel every active run and wait (bounded) until each has ended: no build is left behind."""
        runners = [r for r in (*self.runners.values(), *self._leaving) if r.active]
        for runner in runners:
            if runner.can_cancel:
                runner.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_WAIT_S
        while any(r.active for r in runners) and loop.time() < deadline:
            done: asyncio.Future[Any] = loop.create_future()
            callbacks = []
            for runner in runners:

                def ended(future: asyncio.Future[Any] = done) -> None:
                    if not future.done():
                        future.set_result(None)

                runner.changed.connect(ended)
                callbacks.append((runner, ended))
            try:
                await asyncio.wait_for(done, max(0.0, deadline - loop.time()))
            except TimeoutError:
                pass
            finally:
                for runner, ended in callbacks:
                    runner.changed.disconnect(ended)
        for runner in runners:
            if runner.active and runner.pgid:  # past every wait: SIGKILL, so nothing outlives the app
                runner.kill_now()
