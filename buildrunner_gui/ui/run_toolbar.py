"""The build controls: Start (F5), Pause/Resume (F6), Cancel (Shift+F5) and the project's build command.

A toolbar of the window, and the same actions in the project list's context menu (for the row clicked). It
holds no run logic: it shows what it is told (`show_run`) and turns clicks into signals, each with the
session it applies to.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QLineEdit, QMenu, QToolBar, QWidget

from .session_list_model import SESSION_ROLE
from .sidebar import SessionList

ACTIVE = ("starting", "running", "paused")


class RunState:
    """What the controls need to know of one session's runs."""

    def __init__(self, can_run: bool = False, state: str | None = None, cancelling: bool = False) -> None:
        self.can_run = can_run  # a local project (a mirror is read-only)
        self.state = state  # the current or last run's state, or None
        self.cancelling = cancelling

    @property
    def can_start(self) -> bool:
        return self.can_run and self.state not in ACTIVE

    @property
    def can_pause(self) -> bool:
        return self.can_run and self.state == "running" and not self.cancelling

    @property
    def can_resume(self) -> bool:
        return self.can_run and self.state == "paused" and not self.cancelling

    @property
    def can_cancel(self) -> bool:
        return self.can_run and self.state in ACTIVE and not self.cancelling


class RunToolbar(QToolBar):
    start_requested = Signal(str)  # session_id
    pause_requested = Signal(str)
    resume_requested = Signal(str)
    cancel_requested = Signal(str)
    command_edited = Signal(str, str)  # session_id, the new build command

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Build", parent)
        self.setObjectName("build-toolbar")
        self._session: str | None = None
        self._state = RunState()
        self._shown_command = ""
        self.start_action = self._action("&Start Build", "F5", lambda: self._emit(self.start_requested))
        self.pause_action = self._action("&Pause Build", "F6", self._pause_or_resume)
        self.cancel_action = self._action("&Cancel Build", "Shift+F5", lambda: self._emit(self.cancel_requested))
        self.addSeparator()
        self.addWidget(QLabel(" Build command: "))
        self.command = QLineEdit()
        self.command.setObjectName("build-command")
        self.command.setToolTip("The command Start runs in the project folder (kept per project)")
        self.command.setMinimumWidth(240)
        self.command.editingFinished.connect(self._command_finished)
        self.addWidget(self.command)
        self.state_label = QLabel()
        self.addWidget(self.state_label)
        self.show_run(None, RunState(), "")

    def _action(self, text: str, key: str, slot) -> QAction:
        action = QAction(text.replace("&", ""), self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{text.replace('&', '')} ({key})")
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    @property
    def session_id(self) -> str | None:
        """The session the controls apply to (the selected one)."""
        return self._session

    def actions_for_window(self) -> list[QAction]:
        return [self.start_action, self.pause_action, self.cancel_action]

    # ---------------------------------------------------------------- shown

    def show_run(self, session_id: str | None, state: RunState, command: str) -> None:
        """The controls of `session_id` (the selected project): which actions apply, and its command."""
        changed_session = session_id != self._session
        self._session = session_id
        self._state = state
        self.start_action.setEnabled(state.can_start)
        if state.can_resume:
            self.pause_action.setText("Resume Build")
            self.pause_action.setEnabled(True)
        else:
            self.pause_action.setText("Pause Build")
            self.pause_action.setEnabled(state.can_pause)
        self.cancel_action.setEnabled(state.can_cancel)
        if changed_session or not self.command.hasFocus():  # never under the user's typing
            self.command.setText(command)
            self._shown_command = command
        self.command.setEnabled(state.can_run)
        shown = state.state.replace("_", " ") if state.state else ""
        self.state_label.setText(f"  {shown}" if shown else "")

    # ---------------------------------------------------------------- commands

    def _emit(self, signal: Signal) -> None:  # type: ignore[type-arg]
        if self._session is not None:
            signal.emit(self._session)  # type: ignore[attr-defined]

    def _pause_or_resume(self) -> None:
        self._emit(self.resume_requested if self._state.can_resume else self.pause_requested)

    def _command_finished(self) -> None:
        text = self.command.text().strip()
        if self._session is not None and text and text != self._shown_command and self._state.can_run:
            self._shown_command = text
            self.command_edited.emit(self._session, text)

    def context_menu(self, session_id: str, state: RunState) -> QMenu:
        """The build actions for one row of the project list (its own session, not the selected one)."""
        menu = QMenu(self)
        entries = (
            ("Start Build", state.can_start, self.start_requested),
            ("Resume Build" if state.can_resume else "Pause Build", state.can_resume or state.can_pause, None),
            ("Cancel Build", state.can_cancel, self.cancel_requested),
        )
        for text, enabled, signal in entries:
            action = menu.addAction(text)
            action.setEnabled(enabled)
            if signal is None:
                toggle = self.resume_requested if state.can_resume else self.pause_requested
                action.triggered.connect(lambda _checked=False, s=toggle: s.emit(session_id))
            else:
                action.triggered.connect(lambda _checked=False, s=signal: s.emit(session_id))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return menu


def attach_context_menu(sidebar: SessionList, open_menu: Callable[[str, QPoint], None]) -> None:
    """The project list's context menu: `open_menu(session_id, global_pos)` for the row under the cursor."""
    sidebar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def requested(pos: QPoint) -> None:
        index = sidebar.indexAt(pos)
        if index.isValid():
            open_menu(index.data(SESSION_ROLE), sidebar.viewport().mapToGlobal(pos))

    sidebar.customContextMenuRequested.connect(requested)
