"""All panels of one session, as tabs. It only routes: the snapshot to every panel, each message to all."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from .activity_panel import ActivityPanel
from .artifacts_panel import ArtifactsPanel
from .checkpoints_panel import CheckpointsPanel
from .documents_panel import DocumentsPanel
from .items_panel import ItemsPanel
from .overview_panel import OverviewPanel
from .terminal_view import TerminalPanel

Message = dict[str, Any]


class SessionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overview = OverviewPanel()
        self.features = ItemsPanel("feature")
        self.components = ItemsPanel("component")
        self.checkpoints = CheckpointsPanel()
        self.documents = DocumentsPanel()
        self.artifacts = ArtifactsPanel()
        self.terminal = TerminalPanel()
        self.activity = ActivityPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for panel, title in self.panels_with_titles():
            self.tabs.addTab(panel, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def panels_with_titles(self) -> list[tuple[QWidget, str]]:
        return [
            (self.overview, "&Overview"),
            (self.features, "&Features"),
            (self.components, "Co&mponents"),
            (self.checkpoints, "C&heckpoints"),
            (self.documents, "&Documents"),
            (self.artifacts, "&Artifacts"),
            (self.terminal, "&Terminal"),
            (self.activity, "Acti&vity"),
        ]

    def load(self, state: dict[str, Any]) -> None:
        project_folder = state["project"].get("path") or ""
        if project_folder:
            self.artifacts.set_project_folder(project_folder)
        for panel, _ in self.panels_with_titles():
            panel.load(state)  # type: ignore[attr-defined]

    def apply_batch(self, batch: list[Message]) -> None:
        panels = [panel for panel, _ in self.panels_with_titles()]
        for message in batch:
            for panel in panels:
                panel.apply(message)  # type: ignore[attr-defined]

    def focus_filter(self) -> None:
        """Ctrl+F: the filter of the table shown, else the terminal's search."""
        current = self.tabs.currentWidget()
        if current is self.terminal:
            self.terminal.focus_search()
        elif current in (self.features, self.components):
            current.focus_filter()  # type: ignore[union-attr]
        else:
            self.tabs.setCurrentWidget(self.features)
            self.features.focus_filter()
