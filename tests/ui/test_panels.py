"""The session panels on real data: a snapshot of a copy of br3-sample, then real engine messages from file edits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import QWidget

from buildrunner_gui.model.engine import SessionEngine, iso
from buildrunner_gui.model.messages import SERVER_MESSAGE
from buildrunner_gui.sources.oneshot import read_once
from buildrunner_gui.sources.reader import ProjectReader
from buildrunner_gui.ui.activity_panel import ERROR_ROWS, FILE_ROWS, ActivityPanel
from buildrunner_gui.ui.artifacts_panel import ArtifactsPanel
from buildrunner_gui.ui.burnup_chart import BurnUpChart
from buildrunner_gui.ui.checkpoints_panel import CheckpointsPanel
from buildrunner_gui.ui.documents_panel import TRUNCATED_NOTE, DocumentsPanel
from buildrunner_gui.ui.overview_panel import OverviewPanel, relative_time

Message = dict[str, Any]
NEW_CHECKPOINT = ".buildrunner/checkpoints/checkpoint_20251118_100000_000001.json"


class LiveProject:
    """The same reader + engine pair `read_once` builds, kept so that file edits produce real event messages.

    Its clock is real time that always moves forward by at least 1 ms per batch: batches a test makes within one
    millisecond would otherwise share a timestamp, and a snapshot could not tell their order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._last = datetime.now(UTC)
        self.engine = SessionEngine(folder.name, project_name=folder.name, project_path=str(folder), clock=self._tick)
        self.reader = ProjectReader(str(folder))
        self.engine.apply(self.reader.scan())

    def _tick(self) -> str:
        self._last = max(datetime.now(UTC), self._last + timedelta(milliseconds=1))
        return iso(self._last)

    def snapshot(self) -> dict[str, Any]:
        return self.engine.snapshot()

    def write(self, rel: str, text: str) -> list[Message]:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return self._sync(rel)

    def delete(self, rel: str) -> list[Message]:
        (self.folder / rel).unlink()
        return self._sync(rel)

    def _sync(self, rel: str) -> list[Message]:
        messages = self.engine.apply(self.reader.sync(rel).inputs)
        for message in messages:
            SERVER_MESSAGE.validate_python(message)  # the panels are fed exactly the protocol's shapes
        return messages


@pytest.fixture
def state(sample_project: Path) -> dict[str, Any]:
    return read_once(sample_project).snapshot()


@pytest.fixture
def live(sample_project: Path) -> LiveProject:
    return LiveProject(sample_project)


def feed(panel: Any, messages: list[Message]) -> None:
    for message in messages:
        panel.apply(message)


def add_widget(qtbot, widget: QWidget) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    return widget


def checkpoint_json(completion: float | None = None, status: str = "created") -> str:
    body: dict[str, Any] = {
        "id": "checkpoint_20251118_100000_000001",
        "timestamp": "2025-11-18T10:00:00",
        "phase": "build_5a_start",
        "tasks_completed": ["task-a", "task-b"],
        "files_created": ["core/new.py"],
        "status": status,
        "metadata": {"description": "Starting Build 5A", "created_by": "cli"},
    }
    if completion is not None:
        body["completion"] = completion
    return json.dumps(body)


def distinct_colours(image: QImage) -> int:
    step = 4
    return len({image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)})


# ---------------------------------------------------------------- burn-up chart


@pytest.mark.parametrize("count", [0, 1, 12])
def test_burnup_chart_paints_any_number_of_points(qtbot, count: int) -> None:
    chart = add_widget(qtbot, BurnUpChart())
    start = datetime(2025, 11, 17, 21, 0, tzinfo=UTC)
    chart.set_points([(start + timedelta(minutes=7 * i), min(100.0, 9.5 * i)) for i in range(count)])
    chart.set_marks([start])
    image = chart.grab().toImage()
    assert not image.isNull()
    assert distinct_colours(image) > 2  # axes, labels and the series, not a flat fill
    assert len(chart.points()) == count


def test_burnup_chart_accepts_naive_and_aware_times_together(qtbot) -> None:
    chart = add_widget(qtbot, BurnUpChart())
    chart.set_points([(datetime(2025, 11, 17, 22, 0), 40.0), (datetime(2025, 11, 17, 21, 0, tzinfo=UTC), 150.0)])
    assert sorted(value for _, value in chart.points()) == [40.0, 100.0]  # 150 is clamped to 100
    assert distinct_colours(chart.grab().toImage()) > 2


