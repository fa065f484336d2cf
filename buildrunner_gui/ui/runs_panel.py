"""The session's build runs, newest first: when, the command, how it ended and how long it took, live from the
store's `runs` (the snapshot's last 20, so a mirror shows the same). Enter, a double-click or "Show output"
asks for a run's output log (`log_requested`); the app opens it read-only (this panel reads no file)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..model.activity import duration, local_time
from ..model.clock import parse_iso
from ..model.run_outcome import ended_badly, run_result
from .panel import Message
from .placeholder import Placeholder

if TYPE_CHECKING:
    from ..model.store import SessionStore

COLUMNS = ("Started", "Command", "Result", "Duration")
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
EMPTY_TEXT = "No build runs yet — Start (F5) runs the project's build command"
_AnyIndex = QModelIndex | QPersistentModelIndex


class RunsModel(QAbstractTableModel):
    """One row per run, newest first."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 4:
            return COLUMNS[section]
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        run = self._rows[index.row()]
        column = index.column()
        if role == RUN_ID_ROLE:
            return run["run_id"]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                started = parse_iso(run["started_at"])
                return local_time(started) if started is not None else run["started_at"]
            if column == 1:
                return run["command"]
            if column == 2:
                return run_result(run)
            if column == 3:
                seconds = run["duration_s"]
                return duration(timedelta(seconds=seconds)) if isinstance(seconds, int | float) else "—"
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return run["command"]
        if role == Qt.ItemDataRole.ForegroundRole and column == 2 and ended_badly(run):
            return QColor("#c62828")
        return None

    def run_id_at(self, row: int) -> str | None:
        return self._rows[row]["run_id"] if 0 <= row < len(self._rows) else None

    def reset(self, runs: Sequence[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = [dict(run) for run in reversed(runs)]
        self.endResetModel()

    def update(self, runs: Sequence[dict[str, Any]]) -> None:
        """Bring the rows to `runs` (oldest first, as the store keeps them): new runs come in at the top, runs
        the store let go leave at the bottom, the rest change in place."""
        new = [dict(run) for run in reversed(runs)]
        new_ids = [run["run_id"] for run in new]
        keep = set(new_ids)
        for row in reversed(range(len(self._rows))):
            if self._rows[row]["run_id"] not in keep:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        have = {run["run_id"] for run in self._rows}
        added = [run for run in new if run["run_id"] not in have]
        if added:
            self.beginInsertRows(QModelIndex(), 0, len(added) - 1)
            self._rows[:0] = added
            self.endInsertRows()
        if [run["run_id"] for run in self._rows] != new_ids:  # not the order the store keeps: start over
            self.reset(runs)
            return
        self._rows = new
        if new:
            self.dataChanged.emit(self.index(0, 0), self.index(len(new) - 1, len(COLUMNS) - 1))


class RunsPanel(QWidget):
    log_requested = Signal(str)  # run_id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RunsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.placeholder = Placeholder(self.table, EMPTY_TEXT)
        self.show_button = QPushButton("Show output")
        self.show_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.show_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.table.activated.connect(lambda index: self._request(index.row()))
        self.show_button.clicked.connect(lambda: self._request(self.table.currentIndex().row()))
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.show_button.setEnabled(current.isValid())
        )

    def load(self, store: SessionStore) -> None:
        self.model.reset(list(store.runs.values()))

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> None:
        if any(message["type"] == "run_update" for message in batch):
            self.model.update(list(store.runs.values()))

    def _request(self, row: int) -> None:
        run_id = self.model.run_id_at(row)
        if run_id is not None:
            self.log_requested.emit(run_id)
