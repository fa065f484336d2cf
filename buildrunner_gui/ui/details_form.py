"""Every field of one thing (an item, a checkpoint) as a readable form: label and value per row.

Values are shown as people read them, never as raw JSON: lists as lists (one row per entry), objects as
collapsible groups of their fields, ISO times as local times with how long ago, booleans as yes / no, long text
wrapped. A failed entry is red with the failed icon. Showing the same thing again (it changed) keeps what was
expanded or collapsed and the scroll position.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QAction, QFont, QGuiApplication, QIcon, QKeySequence, QTextLayout, QTextOption
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QVBoxLayout,
    QWidget,
)

from .placeholder import Placeholder
from .status_style import failure_text_color, status_icon
from .when import time_with_ago

EXPAND_LIST = 20  # lists up to this long start expanded at the top level; longer ones collapsed
EXPAND_OBJECT = 12
SUMMARY_CHARS = 100
SUMMARY_ROLE = int(Qt.ItemDataRole.UserRole)  # an object's one-line summary, shown while it is collapsed
_TEXT_MARGIN = 8  # the item view's text margins, both sides
_ACRONYMS = {"id": "ID", "url": "URL", "api": "API", "cli": "CLI", "ui": "UI", "prd": "PRD", "ci": "CI"}


class Entry(NamedTuple):
    """One top-level row: a label, any JSON-like value, and how it is marked."""

    label: str
    value: Any
    failed: bool = False
    icon: QIcon | None = None
    tooltip: str | None = None


def pretty_key(key: str) -> str:
    """`created_at` → "Created at", `feature_id` → "Feature ID": a metadata key as a label."""
    words = str(key).replace("_", " ").replace("-", " ").split()
    if not words:
        return str(key)
    words = [_ACRONYMS.get(word.lower(), word) for word in words]
    first = words[0]
    words[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def value_text(value: Any) -> str:
    """A scalar as text; a list or an object as a short summary (its entries are rows of their own)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return time_with_ago(value) or value
    if isinstance(value, Mapping):
        if not value:
            return "none"
        parts = [f"{pretty_key(k)}: {_short(v)}" for k, v in value.items()]
        return _clip(" · ".join(parts))
    if isinstance(value, list | tuple):
        count = len(value)
        return "none" if not count else f"{count} item{'s' if count != 1 else ''}"
    return str(value)


def _short(value: Any) -> str:
    return "{…}" if isinstance(value, Mapping) and value else value_text(value)


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


