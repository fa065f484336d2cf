"""Table model of the checkpoint history, newest first: rows are checkpoint ids, data is the store's rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from .burnup_chart import parse_timestamp
from .keyed_model import KeyedTableModel

if TYPE_CHECKING:
    from ..model.store import SessionStore

AnyIndex = QModelIndex | QPersistentModelIndex
Message = dict[str, Any]

COLUMNS = ("ID", "Phase", "Time", "Status")
COL_ID, COL_PHASE, COL_TIME, COL_STATUS = range(4)
ROLLED_BACK = "rolled_back"
ID_ROLE = int(Qt.ItemDataRole.UserRole)
_DISPLAY = Qt.ItemDataRole.DisplayRole


def local_time(text: str | None) -> str:
    moment = parse_timestamp(text)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _rolled_back_font() -> QFont:
    font = QFont()
    font.setStrikeOut(True)
    font.setItalic(True)
    return font


class CheckpointTableModel(KeyedTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store: SessionStore | None = None
        self._struck = _rolled_back_font()
        self.dimmed = QColor()  # the view's disabled text colour, set by the panel

    def load(self, store: SessionStore) -> None:
        self._store = store
        self.reset_keys(_newest_first(store))

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> dict[str, None]:
        """The batch's `checkpoint_update` messages; returns the ids they touched."""
        touched = {m["checkpoint_id"]: None for m in batch if m["type"] == "checkpoint_update"}
        if touched:
            self._store = store
            self.sync_keys(_newest_first(store), touched)
        return touched

    def row_at(self, row: int) -> dict[str, Any] | None:
        """The store's row (None while a removed row is on its way out)."""
        return None if self._store is None else self._store.checkpoints.get(self._keys[row])

    # ------------------------------------------------------------------ Qt model API

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        record = self.row_at(index.row())
        if record is None:
            return None
        column = index.column()
        rolled_back = record.get("status") == ROLLED_BACK
        if role == _DISPLAY:
            return _cell(record, column, rolled_back)
        if role == ID_ROLE:
            return record["checkpoint_id"]
        # Rolled-back rows: struck out, italic and dimmed, so the mark does not depend on colour alone.
        if role == Qt.ItemDataRole.FontRole:
            return self._struck if rolled_back else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.dimmed if rolled_back and self.dimmed.isValid() else None
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_STATUS:
            return "Rolled back: kept in the history, not counted" if rolled_back else str(record.get("status") or "")
        return None


def _cell(record: dict[str, Any], column: int, rolled_back: bool) -> str:
    if column == COL_ID:
        return str(record["checkpoint_id"])
    if column == COL_PHASE:
        return str(record.get("phase") or "")
    if column == COL_TIME:
        return local_time(record.get("timestamp"))
    return "↩ rolled back" if rolled_back else str(record.get("status") or "")


def _newest_first(store: SessionStore) -> list[str]:
    return [row["checkpoint_id"] for row in reversed(store.ordered_checkpoints())]
