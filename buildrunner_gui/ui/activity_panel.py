"""Recent file changes and errors, newest first, with an "errors only" filter."""

from __future__ import annotations

from collections import deque
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHeaderView, QStyle, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .burnup_chart import parse_timestamp
from .panel import Message

# The snapshot's own bounds (the last 200 file changes, the last 100 errors): the panel shows no more than a
# fresh snapshot would, so a long session cannot grow the list (300 rows at most, well under 1,000).
FILE_ROWS = 200
ERROR_ROWS = 100
COLUMNS = ("Time", "Kind", "Path", "Detail")
KIND_ROLE = Qt.ItemDataRole.UserRole


def _seconds(event: dict[str, Any]) -> float:
    moment = parse_timestamp(event.get("timestamp"))
    return moment.timestamp() if moment else 0.0


def _one_line(text: str) -> str:
    return " ".join(text.split())


class ActivityPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors_only = QCheckBox("Errors only")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(1, 200)
        header.resizeSection(2, 320)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.errors_only)
        layout.addWidget(self.tree)
        style = self.style()
        self._icons = {
            "file": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
        }
        self._rows: dict[str, deque[QTreeWidgetItem]] = {"file": deque(), "error": deque()}
        self.errors_only.toggled.connect(self._apply_filter)

    # ---------------------------------------------------------------- panel contract

    def load(self, state: dict[str, Any]) -> None:
        self.tree.clear()
        for rows in self._rows.values():
            rows.clear()
        events = [("file", row) for row in state.get("files", [])[-FILE_ROWS:]]
        events += [("error", row) for row in state.get("errors", [])[-ERROR_ROWS:]]
        # Oldest first, each added on top, so the newest ends first. The sort is stable: at one moment a file
        # change stays before its error (the engine reports an unreadable file's change, then the error).
        events.sort(key=lambda event: _seconds(event[1]))
        for kind, row in events:
            self._add(kind, row)

    def apply(self, message: Message) -> None:
        if message.get("type") == "file_change":
            self._add("file", message)
        elif message.get("type") == "error":
            self._add("error", message)

    def row_count(self, kind: str | None = None) -> int:
        return sum(len(rows) for key, rows in self._rows.items() if kind in (None, key))

    def visible_rows(self) -> list[tuple[str, ...]]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [tuple(item.text(c) for c in range(len(COLUMNS))) for item in items if not item.isHidden()]

    # ---------------------------------------------------------------- rows

    def _add(self, kind: str, event: dict[str, Any]) -> None:
        moment = parse_timestamp(event.get("timestamp"))
        time_text = moment.astimezone().strftime("%H:%M:%S") if moment else ""
        path = event.get("file_path") or ""
        if kind == "error":
            detail = _one_line(str(event.get("error_message") or ""))
            label = f"error: {event.get('error_type') or 'error'}"
        else:
            detail = str(event.get("file_type") or "")
            label = str(event.get("change_type") or "")
        item = QTreeWidgetItem([time_text, label, path, detail])
        item.setData(0, KIND_ROLE, kind)
        item.setIcon(1, self._icons[kind])
        if moment:
            item.setToolTip(0, moment.astimezone().isoformat(timespec="seconds"))
        item.setToolTip(3, detail)
        if kind == "error":
            font = item.font(1)
            font.setBold(True)
            for column in range(len(COLUMNS)):
                item.setFont(column, font)
        self.tree.insertTopLevelItem(0, item)
        item.setHidden(kind == "file" and self.errors_only.isChecked())
        rows = self._rows[kind]
        rows.append(item)
        if len(rows) > (FILE_ROWS if kind == "file" else ERROR_ROWS):
            oldest = rows.popleft()
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(oldest))

    def _apply_filter(self, errors_only: bool) -> None:
        for item in self._rows["file"]:
            item.setHidden(errors_only)
