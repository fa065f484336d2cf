"""The build's artifacts: path, size and modified time, live from the store; opens a file on request."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableView, QVBoxLayout, QWidget

from .artifact_model import COL_PATH, COLUMNS, PATH_ROLE, ArtifactTableModel
from .panel import Message
from .placeholder import Placeholder

if TYPE_CHECKING:
    from ..model.store import SessionStore

__all__ = ["COLUMNS", "EMPTY_TEXT", "ArtifactsPanel"]

EMPTY_TEXT = "No artifacts yet — BuildRunner writes them to .buildrunner/artifacts/"


class ArtifactsPanel(QWidget):
    """Size and modified time are what the store holds: the reader stats each artifact off the GUI thread and its
    `file_change` carries both, so this panel never touches the file system until asked to open a file.

    `set_project_folder` enables opening files; without it (a remote mirror) paths are shown but not opened."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ArtifactTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_PATH, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.placeholder = Placeholder(self.table, EMPTY_TEXT)
        self.open_button = QPushButton("Open")
        self.open_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

        self._folder: Path | None = None
        self.table.activated.connect(self._on_activated)  # double-click or Enter
        self.open_button.clicked.connect(self.open_current)
        self.table.selectionModel().currentChanged.connect(self._update_button)
        self.model.modelReset.connect(self._update_button)
        self.model.rowsRemoved.connect(self._update_button)

    def set_project_folder(self, folder: str | Path | None) -> None:
        self._folder = Path(folder) if folder else None
        self._update_button()

    # ---------------------------------------------------------------- panel contract

    def load(self, store: SessionStore) -> None:
        self.model.load(store)

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> None:
        self.model.apply_batch(batch, store)

    # ---------------------------------------------------------------- opening

    def paths(self) -> list[str]:
        return self.model.keys()

    def row_text(self, path: str) -> tuple[str, ...]:
        row = self.model.row_of(path)
        if row is None:
            raise KeyError(path)
        return tuple(str(self.model.index(row, column).data()) for column in range(len(COLUMNS)))

    def current_path(self) -> str | None:
        index = self.table.currentIndex()
        return index.data(PATH_ROLE) if index.isValid() else None

    def open_current(self) -> bool:
        path = self.current_path()
        return self.open_artifact(path) if path is not None else False

    def open_artifact(self, path: str) -> bool:
        """Open with the desktop's handler. Only project-relative paths that stay inside the folder."""
        normal = posixpath.normpath(path)
        if self._folder is None or normal.startswith(("/", "..")):
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._folder.joinpath(*normal.split("/")))))

    def _on_activated(self, index: QModelIndex) -> None:
        path = index.data(PATH_ROLE) if index.isValid() else None
        if path is not None:
            self.open_artifact(path)

    def _update_button(self, *_args: object) -> None:
        self.open_button.setEnabled(self._folder is not None and self.table.currentIndex().isValid())
