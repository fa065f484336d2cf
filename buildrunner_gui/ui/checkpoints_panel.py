"""Checkpoint history, newest first, with a details pane for the selected checkpoint."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHeaderView, QPlainTextEdit, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .burnup_chart import parse_timestamp
from .panel import Message

COLUMNS = ("ID", "Phase", "Time", "Status")
ROLLED_BACK = "rolled_back"


def _local_time(text: str | None) -> str:
    moment = parse_timestamp(text)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


class CheckpointsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        for column in (0, 2, 3):  # at most 500 short rows: sizing to contents stays cheap
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
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

        # The data lives in Python dicts keyed by id; rows only display it.
        self._data: dict[str, dict[str, Any]] = {}
        self._rows: dict[str, QTreeWidgetItem] = {}
        self.tree.currentItemChanged.connect(self._show_details)

    # ---------------------------------------------------------------- panel contract

    def load(self, state: dict[str, Any]) -> None:
        self.tree.clear()
        self._data.clear()
        self._rows.clear()
        for row in reversed(state.get("checkpoints", [])):  # the snapshot is newest last
            record = dict(row)
            record["metadata"] = None  # the snapshot has none; checkpoint_update messages bring it
            self._add(record, at_top=False)
        self._show_details(self.tree.currentItem())

    def apply(self, message: Message) -> None:
        if message.get("type") != "checkpoint_update":
            return
        checkpoint_id = message.get("checkpoint_id", "")
        if message.get("removed"):
            row = self._rows.pop(checkpoint_id, None)
            self._data.pop(checkpoint_id, None)
            if row is not None:
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(row))
            self._show_details(self.tree.currentItem())
            return
        record = {
            key: message.get(key)
            for key in ("checkpoint_id", "phase", "status", "tasks_completed", "files_created", "metadata")
        }
        known = self._data.get(checkpoint_id)
        if known is not None:
            # The update message carries no checkpoint time: keep the one already shown.
            record["timestamp"], record["seen"] = known.get("timestamp"), known.get("seen", False)
            self._data[checkpoint_id] = record
            self._fill(self._rows[checkpoint_id], record)
            if self.tree.currentItem() is self._rows[checkpoint_id]:
                self._show_details(self._rows[checkpoint_id])
        else:
            record["timestamp"], record["seen"] = message.get("timestamp"), True
            self._add(record, at_top=True)

    def checkpoint_ids(self) -> list[str]:
        """The ids in display order (newest first)."""
        tree = self.tree
        return [tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(tree.topLevelItemCount())]

    # ---------------------------------------------------------------- rows

    def _add(self, record: dict[str, Any], at_top: bool) -> None:
        item = QTreeWidgetItem()
        checkpoint_id = record["checkpoint_id"]
        item.setData(0, Qt.ItemDataRole.UserRole, checkpoint_id)
        self._data[checkpoint_id] = record
        self._rows[checkpoint_id] = item
        self._fill(item, record)
        if at_top:
            self.tree.insertTopLevelItem(0, item)
        else:
            self.tree.addTopLevelItem(item)

    def _fill(self, item: QTreeWidgetItem, record: dict[str, Any]) -> None:
        rolled_back = record.get("status") == ROLLED_BACK
        time_text = _local_time(record.get("timestamp"))
        status = str(record.get("status") or "")
        values = (
            record["checkpoint_id"],
            str(record.get("phase") or ""),
            time_text + (" (seen)" if record.get("seen") else ""),
            "↩ rolled back" if rolled_back else status,
        )
        # Rolled-back rows: struck out, italic and dimmed, so the mark does not depend on colour alone.
        dimmed = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        normal = self.palette().color(QPalette.ColorRole.Text)
        for column, value in enumerate(values):
            item.setText(column, value)
            font = item.font(column)
            font.setStrikeOut(rolled_back)
            font.setItalic(rolled_back)
            item.setFont(column, font)
            item.setForeground(column, dimmed if rolled_back else normal)
        item.setToolTip(3, "Rolled back: kept in the history, not counted" if rolled_back else status)

    def _show_details(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None = None) -> None:
        record = self._data.get(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else None
        if record is None:
            self.details.clear()
            return
        time_label = "Seen at" if record.get("seen") else "Timestamp"
        lines = [
            f"Checkpoint: {record['checkpoint_id']}",
            f"Phase: {record.get('phase') or '—'}",
            f"Status: {record.get('status') or '—'}",
            f"{time_label}: {_local_time(record.get('timestamp'))}",
            "",
            *_list_section("Tasks completed", record.get("tasks_completed") or []),
            *_list_section("Files created", record.get("files_created") or []),
            "Metadata:",
        ]
        metadata = record.get("metadata")
        if metadata is None:
            lines.append("  (not in the snapshot; shown once this checkpoint is updated)")
        else:
            lines.extend(
                "  " + line for line in json.dumps(metadata, indent=2, ensure_ascii=False, default=str).splitlines()
            )
        self.details.setPlainText("\n".join(lines))


def _list_section(title: str, entries: list[str]) -> list[str]:
    return [f"{title} ({len(entries)}):", *(f"  • {entry}" for entry in entries), ""]
