"""List model of the context and spec documents, by path: rows are paths, data is the store's documents."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from ..model.classify import DOCUMENT_TYPES as CLASSIFIED_DOCUMENT_TYPES
from .file_rows_model import PATH_ROLE, FileRowsModel, human_size

__all__ = ["DOCUMENT_TYPES", "PATH_ROLE", "DocumentListModel", "human_size"]

AnyIndex = QModelIndex | QPersistentModelIndex
Message = dict[str, Any]

DOCUMENT_TYPES = tuple(sorted(CLASSIFIED_DOCUMENT_TYPES))
STATE_PREFIX = ".buildrunner/"


class DocumentListModel(FileRowsModel):
    FILE_TYPES = DOCUMENT_TYPES
    TABLE = "documents"

    def document(self, path: str) -> dict[str, Any] | None:
        return self.row_data(path)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else 1

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        path = self._keys[index.row()]
        if role == PATH_ROLE:
            return path
        doc = self.document(path)
        if doc is None:  # on its way out
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            # Every document is under .buildrunner/ but the project's spec: the folder goes without saying.
            return f"{doc.get('title') or path}\n{path.removeprefix(STATE_PREFIX)} · {human_size(doc.get('size'))}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return path + (" (over 64 KiB; showing the start)" if doc.get("truncated") else "")
        return None
