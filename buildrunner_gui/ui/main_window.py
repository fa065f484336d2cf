"""The main window: composes the project list, one view per session, menus and the status bar.

It holds no project logic: it shows what `DesktopApp` gives it and turns user commands into signals.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from .app_icon import app_icon
from .server_status import ServerStatus
from .session_view import SessionView
from .sidebar import SessionList
from .welcome_view import WelcomeView
from .window_shortcuts import WindowShortcuts

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
    demo_requested = Signal()
    close_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(_TITLE)
        self.resize(1200, 780)
        self.setAcceptDrops(True)
        self.sidebar = SessionList()
        self.views = QStackedWidget()
        self.empty_page = WelcomeView()
        self.empty_page.new_project.connect(self.new_project_requested.emit)
        self.empty_page.open_folder.connect(self._ask_folder)
        self.empty_page.open_alias.connect(self._ask_alias)
        self.empty_page.connect_server.connect(self.connect_requested.emit)
        self.empty_page.try_demo.connect(self.demo_requested.emit)
        self.views.addWidget(self.empty_page)
        self.views.currentChanged.connect(self._on_screen_changed)
        self._on_screen: SessionView | None = None
        self._folders: dict[str, str] = {}  # where each session comes from: a folder, or "mirror of HOST:PORT"
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
        self._folders[session_id] = folder
        self.views.addWidget(view)
        view.set_on_screen(self.views.currentWidget() is view)
        # The first one is shown; later ones only when asked for (the app selects what the user opened):
        # showing each of thirty restored sessions in turn would lay out thirty views for nothing.
        self.sidebar.add_session(session_id, name, status, percent, folder)

    def update_session(self, session_id: str, name: str, status: str, percent: float) -> None:
        self.sidebar.update_session(session_id, name, status, percent)

    def update_connection(self, session_id: str, connection: str, tooltip: str) -> None:
        self.sidebar.set_connection(session_id, connection, tooltip)

    def remove_session(self, session_id: str) -> None:
        view = self._views.pop(session_id, None)
        self._folders.pop(session_id, None)
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

    def _on_screen_changed(self, _index: int) -> None:
        """Only the session on screen redraws its overview on every batch; the others catch up when shown."""
        shown = self.views.currentWidget()
        if self._on_screen is not None and self._on_screen is not shown and self._on_screen in self._views.values():
            self._on_screen.set_on_screen(False)
        self._on_screen = shown if isinstance(shown, SessionView) else None
        if self._on_screen is not None:
            self._on_screen.set_on_screen(True)

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
        # Qt has no Preferences key on Linux and Windows: Ctrl+, everywhere, as the README promises.
        self._action(file_menu, "&Settings…", "Ctrl+,", self.settings_requested.emit)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", "Ctrl+Q", self.close)
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Filter", "Ctrl+F", self._focus_filter)
        self._action(view_menu, "&Next Project", "Ctrl+PgDown", lambda: self.sidebar.step(1))
        self._action(view_menu, "&Previous Project", "Ctrl+PgUp", lambda: self.sidebar.step(-1))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard Shortcuts", "F1", self._show_shortcuts)
        self._action(help_menu, "&About BuildRunner Desktop", "", self._show_about)
        self._window_keys = WindowShortcuts(self, [a.shortcut() for a in self.actions() if not a.shortcut().isEmpty()])

    def _action(self, menu: QMenu, text: str, shortcut: str, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(key, what it does) for every command with a key, in menu order."""
        return [
            (a.shortcut().toString(QKeySequence.SequenceFormat.NativeText), a.text().replace("&", "").rstrip("…"))
            for a in self.actions()
            if not a.shortcut().isEmpty()
        ]

    def _show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{escape(key)}</b></td><td>{escape(text)}</td></tr>" for key, text in
                       self.shortcut_table())  # fmt: skip
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard Shortcuts", f"<table cellspacing=6>{rows}</table>",
                          QMessageBox.StandardButton.Close, self)  # fmt: skip
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _show_about(self) -> None:
        address = self.server_status.address or "off"
        text = (
            f"<h3>BuildRunner Desktop {escape(__version__)}</h3>"
            "<p>Watch BuildRunner builds live: components, features, checkpoints, documents, logs.</p>"
            f"<p>Mirror server: {escape(address)}</p>"
            '<p><a href="https://github.com/DockeryAI/BuildRunner3">BuildRunner on GitHub</a></p>'
        )
        box = QMessageBox(QMessageBox.Icon.NoIcon, "About BuildRunner Desktop", text,
                          QMessageBox.StandardButton.Close, self)  # fmt: skip
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

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
        folder = self._folders.get(session_id, "")
        if Path(folder).is_absolute():  # a local project: start where it is (a mirror's location is no folder)
            dialog.setDirectory(folder)
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
