"""The session overview: what the build is doing now, and the burn-up chart below it.

The top answers at a glance (`model/now.py` derives the answers): building or idle since when, the current phase
and items, started and elapsed, the last change, the newest terminal line and, when the build failed, why, with a
link to the checkpoint, item or line that says so. The headline % says what it is a percentage of.

Everything shown is read from the store once per batch (its figures are kept incrementally there), so a batch of
10,000 item updates costs a few label updates here, not a re-count per message; a one-second timer (only while
the panel is visible) moves "elapsed" and "12 s ago" along.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFontDatabase,
    QHideEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QShowEvent,
)
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from ..model.activity import ago, duration, local_time
from ..model.now import WhatNow, what_now
from .burnup_chart import BurnUpChart, parse_timestamp
from .panel import Message

if TYPE_CHECKING:
    from ..model.liveness import Liveness
    from ..model.store import SessionStore

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; the shape and text carry the meaning too.
STATUS_COLOURS: dict[str, str] = {
    "in_progress": "#0072B2",  # blue
    "completed": "#009E73",  # bluish green
    "failed": "#D55E00",  # vermillion
    "pending": "#999999",  # grey
}
STATUS_TEXT = {"in_progress": "In progress", "completed": "Completed", "failed": "Failed", "pending": "Pending"}
REFRESH_MS = 1_000  # "elapsed" and "12 s ago" move on while the panel is shown
FAILED_RED = "#D55E00"
HISTORY_POINTS = 2_000  # one point per build_progress message; bounded for very long sessions
LAST_LINE_CHARS = 200  # the newest terminal line on one line; the whole of it in the tooltip
_SHOWN_TYPES = frozenset(("component_update", "feature_update", "checkpoint_update", "build_progress", "run_update"))


class StatusBadge(QWidget):
    """A coloured shape plus the status word: triangle (in progress), disc (completed), square (failed),
    ring (pending). Shape and text, not colour alone, tell the statuses apart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._status = "pending"
        self.setMinimumHeight(24)

    @property
    def status(self) -> str:
        return self._status

    def text(self) -> str:
        return STATUS_TEXT.get(self._status, self._status)

    def set_status(self, status: str) -> None:
        self._status = status if status in STATUS_COLOURS else "pending"
        self.setAccessibleName(f"Status: {self.text()}")
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self.text()) + 40, max(24, self.fontMetrics().height() + 8))

    def paintEvent(self, event: QPaintEvent) -> None:
        colour = QColor(STATUS_COLOURS[self._status])
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            side = min(self.height() - 8, 16)
            box = QRectF(4, (self.height() - side) / 2, side, side)
            painter.setPen(QPen(colour, 2))
            painter.setBrush(colour)
            if self._status == "in_progress":
                painter.drawPolygon(
                    QPolygonF([box.topLeft(), box.bottomLeft(), QPointF(box.right(), box.center().y())])
                )
            elif self._status == "completed":
                painter.drawEllipse(box)
            elif self._status == "failed":
                painter.drawRect(box.adjusted(1, 1, -1, -1))
            else:
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(box.adjusted(1, 1, -1, -1))
            painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            text_rect = QRectF(box.right() + 8, 0, self.width() - box.right() - 8, self.height())
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.text())
        finally:
            painter.end()


