"""The main window: composes the project list, one view per session, menus and the status bar.

It holds no project logic: it shows what `DesktopApp` gives it and turns user commands into signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .server_status import ServerStatus
from .session_view import SessionView
from .sidebar import SessionList

_TITLE = "BuildRunner Desktop"
_STATUS_TITLES = {"failed": "failed", "in_progress": "building", "completed": "completed", "pending": "pending"}


class MainWindow(QMainWindow):
    new_project_requested = Signal()
    open_folder_requested = Signal(str)
    open_alias_requested = Signal(str)
    connect_requested = Signal()  # File → Connect to Server…
    remove_requested = Signal(str)
    export_requested = Signal(str, str)  # session_id, file path (.html or .json)
    settings_requested = Signal()
    close_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(_TITLE)
        self.resize(1200, 780)
        self.setAcceptDrops(True)
        self.sidebar = SessionList()
        self.views = QStackedWidget()
        self.empty_page = QLabel(
            "Open a BuildRunner project folder (Ctrl+O), an alias (Ctrl+Shift+O),\nor drop a folder here."
        )
        self.empty_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.views.addWidget(self.empty_page)
        self._views: dict[str, SessionView] = {}
        splitter = QSplitter()
        splitter.setObjectName("main-splitter")
        splitter.addWidget(self._sidebar_with_buttons())
        splitter.addWidget(self.views)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 980])
        self.setCentralWidget(splitter)
        self.server_status = ServerStatus()
        self.statusBar().addPermanentWidget(self.server_status)
        self.sidebar.session_selected.connect(self._show_session)
        self._quitting = False
        self._build_menus()

    def _sidebar_with_buttons(self) -> QWidget:
        """The project list with + (open a folder) and - (remove the selected project) under it."""
        self.add_button = QToolButton()
        self.add_button.setText("+")
        self.add_button.setToolTip("Open a project folder (Ctrl+O)")
        self.add_button.clicked.connect(self._ask_folder)
        self.remove_button = QToolButton()
        self.remove_button.setText("\u2212")  # a real minus sign, as wide as the plus
        self.remove_button.setToolTip("Stop monitoring the selected project (Ctrl+W)")
        self.remove_button.clicked.connect(self._remove_current)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(2, 2, 2, 2)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addLayout(buttons)
        return panel

    # ---------------------------------------------------------------- sessions

    def add_session(
        self, session_id: str, view: SessionView, name: str, status: str, percent: float, folder: str
    ) -> None:
        self._views[session_id] = view
        self.views.addWidget(view)
        self.sidebar.add_session(session_id, name, status, percent, folder)
        self.sidebar.select(session_id)

    def update_session(self, session_id: str, name: str, status: str, percent: float) -> None:
        self.sidebar.update_session(session_id, name, status, percent)

    def update_connection(self, session_id: str, connection: str, tooltip: str) -> None:
        self.sidebar.set_connection(session_id, connection, tooltip)

    def remove_session(self, session_id: str) -> None:
        view = self._views.pop(session_id, None)
        self.sidebar.remove_session(session_id)
        if view is not None:
            self.views.removeWidget(view)
            view.deleteLater()
        if not self._views:
            self.views.setCurrentWidget(self.empty_page)

    def current_session(self) -> str | None:
        return self.sidebar.current_session()

    def show_worst_status(self, status: str | None, not_live: int = 0) -> None:
        """The window title carries the worst status of all projects (failed beats building), and how many
        mirrored ones are not live (their status is as of their last contact)."""
        title = f"{_TITLE} — {_STATUS_TITLES.get(status, status)}" if status else _TITLE
        if not_live:
            title += f" · {not_live} not live"
        self.setWindowTitle(title)

    def set_recent(self, folders: list[str]) -> None:
        self.recent_menu.clear()
        for folder in folders:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _checked=False, f=folder: self.open_folder_requested.emit(f))
        self.recent_menu.setEnabled(bool(folders))

    def _show_session(self, session_id: str) -> None:
        view = self._views.get(session_id)
        if view is not None:
            self.views.setCurrentWidget(view)

    # ---------------------------------------------------------------- menus and commands

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New Project…", QKeySequence.StandardKey.New, self.new_project_requested.emit)
        self._action(file_menu, "&Open Project Folder…", QKeySequence.StandardKey.Open, self._ask_folder)
        self._action(file_menu, "Open Project by &Alias…", "Ctrl+Shift+O", self._ask_alias)
        self._action(file_menu, "&Connect to Server…", "Ctrl+K", self.connect_requested.emit)
        self.recent_menu = QMenu("Open &Recent", self)
        file_menu.addMenu(self.recent_menu)
        self._action(file_menu, "&Remove Project", "Ctrl+W", self._remove_current)
        file_menu.addSeparator()
        self._action(file_menu, "&Export Report…", "Ctrl+E", self._ask_export)
        self._action(file_menu, "&Settings…", QKeySequence.StandardKey.Preferences, self.settings_requested.emit)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Filter", QKeySequence.StandardKey.Find, self._focus_filter)
        self._action(view_menu, "&Next Project", "Ctrl+PgDown", lambda: self.sidebar.step(1))
        self._action(view_menu, "&Previous Project", "Ctrl+PgUp", lambda: self.sidebar.step(-1))

    def _action(self, menu: QMenu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _ask_folder(self) -> None:
        # open(), not exec(): a nested event loop would stall the asyncio tasks sharing this loop.
        dialog = QFileDialog(self, "Open a BuildRunner project folder")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.open_folder_requested.emit)
        dialog.open()

    def _ask_alias(self) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Open project by alias")
        dialog.setLabelText("Registered alias:")
        dialog.textValueSelected.connect(lambda text: text.strip() and self.open_alias_requested.emit(text.strip()))
        dialog.open()

    def _ask_export(self) -> None:
        session_id = self.current_session()
        if session_id is None:
            self.statusBar().showMessage("Open a project first", 4000)
            return
        dialog = QFileDialog(self, "Export report")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["HTML report (*.html)", "JSON (*.json)"])
        dialog.selectFile(f"{session_id}-report.html")
        dialog.fileSelected.connect(lambda path: self.export_requested.emit(session_id, path))
        dialog.open()

    def _remove_current(self) -> None:
        session_id = self.current_session()
        if session_id is not None:
            self.remove_requested.emit(session_id)

    def _focus_filter(self) -> None:
        view = self.views.currentWidget()
        if isinstance(view, SessionView):
            view.focus_filter()

    # ---------------------------------------------------------------- window state, drops, closing

    def restore_layout(self, geometry: QByteArray | None, state: QByteArray | None) -> None:
        if geometry:
            self.restoreGeometry(geometry)
        if state:
            self.restoreState(state)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(Path(url.toLocalFile()).is_dir() for url in event.mimeData().urls() if url.isLocalFile()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and Path(url.toLocalFile()).is_dir():
                self.open_folder_requested.emit(url.toLocalFile())
        event.acceptProposedAction()

    def allow_close(self) -> None:
        self._quitting = True

    def closeEvent(self, event: QCloseEvent) -> None:
        # The app stops watchers and the server asynchronously, then closes the window for real.
        if self._quitting:
            event.accept()
            return
        event.ignore()
        self.close_requested.emit()


def open_views(window: MainWindow) -> list[QWidget]:
    """The session views currently in the window (for tests and screenshots)."""
    widgets = [window.views.widget(i) for i in range(window.views.count())]
    return [widget for widget in widgets if widget is not window.empty_page]