# ---------------------------------------------------------------- overview


def test_overview_loads_the_snapshot(qtbot, state: dict[str, Any], sample_project: Path) -> None:
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(state)
    assert panel.name_label.text() == "BuildRunner3"
    assert panel.path_label.text() == str(sample_project)
    assert panel.progress_bar.format() == "99.1%"
    assert panel.progress_bar.value() == 991
    assert panel.badge.status == "in_progress" and panel.badge.text() == "In progress"
    assert panel.count_labels["features"].text() == "17 / 17 completed"
    assert panel.count_labels["components"].text() == "91 / 91 completed"
    assert panel.count_labels["checkpoints"].text() == "4"
    assert panel.count_labels["tasks"].text() == "0"
    assert panel.last_update_label.text().startswith("last update: ")
    # One known value (the current percent at the last checkpoint); the four checkpoints are bare marks.
    assert [value for _, value in panel.history()] == [99.1]
    assert len(panel.chart.points()) == 1
    assert distinct_colours(panel.chart.grab().toImage()) > 2


def test_overview_follows_progress_items_and_checkpoints(qtbot, live: LiveProject) -> None:
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(live.snapshot())

    messages = live.write(NEW_CHECKPOINT, checkpoint_json(completion=42.5))
    assert {m["type"] for m in messages} >= {"checkpoint_update", "build_progress"}
    feed(panel, messages)
    assert panel.progress_bar.format() == "42.5%"
    assert panel.count_labels["checkpoints"].text() == "5"
    assert panel.count_labels["tasks"].text() == "2"
    assert panel.count_labels["files"].text() == "1"
    assert [value for _, value in panel.history()] == [99.1, 42.5]
    assert panel.last_update_label.text() == "last update: just now"

    registry_path = live.folder / ".buildrunner/features.json"
    registry = json.loads(registry_path.read_text())
    registry["features"][0]["status"] = "failed"
    messages = live.write(".buildrunner/features.json", json.dumps(registry))
    assert any(m["type"] == "feature_update" for m in messages)
    feed(panel, messages)
    assert panel.count_labels["features"].text() == "16 / 17 completed"
    assert panel.badge.status == "failed"
    assert panel.count_labels["components"].text() == f"{91 - 3} / 91 completed"

    feed(panel, live.delete(NEW_CHECKPOINT))
    assert panel.count_labels["checkpoints"].text() == "4"


def test_overview_refresh_timer_runs_only_while_shown(qtbot, state: dict[str, Any]) -> None:
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(state)
    timer = panel.findChild(QTimer)
    assert timer is not None and not timer.isActive()
    panel.show()
    qtbot.waitExposed(panel)
    assert timer.isActive() and timer.interval() == 30_000
    panel.hide()
    assert not timer.isActive()
    panel.show()
    panel.close()
    assert not timer.isActive()


def test_relative_time_wording() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert relative_time(None, now) == "—"
    assert relative_time(now - timedelta(seconds=10), now) == "just now"
    assert relative_time(now + timedelta(seconds=10), now) == "just now"
    assert relative_time(now - timedelta(minutes=5), now) == "5 minutes ago"
    assert relative_time(now - timedelta(hours=1, minutes=5), now) == "1 hour ago"
    assert relative_time(now - timedelta(days=3), now) == "3 days ago"


# ---------------------------------------------------------------- checkpoints


def test_checkpoints_load_newest_first_with_details(qtbot, state: dict[str, Any]) -> None:
    panel = add_widget(qtbot, CheckpointsPanel())
    panel.load(state)
    expected = [row["checkpoint_id"] for row in reversed(state["checkpoints"])]
    assert panel.checkpoint_ids() == expected
    newest = panel.tree.topLevelItem(0)
    assert newest.text(1) == "build_4e_start"
    assert newest.text(3) == "created"
    panel.tree.setCurrentItem(newest)
    details = panel.details.toPlainText()
    assert "Phase: build_4e_start" in details
    assert "Status: created" in details
    assert "Timestamp: " in details
    assert "Tasks completed (0):" in details and "Files created (0):" in details
    assert "not in the snapshot" in details


