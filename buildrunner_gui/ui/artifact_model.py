"""Table model of the build's artifacts, by path: rows are paths, data (size, modified) is the store's."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from .burnup_chart import parse_timestamp
from .file_rows_model import PATH_ROLE, FileRowsModel, human_size
from .when import ago

AnyIndex = QModelIndex | QPersistentModelIndex
Message = dict[str, Any]

COLUMNS = ("Path", "Size", "Modified")
COL_PATH, COL_SIZE, COL_MODIFIED = range(3)
_NUMBER_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _local(text: str | None, pattern: str) -> str:
    moment = parse_timestamp(text)
    return moment.astimezone().strftime(pattern) if moment else "—"


class ArtifactTableModel(FileRowsModel):
    FILE_TYPES = ("artifact",)
    TABLE = "artifacts"

    def artifact(self, path: str) -> dict[str, Any] | None:
        return self.row_data(path)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return COLUMNS[section] if 0 <= section < len(COLUMNS) else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        path = self._keys[index.row()]
        if role == PATH_ROLE:
            return path
        artifact = self.artifact(path)
        if artifact is None:  # on its way out
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_PATH:
                return path
            if column == COL_SIZE:
                return human_size(artifact.get("size"))
            return _local(artifact.get("modified"), "%Y-%m-%d %H:%M:%S")
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COL_SIZE:
            return _NUMBER_ALIGN
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_SIZE:
                size = artifact.get("size")
                return f"{size:,} bytes" if isinstance(size, int) else None
            if column == COL_MODIFIED:
                moment = parse_timestamp(artifact.get("modified"))
                return f"{moment.astimezone().isoformat(timespec='seconds')} ({ago(moment)})" if moment else None
            return path
        return None
