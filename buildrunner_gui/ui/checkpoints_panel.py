"""Checkpoint history, newest first, with a details pane for the selected checkpoint."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHeaderView, QPlainTextEdit, QSplitter, QTreeView, QVBoxLayout, QWidget

from .checkpoint_model import COL_PHASE, ID_ROLE, CheckpointTableModel, local_time
from .panel import Message

if TYPE_CHECKING:
    from ..model.store import SessionStore


class CheckpointsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CheckpointTableModel(self)
        self.model.dimmed = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        for column in range(self.model.columnCount()):
            mode = QHeaderView.ResizeMode.Stretch if column == COL_PHASE else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(column, mode)
        header.setStretchLastSection(False)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a checkpoint to see its details")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._store: SessionStore | None = None
        self.tree.selectionModel().currentChanged.connect(self._current_changed)

    # ---------------------------------------------------------------- panel contract

    def load(self, store: SessionStore) -> None:
        self._store = store
        self.model.load(store)
        self._show_details(self.tree.currentIndex())

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> None:
        self._store = store
        touched = self.model.apply_batch(batch, store)
        current = self.tree.currentIndex()
        if touched and (not current.isValid() or current.data(ID_ROLE) in touched):
            self._show_details(current)  # the shown checkpoint changed: once per batch

    def checkpoint_ids(self) -> list[str]:
        """The ids in display order (newest first)."""
        return self.model.keys()

    def select(self, checkpoint_id: str) -> None:
        row = self.model.row_of(checkpoint_id)
        self.tree.setCurrentIndex(self.model.index(row, 0) if row is not None else QModelIndex())

    # ---------------------------------------------------------------- details

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_details(current)

    def _show_details(self, index: QModelIndex) -> None:
        checkpoint_id = index.data(ID_ROLE) if index.isValid() else None
        record = None if self._store is None or checkpoint_id is None else self._store.checkpoints.get(checkpoint_id)
        if record is None:
            self.details.clear()
            return
        lines = [
            f"Checkpoint: {record['checkpoint_id']}",
            f"Phase: {record.get('phase') or '—'}",
            f"Status: {record.get('status') or '—'}",
            f"Timestamp: {local_time(record.get('timestamp'))}",
            "",
            *_list_section("Tasks completed", record.get("tasks_completed") or []),
            *_list_section("Files created", record.get("files_created") or []),
            "Metadata:",
        ]
        metadata: Any = record.get("metadata")
        if metadata is None:  # rows from a mirror's snapshot: the snapshot leaves metadata out
            lines.append("  (not in the snapshot; shown once this checkpoint is updated)")
        else:
            lines.extend(
                "  " + line for line in json.dumps(metadata, indent=2, ensure_ascii=False, default=str).splitlines()
            )
        self.details.setPlainText("\n".join(lines))


def _list_section(title: str, entries: list[str]) -> list[str]:
    return [f"{title} ({len(entries)}):", *(f"  • {entry}" for entry in entries), ""]
