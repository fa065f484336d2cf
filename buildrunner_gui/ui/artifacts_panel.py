"""The build's artifacts: path, size and modified time, live from file changes; opens a file on request."""

from __future__ import annotations

import bisect
import posixpath
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .burnup_chart import parse_timestamp
from .documents_panel import human_size
from .panel import Message

COLUMNS = ("Path", "Size", "Modified")


class ArtifactsPanel(QWidget):
    """Sizes and times come from the snapshot only: a change message carries neither, and this panel never
    stats files (it runs on the GUI thread), so a changed row keeps its last known size and is marked updated.

    `set_project_folder` enables opening files; without it (a remote mirror) paths are shown but not opened."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
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
        self._paths: list[str] = []  # sorted, parallel to the table rows
        self.table.activated.connect(self._on_activated)  # double-click or Enter
        self.open_button.clicked.connect(self.open_current)
        self.table.itemSelectionChanged.connect(self._update_button)

    def set_project_folder(self, folder: str | Path | None) -> None:
        self._folder = Path(folder) if folder else None
        self._update_button()

    # ---------------------------------------------------------------- panel contract

    def load(self, state: dict[str, Any]) -> None:
        self.table.setRowCount(0)
        self._paths.clear()
        for artifact in sorted(state.get("artifacts", []), key=lambda a: a["file_path"]):
            modified = parse_timestamp(artifact.get("modified"))
            self._put(
                artifact["file_path"],
                human_size(artifact.get("size")),
                modified.astimezone().strftime("%Y-%m-%d %H:%M") if modified else "—",
                updated=False,
            )
        self._update_button()

    def apply(self, message: Message) -> None:
        if message.get("type") != "file_change" or message.get("file_type") != "artifact":
            return
        path = message.get("file_path", "")
        if message.get("change_type") in ("deleted", "moved") and path in self._paths:
            # "moved" for an artifact path means it moved away; its new name arrives as "created".
            self.table.removeRow(self._paths.index(path))
            self._paths.remove(path)
            self._update_button()
        elif message.get("change_type") in ("created", "modified"):
            seen = parse_timestamp(message.get("timestamp"))
            when = seen.astimezone().strftime("%H:%M:%S") if seen else ""
            size = message.get("size")
            self._put(
                path, human_size(size) if isinstance(size, int) else None, f"updated {when}".strip(), updated=True
            )

    # ---------------------------------------------------------------- opening

    def paths(self) -> list[str]:
        return list(self._paths)

    def row_text(self, path: str) -> tuple[str, ...]:
        row = self._paths.index(path)
        return tuple(self.table.item(row, column).text() for column in range(len(COLUMNS)))

    def open_current(self) -> bool:
        row = self.table.currentRow()
        return self.open_artifact(self._paths[row]) if 0 <= row < len(self._paths) else False

    def open_artifact(self, path: str) -> bool:
        """Open with the desktop's handler. Only project-relative paths that stay inside the folder."""
        normal = posixpath.normpath(path)
        if self._folder is None or normal.startswith(("/", "..")):
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._folder.joinpath(*normal.split("/")))))

    def _on_activated(self, index: QModelIndex) -> None:
        if 0 <= index.row() < len(self._paths):
            self.open_artifact(self._paths[index.row()])

    def _update_button(self) -> None:
        self.open_button.setEnabled(self._folder is not None and self.table.currentRow() >= 0)

    # ---------------------------------------------------------------- rows

    def _put(self, path: str, size: str | None, modified: str, updated: bool) -> None:
        if path in self._paths:
            row = self._paths.index(path)
        else:
            row = bisect.bisect(self._paths, path)
            self._paths.insert(row, path)
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(path))
            self.table.setItem(row, 1, QTableWidgetItem("—"))  # unknown until the next snapshot
            self.table.setItem(row, 2, QTableWidgetItem())
        self.table.item(row, 0).setToolTip(path)
        if size is not None:
            self.table.item(row, 1).setText(size)
        self.table.item(row, 1).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        cell = self.table.item(row, 2)
        cell.setText(modified)
        font = cell.font()
        font.setItalic(updated)  # italic: the time the change was seen, not the file's own mtime
        cell.setFont(font)
        cell.setToolTip("Changed during this session; size shown is the last known" if updated else modified)
