"""The list of monitored projects: a status icon and the percent of each (a list view over SessionListModel)."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Signal
from PySide6.QtWidgets import QListView, QWidget

from .session_list_model import SESSION_ROLE, SessionListModel, SessionRow


class SessionList(QListView):
    session_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sessions = SessionListModel(self)
        self.setModel(self.sessions)
        self.setMinimumWidth(180)
        self.setAccessibleName("Projects")
        self.setUniformItemSizes(True)
        self.selectionModel().currentChanged.connect(self._on_current)

    def add_session(self, session_id: str, name: str, status: str, percent: float, tooltip: str) -> None:
        self.sessions.add(session_id, SessionRow(name, status, percent, tooltip))
        if self.count() == 1:
            self.select(session_id)

    def update_session(self, session_id: str, name: str, status: str, percent: float) -> None:
        self.sessions.update(session_id, name, status, percent)

    def set_connection(self, session_id: str, connection: str, tooltip: str) -> None:
        self.sessions.set_connection(session_id, connection, tooltip)

    def remove_session(self, session_id: str) -> None:
        self.sessions.remove(session_id)

    def count(self) -> int:
        return self.sessions.rowCount()

    def session_ids(self) -> list[str]:
        return self.sessions.keys()

    def current_session(self) -> str | None:
        index = self.currentIndex()
        return index.data(SESSION_ROLE) if index.isValid() else None

    def select(self, session_id: str) -> None:
        row = self.sessions.row_of(session_id)
        if row is not None:
            self._set_current_row(row)

    def step(self, delta: int) -> None:
        """Next/previous project, wrapping around."""
        if self.count():
            current = self.currentIndex()
            self._set_current_row(((current.row() if current.isValid() else -1) + delta) % self.count())

    def _set_current_row(self, row: int) -> None:
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
        self.selectionModel().setCurrentIndex(self.sessions.index(row, 0), flags)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.session_selected.emit(current.data(SESSION_ROLE))
