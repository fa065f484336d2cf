"""List model of the monitored sessions: one row per session id, with its name, status and percent, and for a
mirror that is not live, why (the row is greyed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QPalette

from .keyed_model import KeyedTableModel
from .status_style import status_icon

AnyIndex = QModelIndex | QPersistentModelIndex

SESSION_ROLE = int(Qt.ItemDataRole.UserRole)
STATUS_WORDS = {"completed": "completed", "in_progress": "building", "pending": "pending", "failed": "failed"}


@dataclass(frozen=True)
class SessionRow:
    name: str
    status: str
    percent: float
    tooltip: str
    connection: str = ""  # a mirror that is not live: why ("reconnecting in 9 s"); "" when live or local


class SessionListModel(KeyedTableModel):
    """What the sidebar shows of each session: the app hands over each change (sessions have no common store)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sessions: dict[str, SessionRow] = {}

    def add(self, session_id: str, row: SessionRow) -> None:
        self._sessions[session_id] = row
        if self.row_of(session_id) is None:
            self.sync_keys([*self._keys, session_id])
        else:
            self.report_changed([session_id])

    def update(self, session_id: str, name: str, status: str, percent: float) -> None:
        old = self._sessions.get(session_id)
        if old is None:
            return
        new = SessionRow(name, status, percent, old.tooltip, old.connection)
        if new != old:
            self._sessions[session_id] = new
            self.report_changed([session_id])

    def set_connection(self, session_id: str, connection: str, tooltip: str) -> None:
        old = self._sessions.get(session_id)
        if old is None:
            return
        new = SessionRow(old.name, old.status, old.percent, tooltip, connection)
        if new != old:
            self._sessions[session_id] = new
            self.report_changed([session_id])

    def remove(self, session_id: str) -> None:
        if self._sessions.pop(session_id, None) is not None:
            self.sync_keys([key for key in self._keys if key != session_id])

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else 1

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        session_id = self._keys[index.row()]
        if role == SESSION_ROLE:
            return session_id
        row = self._sessions.get(session_id)
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            line = f"{row.name}\n{row.percent:.1f}% · {STATUS_WORDS.get(row.status, row.status)}"
            return f"{line} · {row.connection}" if row.connection else line
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(row.status, 20)
        if role == Qt.ItemDataRole.ForegroundRole and row.connection:
            return QPalette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)  # stale: greyed
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip
        if role == Qt.ItemDataRole.AccessibleTextRole:
            stale = f", not live: {row.connection}" if row.connection else ""
            return f"{row.name}, {row.percent:.0f} percent, {row.status}{stale}"
        return None
