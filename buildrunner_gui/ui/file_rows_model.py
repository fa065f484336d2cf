"""A table model whose rows are the paths of one of the store's file tables (documents or artifacts).

The rows follow the store: a batch's `file_change` messages of the model's file types (and the state folder
going away, which takes every file in it) re-sync the row order; the data is always the store's own row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QObject, Qt

from ..model.classify import STATE_DIR
from .keyed_model import KeyedTableModel

if TYPE_CHECKING:
    from ..model.store import SessionStore

Message = dict[str, Any]

PATH_ROLE = int(Qt.ItemDataRole.UserRole)


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


class FileRowsModel(KeyedTableModel):
    FILE_TYPES: ClassVar[tuple[str, ...]] = ()
    TABLE: ClassVar[str] = ""  # the store's attribute holding the rows by path

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store: SessionStore | None = None

    def load(self, store: SessionStore) -> None:
        self._store = store
        self.reset_keys(sorted(getattr(store, self.TABLE)))

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> dict[str, None]:
        """The batch's changes of these files; returns the paths they touched."""
        touched, state_dir_gone = touched_paths(batch, self.FILE_TYPES)
        if touched or state_dir_gone:
            self._store = store
            self.sync_keys(sorted(getattr(store, self.TABLE)), touched)
        return touched

    def row_data(self, path: str) -> dict[str, Any] | None:
        """The store's row for `path` (None while a removed row is on its way out)."""
        return None if self._store is None else getattr(self._store, self.TABLE).get(path)
