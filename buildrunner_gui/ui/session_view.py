"""All panels of one session, as tabs. It only routes: the store to every panel, each batch to all, and the
session's liveness to the stale banner over them and the overview.

Only the overview is built at once. Every other panel is built the first time it is needed (its tab shown, or
the panel asked for by name) and then loaded from the store, which holds everything it would have been shown:
a window opening thirty sessions builds thirty overviews, not two hundred and seventy panels."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QSize
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

# (name, tab title, how to build it), in tab order.
_PANELS: list[tuple[str, str, Callable[[], QWidget]]] = [
    ("overview", "&Overview", OverviewPanel),
    ("features", "&Features", lambda: ItemsPanel("feature")),
    ("components", "Co&mponents", lambda: ItemsPanel("component")),
    ("checkpoints", "C&heckpoints", CheckpointsPanel),
    ("documents", "&Documents", DocumentsPanel),
    ("artifacts", "&Artifacts", ArtifactsPanel),
    ("terminal", "&Terminal", TerminalPanel),
    ("activity", "Acti&vity", ActivityPanel),
    ("runs", "&Runs", RunsPanel),
]


class SessionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overview = OverviewPanel()
        self._built: dict[str, QWidget] = {"overview": self.overview}
        self._store: SessionStore | None = None  # the store last loaded: a panel built later loads from it
        self._artifact_folder: str | None = None
        self._swapping = False
        self._on_screen = True  # until the window says otherwise
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for name, title, _ in _PANELS:
            self.tabs.addTab(self.overview if name == "overview" else QWidget(), title)
        self.tabs.currentChanged.connect(self._build_shown)
        self.overview.reveal_requested.connect(self.reveal)
        self.stale_banner = StaleBanner()  # above the tabs: every panel is marked at once
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stale_banner)
        layout.addWidget(self.tabs)

    # The panels by name; each is built on first use.
    @property
    def features(self) -> ItemsPanel:
        return self._panel("features")  # type: ignore[return-value]

    @property
    def components(self) -> ItemsPanel:
        return self._panel("components")  # type: ignore[return-value]

    @property
    def checkpoints(self) -> CheckpointsPanel:
        return self._panel("checkpoints")  # type: ignore[return-value]

    @property
    def documents(self) -> DocumentsPanel:
        return self._panel("documents")  # type: ignore[return-value]

    @property
    def artifacts(self) -> ArtifactsPanel:
        return self._panel("artifacts")  # type: ignore[return-value]

    @property
    def terminal(self) -> TerminalPanel:
        return self._panel("terminal")  # type: ignore[return-value]

    @property
    def activity(self) -> ActivityPanel:
        return self._panel("activity")  # type: ignore[return-value]

    @property
    def runs(self) -> RunsPanel:
        return self._panel("runs")  # type: ignore[return-value]

    def panels(self) -> list[SessionPanel]:
        """The panels built so far, in tab order."""
        return [cast(SessionPanel, self._built[name]) for name, _, _ in _PANELS if name in self._built]

    def is_built(self, name: str) -> bool:
        return name in self._built

    def load(self, store: SessionStore) -> None:
        """The whole state: at start, and after a mirror reloaded it."""
        self._store = store
        # Only a local project's files are on this machine: a mirror's path names a folder on the sender's.
        local = store.source.get("kind") == "local"
        self._artifact_folder = (store.project.get("path") or None) if local else None
        if "artifacts" in self._built:
            self.artifacts.set_project_folder(self._artifact_folder)
        for panel in self.panels():
            panel.load(store)

    def apply_batch(self, batch: Batch, store: SessionStore) -> None:
        """Event messages just published, in seq order; `store` has already applied them all."""
        if batch:
            for panel in self.panels():
                panel.apply_batch(batch, store)

    def set_on_screen(self, on_screen: bool) -> None:
        """Whether the window shows this session now (it shows one at a time)."""
        self._on_screen = on_screen
        self.overview.set_on_screen(on_screen)
        self.updateGeometry()

    # The window's stack of sessions asks every page for its size on each layout pass; a page off screen
    # answers at once instead of laying out its labels' text (with thirty sessions, most of the window's time).
    def sizeHint(self) -> QSize:
        return super().sizeHint() if self._on_screen else QSize(0, 0)

    def minimumSizeHint(self) -> QSize:
        return super().minimumSizeHint() if self._on_screen else QSize(0, 0)

    # The stack also asks each page whether its height depends on its width, which makes the page's layout size
    # every label it holds (a word-wrapped label lays out its whole text for that): off screen, it does not.
    def hasHeightForWidth(self) -> bool:
        return super().hasHeightForWidth() if self._on_screen else False

    def _panel(self, name: str) -> QWidget:
        panel = self._built.get(name)
        return panel if panel is not None else self._build(name)

    def _build_shown(self, index: int) -> None:
        if not self._swapping and 0 <= index < len(_PANELS):
            self._panel(_PANELS[index][0])

    def _build(self, name: str) -> QWidget:
        index = next(i for i, (known, _, _) in enumerate(_PANELS) if known == name)
        panel = _PANELS[index][2]()
        self._built[name] = panel
        if name == "artifacts":
            panel.set_project_folder(self._artifact_folder)  # type: ignore[attr-defined]
        if self._store is not None:
            cast(SessionPanel, panel).load(self._store)
        # The panel takes its placeholder's place in the tabs, the tab shown staying shown.
        placeholder = self.tabs.widget(index)
        current = self.tabs.currentIndex()
        self._swapping = True
        try:
            self.tabs.insertTab(index, panel, _PANELS[index][1])
            self.tabs.removeTab(index + 1)
            self.tabs.setCurrentIndex(current)
        finally:
            self._swapping = False
        if placeholder is not None:
            placeholder.deleteLater()
        return panel

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
        current = self.tabs.currentWidget()  # compared with the built panels only: nothing is built to ask
        if current is self._built.get("terminal"):
            self.terminal.focus_search()
        elif isinstance(current, ItemsPanel):
            current.focus_filter()
        else:
            self.tabs.setCurrentWidget(self.features)
            self.features.focus_filter()