class OverviewPanel(QWidget):
    reveal_requested = Signal(str, str)  # where ("checkpoint", "feature", "component", "terminal"), ref

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_label = QLabel()
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.name_label.setFont(font)
        self.path_label = QLabel()
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badge = StatusBadge()
        self.connection_label = QLabel()  # a mirror's connection beside the badge: "live", "reconnecting in 9 s"
        self.connection_label.setAccessibleName("Connection")
        self.connection_label.hide()
        # What now: one line each, the most important first.
        self.activity_label = _line("Activity")
        bold = self.activity_label.font()
        bold.setBold(True)
        self.activity_label.setFont(bold)
        self.times_label = _line("Times")
        self.last_line_label = _line("Newest terminal line")
        self.run_label = _line("Build run")  # the last run of the build command, and the time left
        self.last_line_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # One line, the rest in its tooltip: a build's lines run to hundreds of characters, and a wrapped one is
        # laid out again (through a text document) every time the overview's layout asks its size.
        self.last_line_label.setWordWrap(False)
        self.failure_label = _line("Why it failed")
        self.failure_label.setTextFormat(Qt.TextFormat.RichText)
        self.failure_label.setOpenExternalLinks(False)
        self.failure_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.failure_label.setStyleSheet(f"QLabel {{ color: {FAILED_RED}; }}")
        self.failure_label.linkActivated.connect(self._follow_link)
        self.failure_label.hide()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)  # tenths of a percent, so "99.1%" matches the bar
        self.progress_bar.setMinimumHeight(28)
        self.progress_bar.setTextVisible(True)
        self.headline_label = _line("What the percentage counts")
        self.count_labels = {key: QLabel("0") for key in ("features", "components", "tasks", "files", "checkpoints")}
        self.last_update_label = self.times_label  # the last change is part of the times line
        self.hint_label = _line("Next step")
        self.hint_label.hide()
        self.chart = BurnUpChart()

        header = QHBoxLayout()
        header.addWidget(self.name_label, 1)
        header.addWidget(self.connection_label)
        header.addWidget(self.badge)
        counts = QGridLayout()  # two pairs a row: compact, and narrow enough for a small window
        for index, (key, title) in enumerate(
            (
                ("features", "Features"),
                ("components", "Components"),
                ("tasks", "Tasks completed"),
                ("files", "Files created"),
                ("checkpoints", "Checkpoints"),
            )
        ):
            row, column = divmod(index, 2)
            counts.addWidget(QLabel(title + ":"), row, column * 2)
            counts.addWidget(self.count_labels[key], row, column * 2 + 1)
        counts.setColumnStretch(1, 1)
        counts.setColumnStretch(3, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.path_label)
        for label in (
            self.activity_label,
            self.times_label,
            self.run_label,
            self.last_line_label,
            self.failure_label,
        ):
            layout.addWidget(label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.headline_label)
        layout.addLayout(counts)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.chart, 1)  # the chart takes what the answers leave

        # Parented to the widget so it dies with it; runs only while the panel is visible.
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._show_now)

        self.stall_minutes = 10.0  # the stall alert's setting: "building" only while something wrote this recently
        self._store: SessionStore | None = None
        self._location: str | None = None  # a mirror's "mirror of HOST:PORT", shown instead of the sender's path
        self._project_key: tuple[str, str] | None = None
        self._history: deque[tuple[datetime, float]] = deque(maxlen=HISTORY_POINTS)
        self._marks: list[datetime] = []  # checkpoint times, drawn as ticks (their completion is unknown)
        # Off screen (another session shown), batches only record history; the labels and the chart are
        # redrawn once, when the session is shown again.
        self._on_screen = True
        self._behind = False
        self._show_progress({"percent": 0.0, "status": "pending", "tasks_completed": 0, "files_created": 0})

    # ---------------------------------------------------------------- panel contract

    def load(self, store: SessionStore) -> None:
        self._store = store
        key = self._show_project(store)
        percent = float(store.progress["percent"])
        self._marks = _checkpoint_times(store)
        if key == self._project_key and self._history:
            # A reload of the same session (e.g. a mirror that fell behind): keep the history seen so far.
            if self._history[-1][1] != percent:
                self._history.append((datetime.now(UTC), percent))
        else:
            # Checkpoints carry no completion, so earlier values are unknown: the chart gets one known value (the
            # current percent, at the last checkpoint's time) and the checkpoint times as bare marks, rather than
            # invented percentages. build_progress messages add real points from then on.
            self._history.clear()
            self._history.append((self._marks[-1] if self._marks else datetime.now(UTC), percent))
        self._project_key = key
        self._show_store(store)
        self._show_history()

    def apply_batch(self, batch: Sequence[Message], store: SessionStore) -> None:
        self._store = store
        shown = False
        history = False
        for message in batch:
            kind = message["type"]
            if kind == "build_progress":
                moment = parse_timestamp(message["timestamp"]) or datetime.now(UTC)
                self._history.append((moment, float(message["percent"])))
                history = True
            elif kind == "checkpoint_update":
                history = True
            shown = shown or kind in _SHOWN_TYPES
        if not self._on_screen:
            self._behind = self._behind or shown or history or any(m["type"] == "terminal_output" for m in batch)
            return
        if not shown:
            if any(message["type"] == "terminal_output" for message in batch):
                self._show_now()  # the newest line, and what it may say about a failure
            return
        if history:
            self._marks = _checkpoint_times(store)
            self._show_history()
        self._show_project(store)
        self._show_store(store)

    def set_on_screen(self, on_screen: bool) -> None:
        """Whether the window shows this session; coming back on screen redraws what changed meanwhile."""
        self._on_screen = on_screen
        if on_screen and self._behind and self._store is not None:
            self._behind = False
            self._marks = _checkpoint_times(self._store)
            self._show_history()
            self._show_project(self._store)
            self._show_store(self._store)

    # ---------------------------------------------------------------- views

    def history(self) -> list[tuple[datetime, float]]:
        return list(self._history)

    def what_now(self) -> WhatNow | None:
        """The answers shown at the top (None before the first state)."""
        if self._store is None:
            return None
        return what_now(self._store, datetime.now(UTC), self.stall_minutes)

    def show_liveness(self, shown: Liveness, location: str) -> None:
        """A mirror says where it comes from (never the sender's folder path, which means nothing here) and
        whether it is live; a local project shows its folder and nothing more."""
        self._location = None if shown.state == "local" else location
        if self._project_key is not None:
            self.path_label.setText(self._location or self._project_key[1])
        self.connection_label.setVisible(shown.state != "local")
        self.connection_label.setText(("● " if shown.live else "○ ") + shown.summary)
        self.connection_label.setToolTip(shown.detail)

    def _show_progress(self, progress: dict[str, Any]) -> None:
        self._progress = {k: progress.get(k, 0) for k in ("percent", "status", "tasks_completed", "files_created")}
        percent = float(self._progress["percent"] or 0.0)
        # QProgressBar.setValue repaints at once (the whole window's backing store is flushed with it): with
        # updates held, the change is drawn with the next paint instead, once however many batches came.
        self.progress_bar.setUpdatesEnabled(False)
        try:
            self.progress_bar.setValue(round(percent * 10))
            self.progress_bar.setFormat(f"{percent:.1f}%")
        finally:
            self.progress_bar.setUpdatesEnabled(True)  # schedules one update()
        self.badge.set_status(str(self._progress["status"] or "pending"))
        self._show_counts()

    def _show_project(self, store: SessionStore) -> tuple[str, str]:
        key = (store.project.get("name") or "", store.project.get("path") or "")
        self.name_label.setText(key[0])
        self.path_label.setText(self._location or key[1])
        return key

    def _show_store(self, store: SessionStore) -> None:
        self._show_progress({**store.progress, "status": store.status})  # the session's status (a run's failure)
        for key, kind in (("features", "feature"), ("components", "component")):
            stats = store.stats(kind)
            self.count_labels[key].setText(f"{stats['completed']} / {stats['total']} completed")
        self.count_labels["checkpoints"].setText(str(len(store.checkpoints)))
        self._show_now()

    def _show_now(self) -> None:
        now = self.what_now()
        if now is None:
            return
        moment = datetime.now(UTC)
        state = now.activity
        parts = [state.text[:1].upper() + state.text[1:]]
        if now.phase:
            parts.append(f"phase {now.phase}")
        if now.current:
            parts.append(f"working on {now.current}")
        self.activity_label.setText(" · ".join(parts))
        times = []
        if now.started is not None:
            times.append(f"started {local_time(now.started, moment)}")
        if now.span is not None:
            times.append(f"{'elapsed' if state.building else 'took'} {duration(now.span)}")
        times.append(f"last change {ago(now.last_change, moment)}")
        self.times_label.setText(" · ".join(times))
        self.run_label.setText(now.run[:1].upper() + now.run[1:])
        self.run_label.setVisible(bool(now.run))
        self._show_last_line(now.last_line)
        self._show_failure(now)
        self.headline_label.setText(now.headline)
        self._show_hint()

    def _show_last_line(self, line: str) -> None:
        shown = line if len(line) <= LAST_LINE_CHARS else line[: LAST_LINE_CHARS - 1] + "…"
        self.last_line_label.setText(f"$ {shown}" if line else "")
        self.last_line_label.setToolTip(line if shown != line else "")
        self.last_line_label.setVisible(bool(line))

    def _show_failure(self, now: WhatNow) -> None:
        failure = now.failure
        self.failure_label.setVisible(failure is not None)
        if failure is None:
            return
        target = {
            "checkpoint": "the checkpoint",
            "feature": "the feature",
            "component": "the component",
            "run": "its output",
        }
        shown = target.get(failure.where, "the line")
        link = f'<a href="{failure.where}:{escape(failure.ref, quote=True)}">show {shown}</a>'
        self.failure_label.setText(f"✖ Failed: {escape(failure.reason)} — {link}")
        self.failure_label.setToolTip(failure.reason)

    def _show_hint(self) -> None:
        """A project with nothing built yet says how to start (the chart would only say "no history")."""
        store = self._store
        empty = store is not None and not store.checkpoints and not store.items["feature"] and not store.terminal
        if empty and self._location is None:
            self.hint_label.setText(
                "Nothing built yet. Run BuildRunner in the project's folder to start its first build: its "
                "checkpoints, features and logs appear here as it writes them into .buildrunner/."
            )
        self.hint_label.setVisible(bool(empty and self._location is None))

    def _follow_link(self, link: str) -> None:
        where, _, ref = link.partition(":")
        self.reveal_requested.emit(where, ref)

    def _show_counts(self) -> None:
        self.count_labels["tasks"].setText(str(self._progress.get("tasks_completed", 0)))
        self.count_labels["files"].setText(str(self._progress.get("files_created", 0)))

    def _show_history(self) -> None:
        self.chart.set_points(list(self._history))
        self.chart.set_marks(self._marks)
        if self._store is not None:
            self.chart.set_failed_marks(_failed_checkpoint_times(self._store))

    # ---------------------------------------------------------------- the refresh timer follows visibility

    def showEvent(self, event: QShowEvent) -> None:
        self._show_now()
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        super().closeEvent(event)


def _line(name: str) -> QLabel:
    label = QLabel()
    label.setAccessibleName(name)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # long text wraps, never widens
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _failed_checkpoint_times(store: SessionStore) -> list[datetime]:
    times = (parse_timestamp(row["timestamp"]) for row in store.ordered_checkpoints() if row.get("error"))
    return [moment for moment in times if moment is not None]


def _checkpoint_times(store: SessionStore) -> list[datetime]:
    """The checkpoints' own times, oldest first (re-read whole when one changes; parsing is cached)."""
    times = (parse_timestamp(row["timestamp"]) for row in store.ordered_checkpoints())
    return [moment for moment in times if moment is not None]
