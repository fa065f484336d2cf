"""List model of the context and spec documents, by path: rows are paths, data is the store's documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from .keyed_model import KeyedTableModel

if TYPE_CHECKING:
    from ..model.store import SessionStore

AnyIndex = QModelIndex | QPersistentModelIndex
Message = dict[str, Any]

DOCUMENT_TYPES = ("context", "spec")
PATH_ROLE = int(Qt.ItemDataRole.UserRole)
STATE_DIR = ".buildrunner"  # its removal takes every document inside with it (the store drops them all)


def human_size(size: int | None) -> str:
    if size is None or size < 0:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable; keeps type checkers content


def touched_paths(batch: Sequence[Message], file_types: tuple[str, ...]) -> tuple[dict[str, None], bool]:
    """The paths of the batch's `file_change` messages of these types, and whether the state folder went away."""
    touched: dict[str, None] = {}
    state_dir_gone = False
    for message in batch:
        if message["type"] != "file_change":
            continue
        if message["file_type"] in file_types:
            touched[message["file_path"]] = None
        elif message["file_path"] == STATE_DIR and message["change_type"] in ("deleted", "moved"):
            state_dir_gone = True
    return touched, state_dir_gone


class DocumentListModel(KeyedTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store: SessionStore | None = None

    def load(self, store: SessionStore) -> None:
        self._store = store
        self.reset_keys(sorted(store.documents))

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> dict[str, None]:
        """The batch's document changes; returns the paths they touched."""
        touched, state_dir_gone = touched_paths(batch, DOCUMENT_TYPES)
        if touched or state_dir_gone:
            self._store = store
            self.sync_keys(sorted(store.documents), touched)
        return touched

    def document(self, path: str) -> dict[str, Any] | None:
        return None if self._store is None else self._store.documents.get(path)

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
            return f"{doc.get('title') or path}\n{path} · {human_size(doc.get('size'))}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return path + (" (over 64 KiB; showing the start)" if doc.get("truncated") else "")
        return None
