"""The features or the components of a session: filter row, sortable table, and a details pane.

Follows the panel contract (panel.py): `load(store)`, then `apply_batch(batch, store)` per batch. A batch
reaches the table model as row-level changes, so the selection, the sort and the scroll position survive it,
and the details pane follows the selected item as it changes (redrawn at most once per batch).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .details_form import DetailsForm, Entry, pretty_key
from .item_model import (
    COL_ID,
    COL_NAME,
    COL_PROGRESS,
    COLUMNS,
    Item,
    ItemFilterProxy,
    ItemTableModel,
    cell_text,
    progress_value,
)
from .placeholder import Placeholder
from .progress_delegate import ProgressBarDelegate, percent_text
from .status_style import STATUSES, status_icon, status_label

if TYPE_CHECKING:
    from ..model.store import SessionStore

EMPTY_TEXT = {
    "feature": "No features — the registry is .buildrunner/features.json",
    "component": "No components — they come from the latest checkpoint in .buildrunner/checkpoints/, "
    "or from the components the features in .buildrunner/features.json list",
}
# The widest a column sized from its content grows, in average characters (longer values are elided; the
# tooltip and the details pane have them whole). The name column takes the rest of the width.
_MAX_CHARS = {"id": 40, "priority": 12, "features": 32, "components": 6}
_MEASURED = 50  # a column's width comes from its longest values by length, measured in pixels
_BATCH_MEASURED = 1_000  # of a batch's touched items
_PADDING = 14  # the cell's margins
_ICON = 22  # a decoration and its spacing


class ItemsPanel(QWidget):
    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.model = ItemTableModel(kind, self)
        self.proxy = ItemFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._selected_id: str | None = None
        self._fixed_widths: dict[int, int] = {}
        self._measured: list[tuple[int, str, int, int]] = []  # (column, field, narrowest, widest)
        self._widths: dict[str, int] = {}  # text -> pixels: values repeat (features, priorities)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter… (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Show only items whose ID, name or raw status contains every word typed")
        self.status_combo = QComboBox(self)
        self.status_combo.addItem("All", None)
        for status in STATUSES:
            self.status_combo.addItem(status_icon(status), status_label(status), status)
        self.count_label = QLabel(self)

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.delegate = ProgressBarDelegate(self.table)
        self.table.setItemDelegateForColumn(COL_PROGRESS, self.delegate)
        self._setup_table()
        self.placeholder = Placeholder(self.table, EMPTY_TEXT[kind])

        self.details = DetailsForm(f"Select a {kind} to see all its fields", self)

        filters = QHBoxLayout()
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(self.status_combo)
        filters.addWidget(self.count_label)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([600, 300])  # proportions until the window gives it its width
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.splitter, 1)

        self.filter_edit.textChanged.connect(self._text_filter_changed)
        self.status_combo.currentIndexChanged.connect(self._status_filter_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._model_reset)
        for model in (self.model, self.proxy):
            model.rowsInserted.connect(self._update_count)
            model.rowsRemoved.connect(self._update_count)
            model.modelReset.connect(self._update_count)
            model.layoutChanged.connect(self._update_count)
        self._update_count()
        self._show_item(None)
        self._fit_columns(reset=True)

    def _setup_table(self) -> None:
        table = self.table
        header = table.horizontalHeader()
        header.setSortIndicatorClearable(True)  # a third click goes back to the order of the files
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # start in file order
        table.setSortingEnabled(True)
        table.setAlternatingRowColors(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long component paths keep both ends
        table.setShowGrid(False)
        vertical = table.verticalHeader()
        vertical.hide()
        # Fixed row heights: no per-row measuring, so tens of thousands of rows stay cheap.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(table.fontMetrics().height() + 8)
        # The name takes the width the other columns leave; they are sized from their content (`_fit_columns`),
        # measured in Python from the store's values, so a batch never makes Qt measure rows.
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(table.fontMetrics().horizontalAdvance("M") * 3)

    # ------------------------------------------------------------------ panel contract

    def load(self, store: SessionStore) -> None:
        self.model.load(store)
        self._fit_columns(reset=True)

    def apply_batch(self, batch: Sequence[dict[str, Any]], store: SessionStore) -> None:
        touched = self.model.apply_batch(batch, store)
        if touched:
            self._fit_columns(touched)
        if self._selected_id is not None and self._selected_id in touched:
            self._refresh_details()  # changed or removed: once per batch, whatever the rows' signals were

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    # ------------------------------------------------------------------ columns

    def visible_columns(self) -> list[int]:
        return [c for c in range(self.model.columnCount()) if not self.table.isColumnHidden(c)]

    def _fit_columns(self, keys: Iterable[str] | None = None, reset: bool = False) -> None:
        """Sizes the columns from their content: on a load from every item (`reset`), after a batch from the
        touched ones (at most `_BATCH_MEASURED` of them), only ever widening then: a batch never makes columns
        jump narrower under the reader, and costs a few text measurements.

        The ID column is shown only when some item has a name other than its id: components are named by their
        paths, so ID and Name would be the same column twice."""
        hide_id = not self.model.names_differ()
        if hide_id != self.table.isColumnHidden(COL_ID):
            self.table.setColumnHidden(COL_ID, hide_id)
            if not hide_id and keys is not None:
                keys, reset = None, True  # the ID column appears: size every column afresh
        header = self.table.horizontalHeader()
        if reset or not self._fixed_widths:
            self._widths.clear()  # the font may have changed
            self._fixed_widths = self._fixed_column_widths()
            for column, width in self._fixed_widths.items():
                header.resizeSection(column, width)
        items = self.model.items()
        if keys is None:
            chosen: Iterable[Item] = items.values()
        else:
            chosen = [items[key] for key in itertools.islice(keys, _BATCH_MEASURED) if key in items]
        for column, field, floor, cap in self._measured:
            if self.table.isColumnHidden(column) or (not reset and header.sectionSize(column) >= cap):
                continue  # not shown, or as wide as it gets
            longest = heapq.nlargest(_MEASURED, (cell_text(item, field) for item in chosen), key=len)
            content = max(map(self._text_width, longest), default=0)
            width = max(floor, min(content + _PADDING, cap))
            if reset or width > header.sectionSize(column):
                header.resizeSection(column, width)

    def _text_width(self, text: str) -> int:
        width = self._widths.get(text)
        if width is None:
            if len(self._widths) > 4096:
                self._widths.clear()
            width = self._widths[text] = self.table.fontMetrics().horizontalAdvance(text)
        return width

    def _fixed_column_widths(self) -> dict[int, int]:
        """The widths of the columns whose content is known in advance (status, progress); and, for the columns
        sized from their values, the floor (the header's own width) and the cap."""
        metrics = self.table.fontMetrics()
        char = metrics.averageCharWidth()
        header = self.table.horizontalHeader()
        fixed: dict[int, int] = {}
        self._measured: list[tuple[int, str, int, int]] = []
        for column, spec in enumerate(COLUMNS[self.kind]):
            floor = header.sectionSizeHint(column)
            if spec.field == "status":
                content = max(metrics.horizontalAdvance(status_label(s)) for s in STATUSES) + _ICON
                fixed[column] = max(floor, content + _PADDING)
            elif spec.field == "progress":
                fixed[column] = max(floor, metrics.horizontalAdvance(percent_text(99.5)) + 4 * char + _PADDING)
            elif column != COL_NAME:
                self._measured.append((column, spec.field, floor, max(floor, _MAX_CHARS[spec.field] * char)))
        return fixed

    # ------------------------------------------------------------------ filters and counts

    def _text_filter_changed(self, text: str) -> None:
        self.proxy.set_text_filter(text)
        self._update_count()

    def _status_filter_changed(self, index: int) -> None:
        status = self.status_combo.itemData(index)
        self.proxy.set_status_filter(None if status is None else {status})
        self._update_count()

    def _update_count(self, *_args: object) -> None:
        self.count_label.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()}")
        self.placeholder.refresh()

    # ------------------------------------------------------------------ details

    def selected_item(self) -> Item | None:
        row = None if self._selected_id is None else self.model.row_of(self._selected_id)
        return None if row is None else self.model.item_at(row)

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        source = self.proxy.mapToSource(rows[0]) if rows else QModelIndex()
        self._selected_id = self.model.key_at(source.row()) if source.isValid() else None
        self._refresh_details()

    def _model_reset(self) -> None:
        # A whole new state (load): keep the same item selected when it is still there.
        row = None if self._selected_id is None else self.model.row_of(self._selected_id)
        if row is None:
            self._selected_id = None
            self._refresh_details()
            return
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        if proxy_index.isValid():
            self.table.selectRow(proxy_index.row())
        self._refresh_details()

    def _refresh_details(self, *_args: object) -> None:
        self._show_item(self.selected_item())

    def _show_item(self, item: Item | None) -> None:
        if item is None:
            self.details.clear()
            return
        self.details.show_entries(item["name"], item_entries(item), key=item["id"])


def item_entries(item: Item) -> list[Entry]:
    """Every field and every metadata entry of an item, for the details form."""
    status, raw = item["status"], item["raw_status"] or ""
    label = status_label(status)
    same = raw.strip().lower().replace(" ", "_").replace("-", "_") in ("", status, label.lower())
    entries = [
        Entry(
            "Status",
            label if same else f"{label} (written as “{raw}”)",
            failed=status == "failed",
            icon=status_icon(status),
        ),
        Entry("Progress", percent_text(progress_value(item["progress"]))),
    ]
    if item["name"] != item["id"]:
        entries.insert(0, Entry("ID", item["id"]))
    metadata = item["metadata"]
    if isinstance(metadata, dict):
        entries += [Entry(pretty_key(str(key)), value, tooltip=str(key)) for key, value in metadata.items()]
    return entries
