"""Table model of one kind of item (features or components), fed by snapshots and `{kind}_update` messages.

Only `load` resets the model; every event touches just the row it names (dataChanged, insert, remove), so
selection, scroll position and sorting survive live updates. A dict id -> row keeps lookups O(1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from .status_style import status_icon, status_label, status_rank

Item = dict[str, Any]
AnyIndex = QModelIndex | QPersistentModelIndex

SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # a per-column key of one type: float for progress, str for text
STATUS_ROLE = int(Qt.ItemDataRole.UserRole) + 2  # the normalised status
ID_ROLE = int(Qt.ItemDataRole.UserRole) + 3

_DISPLAY = Qt.ItemDataRole.DisplayRole
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NUMBER_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_PRIORITY_RANK = {"critical": 0, "urgent": 0, "high": 1, "medium": 2, "normal": 2, "low": 3}


class Column(NamedTuple):
    field: str  # what the column shows: an item field, or a metadata key
    header: str


# The first four columns are the same for both kinds, so views can address them by index.
COL_ID, COL_NAME, COL_STATUS, COL_PROGRESS = range(4)
_COMMON = (Column("id", "ID"), Column("name", "Name"), Column("status", "Status"), Column("progress", "Progress"))
COLUMNS: dict[str, tuple[Column, ...]] = {
    "feature": (*_COMMON, Column("priority", "Priority"), Column("components", "Components")),
    "component": (*_COMMON, Column("features", "Features")),
}


def _natural(text: str) -> str:
    # "feat-2" before "feat-10": pad digit runs so plain string comparison orders them numerically.
    return re.sub(r"\d+", lambda m: m.group().zfill(12), text.casefold())


def _progress(value: Any) -> float:
    try:
        return min(100.0, max(0.0, float(value)))
    except (TypeError, ValueError):
        return 0.0


def normalize_item(source: dict[str, Any], kind: str) -> Item:
    """An item of a snapshot or an update message, reduced to the protocol's item fields."""
    item_id = source.get(f"{kind}_id", source.get("id"))
    item_id = "" if item_id is None else str(item_id)
    metadata = source.get("metadata")
    return {
        "id": item_id,
        "name": str(source.get("name") or item_id),
        "status": str(source.get("status") or "pending"),
        "raw_status": str(source.get("raw_status") or ""),
        "progress": _progress(source.get("progress")),
        "metadata": metadata if isinstance(metadata, dict) else {},
    }


def _display(item: Item, field: str) -> Any:
    if field in ("id", "name", "progress"):
        return item[field]
    if field == "status":
        return status_label(item["status"])
    value = item["metadata"].get(field)
    if field == "components":  # a feature's component list: its size fits a column, the list goes in details
        return len(value) if isinstance(value, list) else None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None or isinstance(value, dict):
        return None
    return str(value)


def _sort_key(item: Item, field: str) -> Any:
    if field in ("id", "name"):
        return _natural(item[field])
    if field == "status":
        return status_rank(item["status"])
    if field == "progress":
        return item["progress"]
    value = _display(item, field)
    if field == "components":
        return -1 if value is None else value
    if field == "priority":
        text = (value or "").casefold()
        return f"{_PRIORITY_RANK.get(text, 8 if text else 9)}{text}"
    return _natural(value or "")


class _Row:
    """One item plus what sorting and filtering need, computed once per change rather than per comparison."""

    __slots__ = ("haystack", "item", "keys")

    def __init__(self, item: Item, columns: tuple[Column, ...]) -> None:
        self.item = item
        self.keys = tuple(_sort_key(item, column.field) for column in columns)
        self.haystack = f"{item['id']}\n{item['name']}\n{item['raw_status']}".casefold()


