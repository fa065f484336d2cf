"""Table model of the checkpoint history, newest first: rows are checkpoint ids, data is the store's rows.

Each row shows a status mark first: failed (an `error`, a failed status, or a phase that says it failed: red,
with the failed icon), rolled back (struck out), the current checkpoint (the latest one not rolled back: the
build's state), or saved; then the phase, the local time and how many tasks and files it lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon

from ..model.failure_lines import checkpoint_failure
from .burnup_chart import parse_timestamp
from .keyed_model import KeyedTableModel
from .status_style import failure_text_color, status_icon
from .when import ago

if TYPE_CHECKING:
    from ..model.store import SessionStore

AnyIndex = QModelIndex | QPersistentModelIndex
Message = dict[str, Any]

COLUMNS = ("Status", "Phase", "Time", "Tasks", "Files")
COL_STATUS, COL_PHASE, COL_TIME, COL_TASKS, COL_FILES = range(5)
ROLLED_BACK = "rolled_back"
ID_ROLE = int(Qt.ItemDataRole.UserRole)
MARK_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # "failed", "rolled_back", "current" or "saved", on every column
_DISPLAY = Qt.ItemDataRole.DisplayRole
_NUMBER_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

# The status mark: its word, the status icon drawn for it, and what its tooltip says.
MARKS: dict[str, tuple[str, str, str]] = {
    "failed": ("Failed", "failed", "This checkpoint failed"),
    "rolled_back": ("Rolled back", "pending", "Rolled back: kept in the history, not counted"),
    "current": ("Current", "in_progress", "The latest checkpoint: the build's current state"),
    "saved": ("Saved", "completed", "An earlier checkpoint"),
}


def local_time(text: str | None) -> str:
    moment = parse_timestamp(text)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _rolled_back_font() -> QFont:
    font = QFont()
    font.setStrikeOut(True)
    font.setItalic(True)
    return font


def checkpoint_mark(record: dict[str, Any], current_id: str | None, failed: bool | None = None) -> str:
    """The row's status mark: `failed`, `rolled_back`, `current` or `saved` (`failed`: already known)."""
    if failed if failed is not None else checkpoint_failure(record) is not None:
        return "failed"
    if record.get("status") == ROLLED_BACK:
        return ROLLED_BACK
    return "current" if record["checkpoint_id"] == current_id else "saved"


def current_checkpoint(store: SessionStore) -> str | None:
    """The latest checkpoint not rolled back (formats.md): the build's current state."""
    for row in reversed(store.ordered_checkpoints()):
        if row.get("status") != ROLLED_BACK:
            return str(row["checkpoint_id"])
    return None


class CheckpointTableModel(KeyedTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store: SessionStore | None = None
        self._current: str | None = None
        self._struck = _rolled_back_font()
        self.dimmed = QColor()  # the view's disabled text colour, set by the panel
        self.failed_color = failure_text_color()
        self._icons: dict[str, QIcon] = {}
        # Whether a row failed, by the row object (the store replaces a row when it changes, never edits it):
        # data() runs for every cell and role of every paint, the rule once per row version.
        self._failed: dict[int, tuple[dict[str, Any], bool]] = {}

    def load(self, store: SessionStore) -> None:
        self._failed.clear()
        self._store = store
        self._current = current_checkpoint(store)
        self.reset_keys(_newest_first(store))

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> dict[str, None]:
        """The batch's `checkpoint_update` messages; returns the ids they touched."""
        touched = {m["checkpoint_id"]: None for m in batch if m["type"] == "checkpoint_update"}
        if touched:
            self._store = store
            before, self._current = self._current, current_checkpoint(store)
            changed = dict(touched)
            if before != self._current:  # the old current row is now only saved
                changed.update(dict.fromkeys(key for key in (before, self._current) if key is not None))
            self.sync_keys(_newest_first(store), changed)
        return touched

    def row_at(self, row: int) -> dict[str, Any] | None:
        """The store's row (None while a removed row is on its way out)."""
        return None if self._store is None else self._store.checkpoints.get(self._keys[row])

    def current_id(self) -> str | None:
        return self._current

    def mark(self, record: dict[str, Any]) -> str:
        known = self._failed.get(id(record))
        if known is None or known[0] is not record:
            if len(self._failed) > 2 * len(self._keys) + 64:
                self._failed.clear()  # rows replaced since: forget their old versions
            known = self._failed[id(record)] = (record, checkpoint_failure(record) is not None)
        return checkpoint_mark(record, self._current, known[1])

    def _icon(self, mark: str) -> QIcon:
        icon = self._icons.get(mark)
        if icon is None:
            icon = self._icons[mark] = status_icon(MARKS[mark][1])
        return icon

    # ------------------------------------------------------------------ Qt model API

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == _DISPLAY:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section in (COL_TASKS, COL_FILES):
            return "Tasks completed" if section == COL_TASKS else "Files created"
        return None

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        record = self.row_at(index.row())
        if record is None:
            return None
        column = index.column()
        if role == _DISPLAY:
            return _cell(record, column, self.mark(record))
        if role == ID_ROLE:
            return record["checkpoint_id"]
        if role == MARK_ROLE:
            return self.mark(record)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(self.mark(record)) if column == COL_STATUS else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _NUMBER_ALIGN if column in (COL_TASKS, COL_FILES) else None
        mark = self.mark(record)
        # Rolled-back rows: struck out, italic and dimmed; failed rows red with the failed icon: never colour alone.
        if role == Qt.ItemDataRole.FontRole:
            return self._struck if mark == ROLLED_BACK else None
        if role == Qt.ItemDataRole.ForegroundRole:
            if mark == "failed":
                return self.failed_color
            return self.dimmed if mark == ROLLED_BACK and self.dimmed.isValid() else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(record, column, mark)
        return None


def _cell(record: dict[str, Any], column: int, mark: str) -> str:
    if column == COL_STATUS:
        return MARKS[mark][0]
    if column == COL_PHASE:
        return str(record.get("phase") or "")
    if column == COL_TIME:
        return local_time(record.get("timestamp"))
    entries = record.get("tasks_completed" if column == COL_TASKS else "files_created")
    return str(len(entries)) if isinstance(entries, list) else "0"


def _tooltip(record: dict[str, Any], column: int, mark: str) -> str | None:
    if column == COL_STATUS:
        reason = checkpoint_failure(record) if mark == "failed" else None
        text = f"{MARKS[mark][2]}: {reason}" if reason else MARKS[mark][2]
        return f"{text}\nstatus in the file: {record.get('status') or '—'}\n{record['checkpoint_id']}"
    if column == COL_TIME:
        moment = parse_timestamp(record.get("timestamp"))
        return f"{moment.astimezone().isoformat(timespec='seconds')} ({ago(moment)})" if moment else None
    if column in (COL_TASKS, COL_FILES):
        entries = record.get("tasks_completed" if column == COL_TASKS else "files_created")
        title = "Tasks completed" if column == COL_TASKS else "Files created"
        shown = [str(entry) for entry in entries[:20]] if isinstance(entries, list) else []
        more = len(entries) - len(shown) if isinstance(entries, list) else 0
        return "\n".join([f"{title}:", *shown, *([f"… and {more} more"] if more else [])]) if shown else None
    return str(record.get("phase") or "") or None


def _newest_first(store: SessionStore) -> list[str]:
    return [row["checkpoint_id"] for row in reversed(store.ordered_checkpoints())]
