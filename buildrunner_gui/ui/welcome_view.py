"""What the window shows with no project open: what the app does, and one button for each way to begin."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomeView(QWidget):
    new_project = Signal()
    open_folder = Signal()
    open_alias = Signal()
    connect_server = Signal()
    try_demo = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Watch a BuildRunner build live")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(
            "BuildRunner writes its build's state into a project's .buildrunner/ folder: checkpoints, features, "
            "documents and logs. Open a project to see what its build is doing, or connect to another machine's "
            "build. Folders can also be dropped here."
        )
        intro.setWordWrap(True)
        intro.setMaximumWidth(560)
        self.buttons: dict[str, QPushButton] = {}
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (title, intro):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        for key, text, shortcut, signal in (
            ("demo", "Try the &Demo", "", self.try_demo),
            ("new", "&New Project…", "Ctrl+N", self.new_project),
            ("folder", "&Open Project Folder…", "Ctrl+O", self.open_folder),
            ("alias", "Open Project by &Alias…", "Ctrl+Shift+O", self.open_alias),
            ("connect", "&Connect to Server…", "Ctrl+K", self.connect_server),
        ):
            button = QPushButton(text + (f"   ({shortcut})" if shortcut else ""))
            button.setMinimumWidth(300)
            button.clicked.connect(signal.emit)
            self.buttons[key] = button
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.buttons["demo"].setDefault(True)
        self.buttons["demo"].setToolTip("A simulated build in a temporary folder: about a minute, from start to finish")
        layout.addStretch(2)
