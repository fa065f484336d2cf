"""Table model of recent file changes and errors, newest first: its rows are the store's own rows.

The store keeps the last 200 file changes and the last 100 errors (the snapshot's bounds); this model shows
exactly those. Those rows have no ids, so the model holds references to the store's row dicts (never copies or
changes them): a batch's new rows go on top as one inserted range, and rows the store let go are removed as ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QIcon

from ..model.store import ERROR_EVENTS, FILE_EVENTS
from .burnup_chart import parse_timestamp
from .keyed_model import runs
from .status_style import failure_text_color
from .when import ago

if TYPE_CHECKING:
    from ..model.store import SessionStore

AnyIndex = QModelIndex | QPersistentModelIndex
Message = dict[str, Any]
Row = dict[str, Any]

FILE_ROWS = FILE_EVENTS
ERROR_ROWS = ERROR_EVENTS
COLUMNS = ("Time", "Kind", "Path", "Detail")
COL_TIME, COL_KIND, COL_PATH, COL_DETAIL = range(4)
KIND_ROLE = int(Qt.ItemDataRole.UserRole)  # "file" or "error", on every column
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


def _seconds(row: Row) -> float:
    moment = parse_timestamp(row.get("timestamp"))
    return moment.timestamp() if moment else 0.0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _unseen(rows: Sequence[Row], seen: set[int]) -> list[Row]:
    """The rows at the end of a store deque that this model has not shown yet, oldest first."""
    fresh: list[Row] = []
    for row in reversed(rows):
        if id(row) in seen:
            break
        fresh.append(row)
    fresh.reverse()
    return fresh


class ActivityTableModel(QAbstractTableModel):
    def __init__(self, icons: dict[str, QIcon], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._icons = icons
        self._rows: list[tuple[str, Row]] = []  # (kind, the store's row), newest first
        self._seen: set[int] = set()  # id() of the rows held: unique while the model holds them
        self._bold = QFont()
        self._bold.setBold(True)
        self.failed_color = failure_text_color()  # error rows: red, bold and with the error icon

    def load(self, store: SessionStore) -> None:
        events = [("file", row) for row in store.files] + [("error", row) for row in store.errors]
        # Oldest first, then reversed so the newest is on top. The sort is stable: at one moment a file change
        # stays below its error (the engine reports an unreadable file's change, then the error).
        events.sort(key=lambda event: _seconds(event[1]))
        self.beginResetModel()
        self._rows = events[::-1]
        self._seen = {id(row) for _, row in events}
        self.endResetModel()

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> None:
        files, errors = _unseen(store.files, self._seen), _unseen(store.errors, self._seen)
        if files or errors:
            self._drop_gone(store)
            self._add(_in_batch_order(batch, files, errors))

    def _drop_gone(self, store: SessionStore) -> None:
        """Remove the rows the store no longer keeps (its oldest, past its bounds), as ranges."""
        kept = {id(row) for row in store.files} | {id(row) for row in store.errors}
        gone = [index for index, (_, row) in enumerate(self._rows) if id(row) not in kept]
        for first, last in reversed(runs(gone)):
            self.beginRemoveRows(QModelIndex(), first, last)
            for _, row in self._rows[first : last + 1]:
                self._seen.discard(id(row))
            del self._rows[first : last + 1]
            self.endRemoveRows()

    def _add(self, events: list[tuple[str, Row]]) -> None:
        if not events:
            return
        self.beginInsertRows(QModelIndex(), 0, len(events) - 1)
        self._rows[0:0] = events[::-1]
        self._seen.update(id(row) for _, row in events)
        self.endInsertRows()

    # ------------------------------------------------------------------ lookups

    def kind_at(self, row: int) -> str:
        return self._rows[row][0]

    def count(self, kind: str | None = None) -> int:
        return sum(1 for event_kind, _ in self._rows if kind in (None, event_kind))

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return COLUMNS[section] if 0 <= section < len(COLUMNS) else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        kind, row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(kind, row, column)
        if role == KIND_ROLE:
            return kind
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icons.get(kind) if column == COL_KIND else None
        if role == Qt.ItemDataRole.FontRole:
            return self._bold if kind == "error" else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.failed_color if kind == "error" else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_TIME:
                moment = parse_timestamp(row.get("timestamp"))
                return f"{moment.astimezone().isoformat(timespec='seconds')} ({ago(moment)})" if moment else None
            if column == COL_DETAIL:
                return _cell(kind, row, column)
        return None


def _cell(kind: str, row: Row, column: int) -> str:
    if column == COL_TIME:
        moment = parse_timestamp(row.get("timestamp"))
        return moment.astimezone().strftime("%H:%M:%S") if moment else ""
    if column == COL_PATH:
        return str(row.get("file_path") or "")
    if kind == "error":
        if column == COL_KIND:
            return f"error: {row.get('error_type') or 'error'}"
        return _one_line(str(row.get("error_message") or ""))
    return str(row.get("change_type") or "") if column == COL_KIND else str(row.get("file_type") or "")


def _in_batch_order(batch: Iterable[Message], files: list[Row], errors: list[Row]) -> list[tuple[str, Row]]:
    """The new rows in the order of the batch's messages (file changes found by a scan have no row).

    When the batch held more than the store keeps, only the last ones have rows: the first messages are skipped."""
    file_messages = [m for m in batch if m["type"] == "file_change" and not m.get("scan")]
    error_messages = [m for m in batch if m["type"] == "error"]
    last_files = file_messages[max(0, len(file_messages) - len(files)) :]
    last_errors = error_messages[max(0, len(error_messages) - len(errors)) :]
    # Not strict: a length mismatch is caught just below.
    rows = {id(m): ("file", row) for m, row in zip(last_files, files, strict=False)}
    rows.update({id(m): ("error", row) for m, row in zip(last_errors, errors, strict=False)})
    ordered = [rows[id(m)] for m in batch if id(m) in rows]
    if len(ordered) != len(files) + len(errors):  # the store and the batch disagree (not expected): newest last
        ordered = [("file", row) for row in files] + [("error", row) for row in errors]
        ordered.sort(key=lambda event: _seconds(event[1]))
    return ordered
