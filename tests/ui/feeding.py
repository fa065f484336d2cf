"""Helpers for the panel tests: a real SessionStore fed hand-built event messages, batch by batch."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex

from buildrunner_gui.model.store import SessionStore

Message = dict[str, Any]
# The offscreen platform warns on every top-level window shown with size hints; that is not the code under test.
OFFSCREEN_NOISE = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
TIMESTAMP = "2025-01-01T00:00:00.000Z"


def make_store(session_id: str = "s") -> SessionStore:
    return SessionStore(session_id, {"name": "Demo", "alias": None, "path": ""}, clock=lambda: TIMESTAMP)


def event(message_type: str, timestamp: str = TIMESTAMP, **fields: Any) -> Message:
    """An event message as the engine sends it, before `publish` stamps its session, epoch and seq."""
    return {"type": message_type, "session_id": "", "epoch": "", "seq": 0, "timestamp": timestamp, **fields}


def item(
    item_id: str,
    name: str | None = None,
    status: str = "pending",
    progress: float = 0.0,
    raw_status: str | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": name or item_id,
        "status": status,
        "raw_status": raw_status or status,
        "progress": progress,
        "metadata": metadata,
    }


def update(kind: str, entry: dict[str, Any], removed: bool = False) -> Message:
    """A `{kind}_update` message for an item (`removed` drops it)."""
    body = {key: value for key, value in entry.items() if key != "id"}
    return event(f"{kind}_update", **{f"{kind}_id": entry["id"]}, **body, removed=removed)


def terminal(text: str, output_type: str = "stdout", source: str = "log:build.log") -> Message:
    return event("terminal_output", output=text, output_type=output_type, source=source)


def file_change(path: str, file_type: str, change_type: str = "modified", **fields: Any) -> Message:
    body = {"content": None, "truncated": False, **fields}
    return event("file_change", file_path=path, file_type=file_type, change_type=change_type, **body)


def error(message: str, path: str | None = None, error_type: str = "parse_error") -> Message:
    return event("error", error_message=message, error_type=error_type, file_path=path, traceback=None)


def checkpoint(checkpoint_id: str, when: str, removed: bool = False, **fields: Any) -> Message:
    body = {
        "phase": "build",
        "status": "created",
        "tasks_completed": [],
        "files_created": [],
        "metadata": {},
        "checkpoint_timestamp": when,
        **fields,
    }
    return event("checkpoint_update", checkpoint_id=checkpoint_id, removed=removed, **body)


def publish(store: SessionStore, messages: Iterable[Message]) -> list[Message]:
    return store.publish([dict(message) for message in messages])


def feed(panel: Any, store: SessionStore, messages: Iterable[Message]) -> list[Message]:
    """Publish the messages as one batch and hand it to the panel, as the session does."""
    batch = publish(store, messages)
    panel.apply_batch(batch, store)
    return batch


class Signals:
    """Counts a model's structural signals; records the rows each one names."""

    def __init__(self, model: QAbstractItemModel, full_width: bool = True) -> None:
        self.resets = 0
        self.layouts = 0
        self.changed: list[tuple[int, int]] = []
        self.inserted: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []
        self._full_width = full_width
        model.modelReset.connect(self._reset)
        model.layoutChanged.connect(self._layout)
        model.dataChanged.connect(self._changed)
        model.rowsInserted.connect(self._inserted)
        model.rowsRemoved.connect(self._removed)

    def _reset(self) -> None:
        self.resets += 1

    def _layout(self, *_args: object) -> None:
        self.layouts += 1

    def _changed(self, top_left: QModelIndex, bottom_right: QModelIndex, *_roles: object) -> None:
        if self._full_width:
            assert top_left.column() == 0 and bottom_right.column() == bottom_right.model().columnCount() - 1
        self.changed.append((top_left.row(), bottom_right.row()))

    def _inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        self.inserted.append((first, last))

    def _removed(self, _parent: QModelIndex, first: int, last: int) -> None:
        self.removed.append((first, last))
