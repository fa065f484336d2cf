"""Recent file changes and errors, newest first, with an "errors only" filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QRegularExpression, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QCheckBox, QHeaderView, QStyle, QTreeView, QVBoxLayout, QWidget

from .activity_model import (
    COL_KIND,
    COL_PATH,
    COL_TIME,
    COLUMNS,
    ERROR_ROWS,
    FILE_ROWS,
    KIND_ROLE,
    ActivityTableModel,
)
from .panel import Message
from .placeholder import Placeholder

if TYPE_CHECKING:
    from ..model.store import SessionStore

__all__ = ["EMPTY_TEXT", "ERROR_ROWS", "FILE_ROWS", "ActivityPanel"]

EMPTY_TEXT = "No file activity yet — changes to the files in .buildrunner/, and errors reading them, appear here"


class ActivityPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors_only = QCheckBox("Errors only")
        style = self.style()
        icons = {
            "file": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
        }
        self.model = ActivityTableModel(icons, self)
        # The filter runs in Qt on the kind role: no Python call per row.
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(KIND_ROLE)
        self.proxy.setFilterKeyColumn(COL_TIME)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(COL_TIME, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_KIND, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(COL_PATH, self.tree.fontMetrics().averageCharWidth() * 56)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.placeholder = Placeholder(self.tree, EMPTY_TEXT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.errors_only)
        layout.addWidget(self.tree)
        self.errors_only.toggled.connect(self._apply_filter)

    # ---------------------------------------------------------------- panel contract

    def load(self, store: SessionStore) -> None:
        self.model.load(store)

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> None:
        self.model.apply_batch(batch, store)

    def row_count(self, kind: str | None = None) -> int:
        return self.model.count(kind)

    def visible_rows(self) -> list[tuple[str, ...]]:
        proxy = self.proxy
        return [
            tuple(str(proxy.index(row, column).data()) for column in range(len(COLUMNS)))
            for row in range(proxy.rowCount())
        ]

    def _apply_filter(self, errors_only: bool) -> None:
        self.proxy.setFilterRegularExpression(QRegularExpression("^error$" if errors_only else ""))