class _WrappingDelegate(QStyledItemDelegate):
    """Values wrap at the value column's width: a row is as tall as its wrapped text (QTreeView itself measures
    rows as one line however narrow the column)."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self._tree = tree

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() != 1:
            return size
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        width = self._tree.header().sectionSize(1) - _TEXT_MARGIN
        if not item.icon.isNull():
            width -= item.decorationSize.width() + _TEXT_MARGIN // 2
        if width <= 0 or not item.text:
            return size
        layout = QTextLayout(item.text.replace("\n", "\u2028"), item.font)
        text_option = QTextOption()
        text_option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(text_option)
        height = 0.0
        layout.beginLayout()
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            height += line.height()
        layout.endLayout()
        return QSize(min(size.width(), width), max(size.height(), math.ceil(height) + 4))


class DetailsForm(QWidget):
    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = QLabel(self)
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap, never scroll sideways
        self.tree.setItemDelegate(_WrappingDelegate(self.tree))
        self.tree.itemExpanded.connect(self._expanded)
        self.tree.itemCollapsed.connect(self._collapsed)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        # Wrapped rows take their height from their column's width: lay them out again when it changes.
        header.sectionResized.connect(lambda *_: self.tree.doItemsLayout())
        copy = QAction("Copy", self.tree)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_selection)
        self.tree.addAction(copy)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.placeholder = Placeholder(self.tree, placeholder)
        self._bold = QFont(self.tree.font())
        self._bold.setBold(True)
        self._shown_key: object = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title_label)
        layout.addWidget(self.tree, 1)
        self.clear()

    # ------------------------------------------------------------------ showing

    def clear(self) -> None:
        """Nothing selected: the placeholder."""
        self._shown_key = None
        self.tree.clear()
        self.title_label.clear()
        self.title_label.hide()
        self.placeholder.set_empty(True)

    def show_entries(self, title: str, entries: Sequence[Entry], key: object = None) -> None:
        """Show `entries` under `title`; `key` names what is shown, so showing it again keeps the view's state."""
        same = key is not None and key == self._shown_key
        expanded = self._expansion() if same else {}
        scroll = self.tree.verticalScrollBar().value() if same else 0
        self._shown_key = key
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            for entry in entries:
                item = self._add(self.tree.invisibleRootItem(), entry.label, entry.value, 0)
                item.setFont(0, self._bold)
                if entry.icon is not None:
                    item.setIcon(1, entry.icon)
                if entry.failed:
                    red = failure_text_color()
                    item.setIcon(1, entry.icon or status_icon("failed"))
                    for column in (0, 1):
                        item.setForeground(column, red)
                if entry.tooltip:
                    item.setToolTip(0, entry.tooltip)  # the value's own tooltip (a time as written) stays
            for path, is_expanded in expanded.items():
                found = self._find(path)
                if found is not None:
                    found.setExpanded(is_expanded)
        finally:
            self.tree.setUpdatesEnabled(True)
        self.title_label.setText(title)
        self.title_label.setVisible(bool(title))
        self.placeholder.set_empty(False)
        if same:
            self.tree.verticalScrollBar().setValue(scroll)
        else:
            self.tree.scrollToTop()

    def _add(self, parent: QTreeWidgetItem, label: str, value: Any, depth: int) -> QTreeWidgetItem:
        if isinstance(value, list | tuple) and len(value) == 1 and not isinstance(value[0], Mapping | list | tuple):
            value = value[0]  # a list of one: the entry itself
        item = QTreeWidgetItem(parent, [label, value_text(value)])
        item.setTextAlignment(0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        if isinstance(value, str) and value_text(value) != value:
            item.setToolTip(1, value)  # a time: as written
        if isinstance(value, Mapping) and value:
            for key, child in value.items():
                self._add(item, pretty_key(key), child, depth + 1)
            item.setData(1, SUMMARY_ROLE, item.text(1))
            item.setExpanded(depth == 0 and len(value) <= EXPAND_OBJECT)
            if item.isExpanded():
                item.setText(1, "")  # its fields are the rows below
        elif isinstance(value, list | tuple) and value:
            for number, child in enumerate(value, 1):
                # Entries of a list have no label: a bullet for a scalar, the number for an object.
                self._add(
                    item, "•" if not isinstance(child, Mapping | list | tuple) else f"#{number}", child, depth + 1
                )
            item.setExpanded(depth == 0 and len(value) <= EXPAND_LIST)
        return item

    @staticmethod
    def _expanded(item: QTreeWidgetItem) -> None:
        if item.data(1, SUMMARY_ROLE) is not None:
            item.setText(1, "")  # an object's fields are the rows below: no summary beside them

    @staticmethod
    def _collapsed(item: QTreeWidgetItem) -> None:
        summary = item.data(1, SUMMARY_ROLE)
        if summary is not None:
            item.setText(1, summary)

    # ------------------------------------------------------------------ state kept across a refresh

    @staticmethod
    def _path(item: QTreeWidgetItem) -> tuple[int, ...]:
        path: list[int] = []
        while item is not None:
            parent = item.parent()
            path.append(
                parent.indexOfChild(item) if parent is not None else item.treeWidget().indexOfTopLevelItem(item)
            )
            item = parent
        return tuple(reversed(path))

    def _expansion(self) -> dict[tuple[int, ...], bool]:
        state: dict[tuple[int, ...], bool] = {}
        iterator = QTreeWidgetItemIterator(self.tree)
        while (item := iterator.value()) is not None:
            if item.childCount():
                state[self._path(item)] = item.isExpanded()
            iterator += 1
        return state

    def _find(self, path: tuple[int, ...]) -> QTreeWidgetItem | None:
        item = self.tree.topLevelItem(path[0]) if path else None
        for index in path[1:]:
            if item is None:
                return None
            item = item.child(index)
        return item

    # ------------------------------------------------------------------ reading back

    def title(self) -> str:
        return self.title_label.text()

    def text(self) -> str:
        """What the form shows, as text: the title, then "Label: value" per row, children indented (or the
        placeholder, when nothing is shown)."""
        if not self.placeholder.isHidden():
            return self.placeholder.text()
        lines = [self.title()] if self.title() else []
        iterator = QTreeWidgetItemIterator(self.tree)
        while (item := iterator.value()) is not None:
            lines.append(_line(item))
            iterator += 1
        return "\n".join(lines)

    def copy_selection(self) -> None:
        selected = self.tree.selectedItems()
        if selected:
            QGuiApplication.clipboard().setText("\n".join(_line(item).strip() for item in selected))

    def row(self, label: str) -> QTreeWidgetItem | None:
        """The top-level row with this label."""
        found = self.tree.findItems(label, Qt.MatchFlag.MatchExactly, 0)
        return next((item for item in found if item.parent() is None), None)


def _line(item: QTreeWidgetItem) -> str:
    depth = 0
    parent = item.parent()
    while parent is not None:
        depth += 1
        parent = parent.parent()
    label, value = item.text(0), item.text(1)
    return f"{'  ' * depth}{label}: {value}" if label != "•" else f"{'  ' * depth}• {value}"
