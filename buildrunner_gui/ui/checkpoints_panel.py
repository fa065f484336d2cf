"""Checkpoint history, newest first, with every field of the selected checkpoint in a details form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHeaderView, QSplitter, QTreeView, QVBoxLayout, QWidget

from ..model.failure_lines import checkpoint_failure
from .checkpoint_model import COL_PHASE, ID_ROLE, MARKS, CheckpointTableModel, checkpoint_mark
from .details_form import DetailsForm, Entry
from .panel import Message
from .placeholder import Placeholder
from .status_style import status_icon

if TYPE_CHECKING:
    from ..model.store import SessionStore

EMPTY_TEXT = "No checkpoints yet — BuildRunner saves one per build step in .buildrunner/checkpoints/"
NOT_IN_SNAPSHOT = "not in the snapshot; shown once this checkpoint is updated"


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
        self.placeholder = Placeholder(self.tree, EMPTY_TEXT)
        self.details = DetailsForm("Select a checkpoint to see its tasks, files and metadata")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._store: SessionStore | None = None
        self._shown_mark: str | None = None  # the shown checkpoint's status mark
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
        if touched and (not current.isValid() or current.data(ID_ROLE) in touched or self._shown_mark_changed()):
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

    def _shown_mark_changed(self) -> bool:
        """Whether the shown checkpoint stopped or started being the current one (a newer one arrived)."""
        record = self._record(self.tree.currentIndex())
        return record is not None and self.model.mark(record) != self._shown_mark

    def _record(self, index: QModelIndex) -> dict[str, Any] | None:
        checkpoint_id = index.data(ID_ROLE) if index.isValid() else None
        if self._store is None or checkpoint_id is None:
            return None
        return self._store.checkpoints.get(checkpoint_id)

    def _show_details(self, index: QModelIndex) -> None:
        record = self._record(index)
        if record is None:
            self._shown_mark = None
            self.details.clear()
            return
        self._shown_mark = self.model.mark(record)
        title = str(record.get("phase") or record["checkpoint_id"])
        entries = checkpoint_entries(record, self.model.current_id())
        self.details.show_entries(title, entries, key=record["checkpoint_id"])


def checkpoint_entries(record: dict[str, Any], current_id: str | None) -> list[Entry]:
    """Every field of a checkpoint row, for the details form."""
    mark = checkpoint_mark(record, current_id)
    label, icon, meaning = MARKS[mark]
    failure = checkpoint_failure(record)
    entries = [Entry("Status", label if mark == "failed" else f"{label} — {meaning.lower()}", icon=status_icon(icon))]
    if failure is not None:
        entries = [Entry("Status", label, failed=True), Entry("Failure", failure, failed=True)]
    tasks, files = record.get("tasks_completed") or [], record.get("files_created") or []
    entries += [
        Entry("Phase", record.get("phase") or "—"),
        Entry("Time", record.get("timestamp") or "—"),
        Entry("ID", record["checkpoint_id"]),
        Entry("Status in the file", record.get("status") or "—"),
        Entry("Tasks completed", tasks),
        Entry("Files created", files),
    ]
    metadata: Any = record.get("metadata")
    if metadata is None:  # rows from a mirror's snapshot: the snapshot leaves metadata out
        entries.append(Entry("Metadata", NOT_IN_SNAPSHOT))
    else:
        entries.append(Entry("Metadata", metadata if isinstance(metadata, dict) else {}))
    return entries