def test_checkpoints_follow_updates(qtbot, live: LiveProject) -> None:
    panel = add_widget(qtbot, CheckpointsPanel())
    panel.load(live.snapshot())

    feed(panel, live.write(NEW_CHECKPOINT, checkpoint_json()))
    assert len(panel.checkpoint_ids()) == 5
    assert panel.checkpoint_ids()[0] == "checkpoint_20251118_100000_000001"
    panel.tree.setCurrentItem(panel.tree.topLevelItem(0))
    details = panel.details.toPlainText()
    assert "Phase: build_5a_start" in details
    assert "task-a" in details and "core/new.py" in details
    assert "Starting Build 5A" in details  # metadata arrives with the update message
    assert "Seen at: " in details  # the update carries no checkpoint time: say what the time is

    # An update of a known id changes its row in place (and the details shown).
    feed(panel, live.write(NEW_CHECKPOINT, checkpoint_json(status="rolled_back")))
    assert len(panel.checkpoint_ids()) == 5
    row = panel.tree.topLevelItem(0)
    assert row.text(3) == "↩ rolled back"
    assert row.font(0).strikeOut()
    assert "Status: rolled_back" in panel.details.toPlainText()

    feed(panel, live.delete(NEW_CHECKPOINT))
    assert "checkpoint_20251118_100000_000001" not in panel.checkpoint_ids()
    assert len(panel.checkpoint_ids()) == 4


# ---------------------------------------------------------------- documents


def test_documents_load_and_render_markdown(qtbot, state: dict[str, Any]) -> None:
    panel = add_widget(qtbot, DocumentsPanel())
    panel.load(state)
    assert panel.paths() == sorted(doc["file_path"] for doc in state["documents"])
    assert panel.list.count() == 5
    assert panel.shown_path() == panel.paths()[0]
    for doc in state["documents"]:
        row_text = panel.list.item(panel.paths().index(doc["file_path"])).text()
        assert doc["title"] in row_text and doc["file_path"] in row_text
    panel.show_document(".buildrunner/context/blockers.md")
    html = panel.browser.toHtml()
    assert "Active Blockers" in html and "<h1" in html  # a real heading, not the raw "# " text
    assert "6.6 KiB" in panel.list.item(panel.paths().index(".buildrunner/PROJECT_SPEC.md")).text()
    assert not panel.note.isVisibleTo(panel)


def test_documents_follow_file_changes(qtbot, live: LiveProject) -> None:
    panel = add_widget(qtbot, DocumentsPanel())
    panel.load(live.snapshot())
    panel.show()
    qtbot.waitExposed(panel)
    rel = ".buildrunner/context/blockers.md"
    panel.show_document(rel)

    long_text = "# Blockers\n\n" + "".join(f"## Section {i}\n\nline {i}\n\n" for i in range(200))
    feed(panel, live.write(rel, long_text))
    assert "Section 150" in panel.browser.toHtml()
    bar = panel.browser.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2)
    kept = bar.value()
    feed(panel, live.write(rel, long_text + "## Appended\n\nmore\n"))
    assert "Appended" in panel.browser.toHtml()
    assert bar.value() == kept  # the reader stays where they were

    created = ".buildrunner/context/new-notes.md"
    feed(panel, live.write(created, "# Fresh notes\n\nhello\n"))
    assert created in panel.paths()
    assert "Fresh notes" in panel.list.item(panel.paths().index(created)).text()

    big = "# Huge\n\n" + ("word " * 20_000)
    feed(panel, live.write(rel, big))
    assert panel.note.isVisibleTo(panel) and panel.note.text() == TRUNCATED_NOTE

    feed(panel, live.delete(rel))
    assert rel not in panel.paths()
    assert panel.shown_path() in panel.paths()  # another document is shown instead


# ---------------------------------------------------------------- artifacts