class ItemTableModel(QAbstractTableModel):
    def __init__(self, kind: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if kind not in COLUMNS:
            raise ValueError(f"unknown item kind: {kind!r}")
        self.kind = kind
        self.columns = COLUMNS[kind]
        self._rows: list[_Row] = []
        self._row_of: dict[str, int] = {}

    # ------------------------------------------------------------------ updates

    def load(self, items: Iterable[dict[str, Any]]) -> None:
        """Replace everything (a snapshot): the one place the model resets."""
        rows: list[_Row] = []
        row_of: dict[str, int] = {}
        for source in items:
            row = _Row(normalize_item(source, self.kind), self.columns)
            at = row_of.get(row.item["id"])
            if at is None:
                row_of[row.item["id"]] = len(rows)
                rows.append(row)
            else:  # a duplicate id: the last one wins, in the place of the first (as the engine does)
                rows[at] = row
        self.beginResetModel()
        self._rows, self._row_of = rows, row_of
        self.endResetModel()

    def apply(self, message: dict[str, Any]) -> bool:
        """One `{kind}_update` message; other types are ignored. Returns whether the model changed."""
        if message.get("type") != f"{self.kind}_update":
            return False
        item = normalize_item(message, self.kind)
        at = self._row_of.get(item["id"])
        if message.get("removed"):
            if at is None:
                return False
            self.beginRemoveRows(QModelIndex(), at, at)
            del self._rows[at]
            del self._row_of[item["id"]]
            for index in range(at, len(self._rows)):  # the rows after it moved up by one
                self._row_of[self._rows[index].item["id"]] = index
            self.endRemoveRows()
            return True
        if at is None:
            at = len(self._rows)
            self.beginInsertRows(QModelIndex(), at, at)
            self._rows.append(_Row(item, self.columns))
            self._row_of[item["id"]] = at
            self.endInsertRows()
            return True
        if self._rows[at].item == item:
            return False
        self._rows[at] = _Row(item, self.columns)
        self.dataChanged.emit(self.index(at, 0), self.index(at, len(self.columns) - 1))
        return True

    # ------------------------------------------------------------------ lookups

    def item_at(self, row: int) -> Item:
        return self._rows[row].item

    def row_of(self, item_id: str) -> int | None:
        return self._row_of.get(item_id)

    def sort_key(self, row: int, column: int) -> Any:
        return self._rows[row].keys[column]

    def matches(self, row: int, terms: tuple[str, ...], statuses: frozenset[str] | None) -> bool:
        """The filter test, here because the model keeps the lower-cased text it searches."""
        entry = self._rows[row]
        if statuses is not None and entry.item["status"] not in statuses:
            return False
        return all(term in entry.haystack for term in terms)

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.columns)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header if 0 <= section < len(self.columns) else None
        return section + 1

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        item, column = row.item, index.column()
        field = self.columns[column].field
        if role == _DISPLAY:
            return _display(item, field)
        if role == SORT_ROLE:
            return row.keys[column]
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(item["status"]) if field == "status" else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, field)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _NUMBER_ALIGN if field in ("progress", "components") else None
        if role == STATUS_ROLE:
            return item["status"]
        if role == ID_ROLE:
            return item["id"]
        return None

    @staticmethod
    def _tooltip(item: Item, field: str) -> str | None:
        if field == "status":
            return f"{status_label(item['status'])} (raw status: {item['raw_status'] or '—'})"
        if field == "name":
            description = item["metadata"].get("description")
            return f"{item['name']}\n\n{description}" if isinstance(description, str) and description else item["name"]
        value = _display(item, field)
        return None if value is None else str(value)


class ItemFilterProxy(QSortFilterProxyModel):
    """Text filter (every word must appear in id, name or raw status), status filter, typed sort keys."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._terms: tuple[str, ...] = ()
        self._statuses: frozenset[str] | None = None
        self._items: ItemTableModel | None = None
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)  # live updates re-sort and re-filter just the rows that changed

    def setSourceModel(self, model: Any) -> None:
        self._items = model if isinstance(model, ItemTableModel) else None
        super().setSourceModel(model)

    def set_text_filter(self, text: str) -> None:
        terms = tuple(text.casefold().split())
        if terms != self._terms:
            self.beginFilterChange()
            self._terms = terms
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_status_filter(self, statuses: Iterable[str] | None) -> None:
        """Only items with one of these statuses; None shows all."""
        wanted = None if statuses is None else frozenset(statuses)
        if wanted != self._statuses:
            self.beginFilterChange()
            self._statuses = wanted
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:
        # Same order as SORT_ROLE, but reading the cached keys directly: sorting 10,000 rows makes ~130,000
        # comparisons, and skipping two data() round trips per comparison cuts the time by about a third.
        if self._items is None:
            return super().lessThan(left, right)
        column = left.column()
        return self._items.sort_key(left.row(), column) < self._items.sort_key(right.row(), column)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if self._items is None or (not self._terms and self._statuses is None):
            return True
        return self._items.matches(source_row, self._terms, self._statuses)
