"""The list of monitored projects: a status icon and the percent of each."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from .status_style import status_icon

_STATUS_WORDS = {"completed": "completed", "in_progress": "building", "pending": "pending", "failed": "failed"}


class SessionList(QListWidget):
    session_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(180)
        self.setAccessibleName("Projects")
        self.currentItemChanged.connect(self._on_current)

    def add_session(self, session_id: str, name: str, status: str, percent: float, tooltip: str) -> None:
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, session_id)
        item.setToolTip(tooltip)
        self.addItem(item)
        self.update_session(session_id, name, status, percent)
        if self.count() == 1:
            self.setCurrentItem(item)

    def update_session(self, session_id: str, name: str, status: str, percent: float) -> None:
        item = self._item(session_id)
        if item is None:
            return
        item.setText(f"{name}\n{percent:.1f}% · {_STATUS_WORDS.get(status, status)}")
        item.setIcon(status_icon(status, 20))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{name}, {percent:.0f} percent, {status}")

    def remove_session(self, session_id: str) -> None:
        item = self._item(session_id)
        if item is not None:
            self.takeItem(self.row(item))

    def current_session(self) -> str | None:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, session_id: str) -> None:
        item = self._item(session_id)
        if item is not None:
            self.setCurrentItem(item)

    def step(self, delta: int) -> None:
        """Next/previous project, wrapping around."""
        if self.count():
            self.setCurrentRow((self.currentRow() + delta) % self.count())

    def _item(self, session_id: str) -> QListWidgetItem | None:
        for row in range(self.count()):
            item = self.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == session_id:
                return item
        return None

    def _on_current(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None:
            self.session_selected.emit(current.data(Qt.ItemDataRole.UserRole))
