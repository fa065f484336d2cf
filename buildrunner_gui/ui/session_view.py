"""All panels of one session, as tabs. It only routes: the store to every panel, each batch to all, and the
session's liveness to the stale banner over them and the overview."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ..model.failure_lines import plain
from .activity_panel import ActivityPanel
from .artifacts_panel import ArtifactsPanel
from .checkpoints_panel import CheckpointsPanel
from .documents_panel import DocumentsPanel
from .items_panel import ItemsPanel
from .overview_panel import OverviewPanel
from .panel import Batch, SessionPanel
from .runs_panel import RunsPanel
from .stale_banner import StaleBanner
from .terminal_view import TerminalPanel

if TYPE_CHECKING:
    from ..model.liveness import Liveness
    from ..model.store import SessionStore


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
        self.runs = RunsPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for panel, title in self.panels_with_titles():
            self.tabs.addTab(panel, title)
        self.overview.reveal_requested.connect(self.reveal)
        self.stale_banner = StaleBanner()  # above the tabs: every panel is marked at once
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stale_banner)
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
            (self.runs, "&Runs"),
        ]

    def panels(self) -> list[SessionPanel]:
        return [panel for panel, _ in self.panels_with_titles()]  # type: ignore[misc]

    def load(self, store: SessionStore) -> None:
        """The whole state: at start, and after a mirror reloaded it."""
        # Only a local project's files are on this machine: a mirror's path names a folder on the sender's.
        local = store.source.get("kind") == "local"
        self.artifacts.set_project_folder((store.project.get("path") or None) if local else None)
        for panel in self.panels():
            panel.load(store)

    def apply_batch(self, batch: Batch, store: SessionStore) -> None:
        """Event messages just published, in seq order; `store` has already applied them all."""
        if batch:
            for panel in self.panels():
                panel.apply_batch(batch, store)

    def show_liveness(self, shown: Liveness, location: str) -> None:
        """Whether what the panels show is live (a mirror's connection), and where it comes from."""
        self.stale_banner.show_liveness(shown)
        self.overview.show_liveness(shown, location)

    def reveal(self, where: str, ref: str) -> None:
        """Show the checkpoint, item, run output or terminal line a failure points at (the overview's link)."""
        if where == "checkpoint":
            self.tabs.setCurrentWidget(self.checkpoints)
            self.checkpoints.select(ref)
        elif where in ("feature", "component"):
            panel = self.features if where == "feature" else self.components
            self.tabs.setCurrentWidget(panel)
            row = panel.model.row_of(ref)
            if row is not None:
                index = panel.proxy.mapFromSource(panel.model.index(row, 0))
                panel.table.setCurrentIndex(index)
                panel.table.scrollTo(index)
        elif where == "run":  # a run of the build command: its output ends the terminal
            self.tabs.setCurrentWidget(self.terminal)
            self.terminal.text_edit().moveCursor(QTextCursor.MoveOperation.End)
        elif where == "terminal":
            self.tabs.setCurrentWidget(self.terminal)
            edit = self.terminal.text_edit()
            edit.moveCursor(QTextCursor.MoveOperation.End)
            first_line = plain(ref).splitlines()[0].rstrip("…") if ref.strip() else ""
            if first_line and not edit.find(first_line, QTextDocument.FindFlag.FindBackward):
                edit.moveCursor(QTextCursor.MoveOperation.End)

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
