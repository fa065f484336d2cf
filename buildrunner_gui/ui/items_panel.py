"""The features or the components of a session: filter row, sortable table, and a details pane.

Follows the panel contract (panel.py): `load(store)`, then `apply_batch(batch, store)` per batch. A batch
reaches the table model as row-level changes, so the selection, the sort and the scroll position survive it,
and the details pane follows the selected item as it changes (redrawn at most once per batch).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
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
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .item_model import COL_PROGRESS, COLUMNS, Item, ItemFilterProxy, ItemTableModel
from .progress_delegate import ProgressBarDelegate, percent_text
from .status_style import STATUSES, status_icon, status_label

if TYPE_CHECKING:
    from ..model.store import SessionStore

# Column widths in average characters; the last column stretches. Component ids are paths, so wider.
_WIDTHS = {"id": 12, "name": 32, "status": 16, "progress": 12, "priority": 9, "components": 11, "features": 16}
_COMPONENT_ID_WIDTH = 34


class ItemsPanel(QWidget):
    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.model = ItemTableModel(kind, self)
        self.proxy = ItemFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._selected_id: str | None = None

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

        self.details = QTextBrowser(self)
        self.details.setOpenLinks(False)  # shows data only; a link in metadata must not navigate away

        filters = QHBoxLayout()
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(self.status_combo)
        filters.addWidget(self.count_label)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
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
        header.setStretchLastSection(True)
        char = table.fontMetrics().averageCharWidth()
        for index, column in enumerate(COLUMNS[self.kind]):
            chars = _COMPONENT_ID_WIDTH if self.kind == "component" and column.field == "id" else _WIDTHS[column.field]
            table.setColumnWidth(index, chars * char + 16)

    # ------------------------------------------------------------------ panel contract

    def load(self, store: SessionStore) -> None:
        self.model.load(store)

    def apply_batch(self, batch: Sequence[dict[str, Any]], store: SessionStore) -> None:
        touched = self.model.apply_batch(batch, store)
        if self._selected_id is not None and self._selected_id in touched:
            self._refresh_details()  # changed or removed: once per batch, whatever the rows' signals were

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

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
            self.details.setHtml(f"<p><i>Select a {self.kind} to see all its fields.</i></p>")
            return
        self.details.setHtml(item_html(item))


def item_html(item: Item) -> str:
    """Every field and every metadata entry of an item; nested values pretty-printed as JSON."""
    rows = [
        ("ID", html.escape(item["id"])),
        ("Name", html.escape(item["name"])),
        ("Status", html.escape(f"{status_label(item['status'])} ({item['status']})")),
        ("Raw status", html.escape(item["raw_status"] or "—")),
        ("Progress", percent_text(item["progress"])),
    ]
    parts = [f"<h3>{html.escape(item['name'])}</h3>", _table(rows), "<h4>Metadata</h4>"]
    metadata = item["metadata"]
    if metadata:
        parts.append(_table([(html.escape(str(key)), _value_html(value)) for key, value in metadata.items()]))
    else:
        parts.append("<p><i>none</i></p>")
    return "".join(parts)


def _table(rows: list[tuple[str, str]]) -> str:
    key_cell = "<th align='left' valign='top' style='white-space:nowrap'>{}</th>"
    body = "".join(f"<tr>{key_cell.format(key)}<td>{value}</td></tr>" for key, value in rows)
    return f"<table cellspacing='2' cellpadding='2'>{body}</table>"


def _value_html(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        return f"<pre style='margin:0'>{html.escape(text)}</pre>"
    return html.escape(str(value))
