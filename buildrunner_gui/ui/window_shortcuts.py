"""The window's command keys win over a focused text field: Ctrl+E exports even from a filter box.

A text field claims some keys for editing (Ctrl+E is end-of-line, Ctrl+K deletes to the end, on X11) through a
ShortcutOverride event, which would keep the window's command from firing. This object filters the events of
the window's own text fields only (each one as it first gets the focus: an application-wide filter would run
Python for every event of the app) and lets those keys through to the command; dialogs and other windows keep
their fields' keys.
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
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if isinstance(new, _TEXT_FIELDS) and new.window() is self._window:
            new.installEventFilter(self)  # once per field: installing it again only moves it to the front

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        assert isinstance(event, QKeyEvent)
        pressed = QKeySequence(event.keyCombination()).toString()
        return pressed in self._keys  # consumed unaccepted: the field does not claim it, the command fires