def test_artifacts_load_and_follow_changes(qtbot, live: LiveProject) -> None:
    panel = add_widget(qtbot, ArtifactsPanel())
    state = live.snapshot()
    panel.load(state)
    assert panel.table.rowCount() == len(state["artifacts"]) == 15
    assert panel.paths() == sorted(a["file_path"] for a in state["artifacts"])
    known = ".buildrunner/artifacts/phase-1/below-nvidia-smi.txt"
    path_text, size_text, modified_text = panel.row_text(known)
    assert (path_text, size_text) == (known, "457 B")
    assert modified_text != "—"

    new = ".buildrunner/artifacts/phase-3/result.txt"
    feed(panel, live.write(new, "result\n"))
    assert panel.row_text(new)[1] == "7 B"  # the size the engine read, carried by the message (no stat here)
    assert panel.row_text(new)[2].startswith("updated")

    feed(panel, live.write(known, "changed and longer than before\n"))
    assert panel.row_text(known)[1] == "31 B"
    assert panel.row_text(known)[2].startswith("updated")
    assert panel.table.item(panel.paths().index(known), 2).font().italic()

    feed(panel, live.delete(new))
    assert new not in panel.paths()
    assert panel.table.rowCount() == 15


def test_artifacts_open_with_the_desktop(qtbot, state: dict[str, Any], sample_project: Path, monkeypatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(QUrl(url)) or True)
    panel = add_widget(qtbot, ArtifactsPanel())
    panel.load(state)
    target = ".buildrunner/artifacts/phase-2/below/benchmark.log"
    row = panel.paths().index(target)

    panel.table.setCurrentCell(row, 0)
    assert not panel.open_button.isEnabled()  # no local folder (a remote mirror): nothing to open
    assert panel.open_current() is False
    assert opened == []

    panel.set_project_folder(sample_project)
    assert panel.open_button.isEnabled()
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    expected = QUrl.fromLocalFile(str(sample_project / ".buildrunner/artifacts/phase-2/below/benchmark.log"))
    assert opened == [expected]
    assert opened[0].toLocalFile().endswith("benchmark.log")

    panel.table.activated.emit(panel.table.model().index(row, 1))  # what double-click and Enter emit
    assert opened[-1] == expected
    assert panel.open_artifact("../../etc/passwd") is False
    assert len(opened) == 2


# ---------------------------------------------------------------- activity


def test_activity_shows_file_changes_and_errors(qtbot, live: LiveProject) -> None:
    panel = add_widget(qtbot, ActivityPanel())
    panel.load(live.snapshot())
    assert panel.row_count() == 0  # the first scan is state, not activity

    feed(panel, live.write(".buildrunner/artifacts/phase-3/a.txt", "a\n"))
    messages = live.write(NEW_CHECKPOINT, "{ not json")
    assert [m["type"] for m in messages] == ["file_change", "error"]
    feed(panel, messages)
    assert panel.row_count("file") == 2 and panel.row_count("error") == 1
    rows = panel.visible_rows()
    assert rows[0][1].startswith("error: ")
    assert rows[0][2] == NEW_CHECKPOINT
    assert "\n" not in rows[0][3] and rows[0][3]

    panel.errors_only.setChecked(True)
    assert len(panel.visible_rows()) == 1
    feed(panel, live.write(".buildrunner/artifacts/phase-3/b.txt", "b\n"))
    assert len(panel.visible_rows()) == 1  # new file rows respect the filter
    panel.errors_only.setChecked(False)
    assert len(panel.visible_rows()) == 4

    # A snapshot taken now carries the same events: a fresh panel shows them, newest first.
    fresh = add_widget(qtbot, ActivityPanel())
    fresh.load(live.snapshot())
    assert fresh.row_count("file") == 3 and fresh.row_count("error") == 1
    assert fresh.visible_rows()[0][2] == ".buildrunner/artifacts/phase-3/b.txt"


def test_activity_is_bounded(qtbot, live: LiveProject) -> None:
    panel = add_widget(qtbot, ActivityPanel())
    change = live.write(".buildrunner/artifacts/x.txt", "x\n")[0]
    error = live.write(NEW_CHECKPOINT, "{ not json")[1]
    for i in range(FILE_ROWS + 50):
        panel.apply({**change, "seq": 1000 + i, "file_path": f".buildrunner/artifacts/{i}.txt"})
    for i in range(ERROR_ROWS + 20):
        panel.apply({**error, "seq": 5000 + i, "error_message": f"bad {i}"})
    assert panel.row_count("file") == FILE_ROWS
    assert panel.row_count("error") == ERROR_ROWS
    assert panel.tree.topLevelItemCount() == FILE_ROWS + ERROR_ROWS <= 1_000
    paths = {row[2] for row in panel.visible_rows()}
    assert ".buildrunner/artifacts/0.txt" not in paths  # the oldest went first
    assert f".buildrunner/artifacts/{FILE_ROWS + 49}.txt" in paths
