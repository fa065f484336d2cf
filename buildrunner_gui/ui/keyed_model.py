"""A table model whose rows are keys (ids or paths) into the session store; the data stays in the store.

Subclasses say what the rows are and how a cell looks. This base keeps the row order and turns a batch's changes
into few model signals: removals, insertions and changes, each as runs of consecutive rows. Only `reset_keys`
(a whole new state) resets the model, so views keep their selection, scroll position and sorting across live
updates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex

_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


def runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Ascending row numbers as (first, last) ranges of consecutive rows: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    ranges: list[tuple[int, int]] = []
    for row in rows:
        if ranges and ranges[-1][1] == row - 1:
            ranges[-1] = (ranges[-1][0], row)
        else:
            ranges.append((row, row))
    return ranges


class KeyedTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._keys: list[str] = []
        self._row_of: dict[str, int] | None = {}  # None: stale, rebuilt on the next lookup

    # ------------------------------------------------------------------ row order

    def keys(self) -> list[str]:
        return list(self._keys)

    def key_at(self, row: int) -> str:
        return self._keys[row]

    def row_of(self, key: str) -> int | None:
        return self._index().get(key)

    def reset_keys(self, keys: Iterable[str]) -> None:
        """A whole new state: the one place the model resets."""
        self.beginResetModel()
        self._keys = list(dict.fromkeys(keys))
        self._row_of = None
        self.endResetModel()

    def sync_keys(self, target: Sequence[str], changed: Collection[str] = ()) -> None:
        """Bring the rows to `target` (every key, in display order) and report `changed` keys as changed.

        Keys gone from `target` are removed, new ones inserted where `target` puts them, each as ranges of
        consecutive rows; kept keys that changed their relative order (rare: a checkpoint's time changed) move in
        one layout change. Rows inserted here are not reported as changed too."""
        wanted = set(target)
        gone = [row for row, key in enumerate(self._keys) if key not in wanted]
        for first, last in reversed(runs(gone)):  # bottom first, so earlier row numbers stay valid
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._keys[first : last + 1]
            self._row_of = None
            self.endRemoveRows()
        kept = set(self._keys)
        in_order = [key for key in target if key in kept]
        if in_order != self._keys:
            self._move_to(in_order)
        new_rows = [row for row, key in enumerate(target) if key not in kept]
        # Ascending: everything before an inserted range is already in place, so its target row is its row.
        for first, last in runs(new_rows):
            self.beginInsertRows(QModelIndex(), first, last)
            self._keys[first:first] = target[first : last + 1]
            self._row_of = None
            self.endInsertRows()
        self.report_changed(key for key in changed if key in kept)

    def report_changed(self, keys: Iterable[str]) -> None:
        """One `dataChanged` per run of consecutive changed rows (keys without a row are skipped).

        Not one range spanning them all: Qt repaints every visible row for a multi-row range even when the
        changed rows are all off-screen, which made a few scattered changes among 10,000 rows cost a repaint
        of the whole view each time (measured: 700 `data()` calls per write)."""
        row_of = self._index()
        rows = sorted({row for row in map(row_of.get, keys) if row is not None})
        last_column = self.columnCount() - 1
        for first, last in runs(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_column))

    def _move_to(self, order: list[str]) -> None:
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        moved_keys = [self._keys[index.row()] for index in old]
        self._keys = order
        self._row_of = None
        row_of = self._index()
        new = [self.index(row_of[key], index.column()) for key, index in zip(moved_keys, old, strict=True)]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _index(self) -> dict[str, int]:
        # Rebuilt lazily: a batch with many scattered removals rebuilds it once, not once per range.
        if self._row_of is None:
            self._row_of = {key: row for row, key in enumerate(self._keys)}
        return self._row_of

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._keys)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags
