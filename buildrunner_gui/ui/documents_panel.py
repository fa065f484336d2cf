"""Context and spec documents: a list, and the selected one rendered as markdown, updated live."""

from __future__ import annotations

import bisect
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from .panel import Message

DOCUMENT_TYPES = ("context", "spec")
TRUNCATED_NOTE = "Showing the first 64 KiB of this document."


def human_size(size: int | None) -> str:
    if size is None or size < 0:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable; keeps type checkers content


def _title_of(content: str, path: str) -> str:
    """The first markdown heading, as the engine names documents (formats.Document.title)."""
    for line in content[:8192].splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and stripped.lstrip("#").strip():
            return stripped.lstrip("#").strip()[:200]
    return path.rsplit("/", 1)[-1]


class DocumentsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
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
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._docs: dict[str, dict[str, Any]] = {}  # path -> title, size, content, truncated
        self._paths: list[str] = []  # sorted, parallel to the list rows
        self._shown: str | None = None
        self.list.currentRowChanged.connect(self._on_row)

    # ---------------------------------------------------------------- panel contract

    def load(self, state: dict[str, Any]) -> None:
        shown = self._shown
        self.list.blockSignals(True)  # one render at the end, not one per row
        self.list.clear()
        self._docs.clear()
        self._paths.clear()
        for doc in sorted(state.get("documents", []), key=lambda d: d["file_path"]):
            self._put(doc["file_path"], dict(doc))
        self.list.blockSignals(False)
        keep = shown if shown in self._docs else (self._paths[0] if self._paths else None)
        self._shown = None
        self.show_document(keep)

    def apply(self, message: Message) -> None:
        if message.get("type") != "file_change" or message.get("file_type") not in DOCUMENT_TYPES:
            return
        path = message.get("file_path", "")
        content = message.get("content")
        if message.get("change_type") in ("deleted", "moved") and content is None:
            self._remove(path)
        elif content is not None:
            truncated = bool(message.get("truncated"))
            old = self._docs.get(path, {})
            # A truncated message tells only that the file is over 64 KiB: keep the size known before, if any.
            size = old.get("size") if truncated else len(content.encode("utf-8"))
            self._put(
                path,
                {
                    "file_path": path,
                    "title": _title_of(content, path),
                    "size": size,
                    "content": content,
                    "truncated": truncated,
                },
            )
            if path == self._shown:
                self._render(keep_scroll=True)
            elif self._shown is None:
                self.show_document(path)
        # content None on created/modified: the file could not be read; the last good text stays (as in the engine)

    # ---------------------------------------------------------------- selection and rendering

    def paths(self) -> list[str]:
        return list(self._paths)

    def shown_path(self) -> str | None:
        return self._shown

    def show_document(self, path: str | None) -> None:
        if path is None or path not in self._docs:
            self._shown = None
            self.list.setCurrentRow(-1)
            self.browser.clear()
            self.note.setVisible(False)
            return
        self.list.setCurrentRow(self._paths.index(path))  # renders through _on_row
        if self._shown != path:
            self._on_row(self._paths.index(path))

    def _on_row(self, row: int) -> None:
        path = self._paths[row] if 0 <= row < len(self._paths) else None
        if path == self._shown:
            return
        self._shown = path
        self._render(keep_scroll=False)

    def _render(self, keep_scroll: bool) -> None:
        doc = self._docs.get(self._shown or "")
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

    def _put(self, path: str, doc: dict[str, Any]) -> None:
        self._docs[path] = doc
        text = f"{doc.get('title') or path}\n{path} · {human_size(doc.get('size'))}"
        if path in self._paths:
            item = self.list.item(self._paths.index(path))
        else:
            index = bisect.bisect(self._paths, path)
            self._paths.insert(index, path)
            item = QListWidgetItem()
            self.list.insertItem(index, item)
        item.setText(text)
        item.setToolTip(path + (" (over 64 KiB; showing the start)" if doc.get("truncated") else ""))

    def _remove(self, path: str) -> None:
        if path not in self._docs:
            return
        del self._docs[path]
        index = self._paths.index(path)
        self._paths.pop(index)
        was_shown = path == self._shown
        self.list.blockSignals(True)
        self.list.takeItem(index)
        self.list.blockSignals(False)
        if was_shown:
            self._shown = None
            self.show_document(self._paths[min(index, len(self._paths) - 1)] if self._paths else None)
        elif self._shown is not None:
            self.list.blockSignals(True)
            self.list.setCurrentRow(self._paths.index(self._shown))
            self.list.blockSignals(False)
