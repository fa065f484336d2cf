"""The window's command keys win over a focused text field: Ctrl+E exports even from a filter box.

A text field claims some keys for editing (Ctrl+E is end-of-line, Ctrl+K deletes to the end, Ctrl+W a word, on
X11) through a ShortcutOverride event, which would keep the window's command from firing. This filter answers
those events first, for the window's own fields only, so the command's shortcut goes through; dialogs and other
windows keep their fields' keys.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

_TEXT_FIELDS = (QLineEdit, QPlainTextEdit, QTextEdit)


class WindowShortcuts(QObject):
    def __init__(self, window: QWidget, keys: list[QKeySequence]) -> None:
        super().__init__(window)
        self._window = window
        self._keys = {key.toString() for key in keys}
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(watched, _TEXT_FIELDS):
            return False
        if watched.window() is not self._window:
            return False
        assert isinstance(event, QKeyEvent)
        pressed = QKeySequence(event.keyCombination()).toString()
        return pressed in self._keys  # consumed unaccepted: the field does not claim it, the command fires
