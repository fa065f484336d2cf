"""Context and spec documents: a list, and the selected one rendered as markdown, updated live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QLabel, QListView, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from .document_model import DOCUMENT_TYPES, PATH_ROLE, DocumentListModel, human_size
from .panel import Message
from .placeholder import Placeholder

if TYPE_CHECKING:
    from ..model.store import SessionStore

__all__ = ["DOCUMENT_TYPES", "TRUNCATED_NOTE", "DocumentsPanel", "human_size"]

TRUNCATED_NOTE = "Showing the first 64 KiB of this document."
EMPTY_TEXT = "No documents — context documents live in .buildrunner/context/, the spec in PROJECT_SPEC.md"


class DocumentsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = DocumentListModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setUniformItemSizes(True)  # every row is two lines: no per-row measuring
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setSpacing(2)
        self.placeholder = Placeholder(self.list, EMPTY_TEXT)
        self.note = QLabel(TRUNCATED_NOTE)
        self.note.setVisible(False)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)  # documents are untrusted: no link opens anything by itself
        self.browser.setOpenLinks(False)
        viewer = QWidget()
        viewer_layout = QVBoxLayout(viewer)
        viewer_layout.setContentsMargins(0, 0, 0, 0)
        viewer_layout.addWidget(self.note)
        viewer_layout.addWidget(self.browser)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(viewer)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._shown: str | None = None
        self._rendered: dict[str, Any] | None = None  # the store's document last rendered (replaced when it changes)
        self._syncing = False  # while the model takes a batch: render once afterwards, not per row signal
        self.list.selectionModel().currentChanged.connect(self._current_changed)

    # ---------------------------------------------------------------- panel contract

    def load(self, store: SessionStore) -> None:
        shown = self._shown
        self._syncing = True
        try:
            self.model.load(store)
        finally:
            self._syncing = False
        paths = self.model.keys()
        self._shown = self._rendered = None
        self.show_document(shown if shown in paths else (paths[0] if paths else None))

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> None:
        self._syncing = True
        try:
            touched = self.model.apply_batch(batch, store)
        finally:
            self._syncing = False
        if not touched and self._shown is None:
            return
        current = self.list.currentIndex()
        path = current.data(PATH_ROLE) if current.isValid() else None
        if path is None and self._shown is None:
            # Nothing was shown: show what just arrived.
            path = next((p for p in touched if self.model.row_of(p) is not None), None)
        if path != self._shown or self.model.document(path or "") is not self._rendered:
            # The selection model moved the current row off a removed document onto its neighbour.
            self.show_document(path, keep_scroll=path == self._shown)

    # ---------------------------------------------------------------- selection and rendering

    def paths(self) -> list[str]:
        return self.model.keys()

    def shown_path(self) -> str | None:
        return self._shown

    def show_document(self, path: str | None, keep_scroll: bool = False) -> None:
        row = None if path is None else self.model.row_of(path)
        index = QModelIndex() if row is None else self.model.index(row, 0)
        self._shown = None if row is None else path
        self._syncing = True  # the current row follows what is shown, without rendering twice
        try:
            self.list.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._syncing = False
        self._render(keep_scroll)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing:
            return
        path = current.data(PATH_ROLE) if current.isValid() else None
        if path != self._shown:
            self.show_document(path)

    def _render(self, keep_scroll: bool) -> None:
        doc = self.model.document(self._shown or "")
        self._rendered = doc
        if doc is None:
            self.browser.clear()
            self.note.setVisible(False)
            return
        bar = self.browser.verticalScrollBar()
        position = bar.value()
        self.browser.setMarkdown(doc.get("content") or "")
        self.note.setVisible(bool(doc.get("truncated")))
        # Restoring the scroll position lets a reader stay in place while the build rewrites the file.
        bar.setValue(min(position, bar.maximum()) if keep_scroll else 0)
