"""The session panels on real data: a store read from a copy of br3-sample, then real engine batches from file edits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import QWidget

from buildrunner_gui.model.clock import iso
from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.messages import SERVER_MESSAGE
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources.oneshot import read_once
from buildrunner_gui.sources.reader import ProjectReader
from buildrunner_gui.ui.activity_panel import ERROR_ROWS, FILE_ROWS, ActivityPanel
from buildrunner_gui.ui.artifacts_panel import ArtifactsPanel
from buildrunner_gui.ui.burnup_chart import BurnUpChart
from buildrunner_gui.ui.checkpoint_model import ID_ROLE, local_time
from buildrunner_gui.ui.checkpoints_panel import CheckpointsPanel
from buildrunner_gui.ui.documents_panel import TRUNCATED_NOTE, DocumentsPanel
from buildrunner_gui.ui.overview_panel import OverviewPanel

from .feeding import OFFSCREEN_NOISE, Signals, checkpoint, error, feed, file_change, item, make_store, update

pytestmark = OFFSCREEN_NOISE

Message = dict[str, Any]
NEW_CHECKPOINT = ".buildrunner/checkpoints/checkpoint_20251118_100000_000001.json"
NEW_ID = "checkpoint_20251118_100000_000001"


class LiveProject:
    """The same reader + engine pair `read_once` builds, kept so that file edits produce real event batches.

    Its clock is real time that always moves forward by at least 1 ms per batch: batches a test makes within one
    millisecond would otherwise share a timestamp, and a snapshot could not tell their order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._last = datetime.now(UTC)
        self.engine = SessionEngine(folder.name, project_name=folder.name, project_path=str(folder), clock=self._tick)
        self.reader = ProjectReader(str(folder))
        self.engine.apply(self.reader.scan())

    @property
    def store(self) -> SessionStore:
        return self.engine.store

    def _tick(self) -> str:
        self._last = max(datetime.now(UTC), self._last + timedelta(milliseconds=1))
        return iso(self._last)

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
def store(sample_project: Path) -> SessionStore:
    return read_once(sample_project).store


@pytest.fixture
def live(sample_project: Path) -> LiveProject:
    return LiveProject(sample_project)


def give(panel: Any, live: LiveProject, batch: list[Message]) -> None:
    """A batch the engine just published (the store has applied it), handed over as the session view does."""
    panel.apply_batch(batch, live.store)


def add_widget(qtbot, widget: QWidget) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    return widget


def checkpoint_json(completion: float | None = None, status: str = "created") -> str:
    body: dict[str, Any] = {
        "id": NEW_ID,
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


def test_overview_loads_the_store(qtbot, store: SessionStore, sample_project: Path) -> None:
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(store)
    assert panel.name_label.text() == "BuildRunner3"
    assert panel.path_label.text() == str(sample_project)
    assert panel.progress_bar.format() == "100.0%"  # formats.md: complete features count 100
    assert panel.progress_bar.value() == 1000
    assert panel.badge.status == "completed" and panel.badge.text() == "Completed"
    assert panel.count_labels["features"].text() == "17 / 17 completed"
    assert panel.count_labels["components"].text() == "91 / 91 completed"
    assert panel.count_labels["checkpoints"].text() == "4"
    assert panel.count_labels["tasks"].text() == "0"
    assert panel.activity_label.text() == "Completed · phase build_4e_start"
    assert panel.times_label.text().startswith("started 2025-11-17 ") and " days ago" in panel.times_label.text()
    assert panel.headline_label.text() == "features: 17 of 17 complete"
    assert panel.failure_label.isHidden()
    # One known value (the current percent at the last checkpoint); the four checkpoints are bare marks.
    assert [value for _, value in panel.history()] == [100.0]
    assert len(panel.chart.points()) == 1
    assert distinct_colours(panel.chart.grab().toImage()) > 2


def test_overview_follows_progress_items_and_checkpoints(qtbot, live: LiveProject) -> None:
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(live.store)

    batch = live.write(NEW_CHECKPOINT, checkpoint_json(completion=42.5))
    assert {m["type"] for m in batch} >= {"checkpoint_update", "build_progress"}
    give(panel, live, batch)
    assert panel.progress_bar.format() == "42.5%"
    assert panel.count_labels["checkpoints"].text() == "5"
    assert panel.count_labels["tasks"].text() == "2"
    assert panel.count_labels["files"].text() == "1"
    assert [value for _, value in panel.history()] == [100.0, 42.5]
    assert re.search(r"last change \d+ s ago$", panel.times_label.text())  # the checkpoint was just written
    assert panel.headline_label.text() == "features: 17 of 17 complete · checkpoint reports 42.5%"

    registry_path = live.folder / ".buildrunner/features.json"
    registry = json.loads(registry_path.read_text())
    registry["features"][0]["status"] = "failed"
    batch = live.write(".buildrunner/features.json", json.dumps(registry))
    assert any(m["type"] == "feature_update" for m in batch)
    give(panel, live, batch)
    assert panel.count_labels["features"].text() == "16 / 17 completed"
    assert panel.badge.status == "failed"
    assert panel.count_labels["components"].text() == f"{91 - 3} / 91 completed"

    give(panel, live, live.delete(NEW_CHECKPOINT))
    assert panel.count_labels["checkpoints"].text() == "4"


def test_overview_counts_a_whole_batch_from_the_store(qtbot) -> None:
    store = make_store()
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(store)
    batch = [update("feature", item(f"f{n}", status="completed" if n % 4 == 0 else "pending")) for n in range(1_000)]
    batch += [update("feature", item(f"f{n}"), removed=True) for n in range(0, 40, 4)]  # ten completed ones go
    feed(panel, store, batch)
    assert panel.count_labels["features"].text() == "240 / 990 completed"
    assert panel.history() == [panel.history()[0]]  # no build_progress in the batch: no new point


def test_overview_refresh_timer_runs_only_while_shown(qtbot, store: SessionStore) -> None:
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(store)
    timer = panel.findChild(QTimer)
    assert timer is not None and not timer.isActive()
    panel.show()
    qtbot.waitExposed(panel)
    assert timer.isActive() and timer.interval() == 1_000  # "elapsed" and "12 s ago" move every second
    panel.hide()
    assert not timer.isActive()
    panel.show()
    panel.close()
    assert not timer.isActive()


# ---------------------------------------------------------------- checkpoints


def test_checkpoints_load_newest_first_with_details(qtbot, qtmodeltester, store: SessionStore) -> None:
    panel = add_widget(qtbot, CheckpointsPanel())
    panel.load(store)
    qtmodeltester.check(panel.model)
    expected = [row["checkpoint_id"] for row in reversed(store.ordered_checkpoints())]
    assert panel.checkpoint_ids() == expected and len(expected) == 4
    model = panel.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Status", "Phase", "Time", "Tasks", "Files"]
    assert model.index(0, 1).data() == "build_4e_start"
    # The status mark says which checkpoint is the build's state, never the file's constant "created".
    assert [model.index(row, 0).data() for row in range(4)] == ["Current", "Saved", "Saved", "Saved"]
    assert not model.index(0, 0).data(Qt.ItemDataRole.DecorationRole).isNull()
    assert model.index(0, 2).data() == local_time(store.checkpoints[expected[0]]["timestamp"])
    assert (model.index(0, 3).data(), model.index(0, 4).data()) == ("0", "0")
    panel.tree.setCurrentIndex(model.index(0, 0))
    details = panel.details.text()
    assert "Phase: build_4e_start" in details
    assert "Status in the file: created" in details and "Status: Current — " in details
    assert re.search(r"^Time: 2025-11-17 \d\d:\d\d \(\d+ days ago\)$", details, re.MULTILINE)
    assert "Tasks completed: none" in details and "Files created: none" in details
    assert "  Description: Starting Build 4E" in details  # the metadata, from the store's row, as a form


def test_checkpoints_from_a_snapshot_say_their_metadata_is_missing(qtbot, store: SessionStore) -> None:
    mirror = make_store()
    mirror.reload(store.snapshot(), [])  # what a mirror does with its upstream's status: rows without metadata
    panel = add_widget(qtbot, CheckpointsPanel())
    panel.load(mirror)
    panel.select(panel.checkpoint_ids()[0])
    assert "not in the snapshot" in panel.details.text()


def test_checkpoints_follow_updates(qtbot, qtmodeltester, live: LiveProject) -> None:
    panel = add_widget(qtbot, CheckpointsPanel())
    panel.load(live.store)
    oldest = panel.checkpoint_ids()[-1]
    panel.select(oldest)
    signals = Signals(panel.model)

    give(panel, live, live.write(NEW_CHECKPOINT, checkpoint_json()))
    assert signals.inserted == [(0, 0)] and signals.resets == 0  # the newest goes on top
    assert len(panel.checkpoint_ids()) == 5
    assert panel.checkpoint_ids()[0] == NEW_ID
    assert panel.tree.currentIndex().row() == 4  # the selection stays on its checkpoint
    assert "Phase: build_3a_batch_2_complete" in panel.details.text()
    assert panel.model.index(0, 0).data() == "Current" and panel.model.index(1, 0).data() == "Saved"
    assert (panel.model.index(0, 3).data(), panel.model.index(0, 4).data()) == ("2", "1")
    assert signals.changed == [(1, 1)]  # the checkpoint that was current is only saved now
    qtmodeltester.check(panel.model)

    panel.select(NEW_ID)
    details = panel.details.text()
    assert "Phase: build_5a_start" in details
    assert "Tasks completed: 2 items\n  • task-a\n  • task-b" in details  # a list as a list
    assert "Files created: core/new.py" in details  # a list of one: the entry itself
    assert "  Description: Starting Build 5A" in details  # metadata, from the store
    assert "Time: 2025-11-18 " in details  # the checkpoint's own time, not the moment the file was read

    # An update of a known id changes its row in place (and the details shown).
    signals.changed.clear()
    give(panel, live, live.write(NEW_CHECKPOINT, checkpoint_json(status="rolled_back")))
    assert len(panel.checkpoint_ids()) == 5
    assert signals.changed == [(0, 1)]  # the rolled-back row, and the one that is current again
    assert [panel.model.index(row, 0).data() for row in (0, 1)] == ["Rolled back", "Current"]
    assert panel.model.index(0, 0).data(Qt.ItemDataRole.FontRole).strikeOut()
    assert panel.model.index(1, 0).data(Qt.ItemDataRole.FontRole) is None
    assert "Status in the file: rolled_back" in panel.details.text()

    give(panel, live, live.delete(NEW_CHECKPOINT))
    assert NEW_ID not in panel.checkpoint_ids()
    assert len(panel.checkpoint_ids()) == 4
    assert signals.removed == [(0, 0)]


# ---------------------------------------------------------------- documents


def test_documents_load_and_render_markdown(qtbot, qtmodeltester, store: SessionStore) -> None:
    panel = add_widget(qtbot, DocumentsPanel())
    panel.load(store)
    qtmodeltester.check(panel.model)
    assert panel.paths() == sorted(store.documents) and len(panel.paths()) == 5
    assert panel.shown_path() == panel.paths()[0]
    for path, doc in store.documents.items():
        row_text = panel.model.index(panel.paths().index(path), 0).data()
        assert doc["title"] in row_text and path.removeprefix(".buildrunner/") in row_text
    panel.show_document(".buildrunner/context/blockers.md")
    html = panel.browser.toHtml()
    assert "Active Blockers" in html and "<h1" in html  # a real heading, not the raw "# " text
    assert "6.6 KiB" in panel.model.index(panel.paths().index(".buildrunner/PROJECT_SPEC.md"), 0).data()
    assert not panel.note.isVisibleTo(panel)


def test_documents_follow_file_changes(qtbot, qtmodeltester, live: LiveProject) -> None:
    panel = add_widget(qtbot, DocumentsPanel())
    panel.load(live.store)
    panel.show()
    qtbot.waitExposed(panel)
    rel = ".buildrunner/context/blockers.md"
    panel.show_document(rel)

    long_text = "# Blockers\n\n" + "".join(f"## Section {i}\n\nline {i}\n\n" for i in range(200))
    give(panel, live, live.write(rel, long_text))
    assert "Section 150" in panel.browser.toHtml()
    bar = panel.browser.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2)
    kept = bar.value()
    give(panel, live, live.write(rel, long_text + "## Appended\n\nmore\n"))
    assert "Appended" in panel.browser.toHtml()
    assert bar.value() == kept  # the reader stays where they were

    created = ".buildrunner/context/new-notes.md"
    give(panel, live, live.write(created, "# Fresh notes\n\nhello\n"))
    assert created in panel.paths()
    assert "Fresh notes" in panel.model.index(panel.paths().index(created), 0).data()
    assert panel.shown_path() == rel  # a new document does not take the reader away

    big = "# Huge\n\n" + ("word " * 20_000)
    give(panel, live, live.write(rel, big))
    assert panel.note.isVisibleTo(panel) and panel.note.text() == TRUNCATED_NOTE

    index = panel.paths().index(rel)
    give(panel, live, live.delete(rel))
    assert rel not in panel.paths()
    assert panel.shown_path() == panel.paths()[index]  # the next document is shown instead
    assert panel.list.currentIndex().row() == index
    qtmodeltester.check(panel.model)


def test_documents_show_the_first_one_that_arrives(qtbot) -> None:
    store = make_store()
    panel = add_widget(qtbot, DocumentsPanel())
    panel.load(store)
    assert panel.shown_path() is None
    feed(panel, store, [file_change(".buildrunner/context/a.md", "context", "created", content="# A doc\n", size=8)])
    assert panel.shown_path() == ".buildrunner/context/a.md"
    assert "A doc" in panel.browser.toHtml()
    feed(panel, store, [file_change(".buildrunner", "other", "deleted")])  # the whole state folder went away
    assert panel.paths() == [] and panel.shown_path() is None


# ---------------------------------------------------------------- artifacts


def test_artifacts_load_and_follow_changes(qtbot, qtmodeltester, live: LiveProject) -> None:
    panel = add_widget(qtbot, ArtifactsPanel())
    panel.load(live.store)
    qtmodeltester.check(panel.model)
    assert panel.model.rowCount() == len(live.store.artifacts) == 15
    assert panel.paths() == sorted(live.store.artifacts)
    known = ".buildrunner/artifacts/phase-1/below-nvidia-smi.txt"
    path_text, size_text, modified_text = panel.row_text(known)
    assert (path_text, size_text) == (known, "457 B")
    assert modified_text == local_time(live.store.artifacts[known]["modified"]) != "—"

    new = ".buildrunner/artifacts/phase-3/result.txt"
    give(panel, live, live.write(new, "result\n"))
    assert panel.row_text(new)[1] == "7 B"  # the size the reader saw, carried by the message (no stat here)
    mtime = datetime.fromtimestamp((live.folder / new).stat().st_mtime, UTC)
    assert panel.row_text(new)[2] == local_time(iso(mtime))  # the file's own time, from the message

    signals = Signals(panel.model)
    give(panel, live, live.write(known, "changed and longer than before\n"))
    assert panel.row_text(known)[1] == "31 B"
    assert signals.changed == [(panel.paths().index(known), panel.paths().index(known))]

    give(panel, live, live.delete(new))
    assert new not in panel.paths()
    assert panel.model.rowCount() == 15
    assert len(signals.removed) == 1
    qtmodeltester.check(panel.model)


def test_artifacts_open_with_the_desktop(qtbot, store: SessionStore, sample_project: Path, monkeypatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(QUrl(url)) or True)
    panel = add_widget(qtbot, ArtifactsPanel())
    panel.load(store)
    target = ".buildrunner/artifacts/phase-2/below/benchmark.log"
    row = panel.paths().index(target)

    panel.table.setCurrentIndex(panel.model.index(row, 0))
    assert not panel.open_button.isEnabled()  # no local folder (a remote mirror): nothing to open
    assert panel.open_current() is False
    assert opened == []

    panel.set_project_folder(sample_project)
    assert panel.open_button.isEnabled()
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    expected = QUrl.fromLocalFile(str(sample_project / ".buildrunner/artifacts/phase-2/below/benchmark.log"))
    assert opened == [expected]
    assert opened[0].toLocalFile().endswith("benchmark.log")

    panel.table.activated.emit(panel.model.index(row, 1))  # what double-click and Enter emit
    assert opened[-1] == expected
    assert panel.open_artifact("../../etc/passwd") is False
    assert len(opened) == 2


# ---------------------------------------------------------------- activity


def test_activity_shows_file_changes_and_errors(qtbot, qtmodeltester, live: LiveProject) -> None:
    panel = add_widget(qtbot, ActivityPanel())
    panel.load(live.store)
    assert panel.row_count() == 0  # the first scan is state, not activity

    give(panel, live, live.write(".buildrunner/artifacts/phase-3/a.txt", "a\n"))
    batch = live.write(NEW_CHECKPOINT, "{ not json")
    assert [m["type"] for m in batch] == ["file_change", "error"]
    give(panel, live, batch)
    assert panel.row_count("file") == 2 and panel.row_count("error") == 1
    rows = panel.visible_rows()
    assert rows[0][1].startswith("error: ")  # newest first: the error came after its file's change
    assert rows[0][2] == NEW_CHECKPOINT
    assert "\n" not in rows[0][3] and rows[0][3]
    assert rows[1][1:3] == ("created", NEW_CHECKPOINT)

    panel.errors_only.setChecked(True)
    assert len(panel.visible_rows()) == 1
    give(panel, live, live.write(".buildrunner/artifacts/phase-3/b.txt", "b\n"))
    assert len(panel.visible_rows()) == 1  # new file rows respect the filter
    panel.errors_only.setChecked(False)
    assert len(panel.visible_rows()) == 4
    qtmodeltester.check(panel.model)
    qtmodeltester.check(panel.proxy)

    # A fresh panel loading the same store shows the same rows, newest first.
    fresh = add_widget(qtbot, ActivityPanel())
    fresh.load(live.store)
    assert fresh.row_count("file") == 3 and fresh.row_count("error") == 1
    assert fresh.visible_rows() == panel.visible_rows()
    assert fresh.visible_rows()[0][2] == ".buildrunner/artifacts/phase-3/b.txt"


def test_activity_is_bounded_by_the_store(qtbot, qtmodeltester) -> None:
    store = make_store()
    panel = add_widget(qtbot, ActivityPanel())
    panel.load(store)
    signals = Signals(panel.model)
    feed(panel, store, [file_change(f".buildrunner/artifacts/{i}.txt", "artifact", size=1) for i in range(150)])
    assert signals.inserted == [(0, 149)]  # a batch's rows go on top as one range
    batch = [file_change(f".buildrunner/artifacts/{i}.txt", "artifact", size=1) for i in range(150, FILE_ROWS + 50)]
    batch += [error(f"bad {i}") for i in range(ERROR_ROWS + 20)]
    feed(panel, store, batch)
    # First the 50 oldest rows the store let go, in one range; then only the new rows the store kept.
    assert signals.removed == [(100, 149)]
    assert signals.inserted[1] == (0, FILE_ROWS - 150 + 50 + ERROR_ROWS - 1)
    assert panel.row_count("file") == FILE_ROWS
    assert panel.row_count("error") == ERROR_ROWS
    assert panel.model.rowCount() == FILE_ROWS + ERROR_ROWS <= 1_000
    rows = panel.visible_rows()
    assert rows[0][3] == f"bad {ERROR_ROWS + 19}"  # the newest on top
    paths = {row[2] for row in rows}
    assert ".buildrunner/artifacts/49.txt" not in paths  # the oldest went first
    assert {".buildrunner/artifacts/50.txt", f".buildrunner/artifacts/{FILE_ROWS + 49}.txt"} <= paths
    assert signals.resets == 0
    qtmodeltester.check(panel.model)


def test_activity_leaves_out_what_the_first_scan_found(qtbot) -> None:
    store = make_store()
    panel = add_widget(qtbot, ActivityPanel())
    panel.load(store)
    feed(panel, store, [file_change("a.log", "log", "created", scan=True), file_change("b.log", "log", "created")])
    assert [row[2] for row in panel.visible_rows()] == ["b.log"]


def test_a_checkpoint_whose_time_changes_moves_with_its_selection(qtbot, qtmodeltester) -> None:
    store = make_store()
    panel = add_widget(qtbot, CheckpointsPanel())
    panel.load(store)
    times = {"a": "2025-01-01T10:00:00.000Z", "b": "2025-01-01T11:00:00.000Z", "c": "2025-01-01T12:00:00.000Z"}
    feed(panel, store, [checkpoint(key, when) for key, when in times.items()])
    assert panel.checkpoint_ids() == ["c", "b", "a"]
    panel.select("c")
    feed(panel, store, [checkpoint("c", "2025-01-01T09:00:00.000Z", phase="re-dated")])
    assert panel.checkpoint_ids() == ["b", "a", "c"]
    assert panel.tree.currentIndex().data(ID_ROLE) == "c"  # the selection moved with it
    assert "Phase: re-dated" in panel.details.text()
    qtmodeltester.check(panel.model)


def test_overview_shows_the_newest_line_from_a_batch_of_output_alone(qtbot) -> None:
    store = make_store()
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(store)
    batch = [
        {"type": "terminal_output", "session_id": "", "epoch": "", "seq": 0, "timestamp": "2026-01-01T00:00:00.000Z",
         "output": "compiling cart\n", "output_type": "stdout", "source": "log:build.log"}
    ]  # fmt: skip
    feed(panel, store, batch)
    assert panel.last_line_label.text() == "$ compiling cart"


def test_overview_shows_a_long_newest_line_on_one_line_and_the_whole_of_it_in_its_tooltip(qtbot) -> None:
    from buildrunner_gui.ui.overview_panel import LAST_LINE_CHARS

    store = make_store()
    panel = add_widget(qtbot, OverviewPanel())
    panel.load(store)
    line = "[visit 000012 0]" + " compiling module and linking objects ..." * 20
    batch = [
        {"type": "terminal_output", "session_id": "", "epoch": "", "seq": 0, "timestamp": "2026-01-01T00:00:00.000Z",
         "output": line + "\n", "output_type": "stdout", "source": "log:build.log"}
    ]  # fmt: skip
    feed(panel, store, batch)
    label = panel.last_line_label
    assert not label.wordWrap()  # a wrapped one is laid out again on every layout pass of the overview
    assert label.text() == "$ " + line[: LAST_LINE_CHARS - 1] + "…"
    assert label.toolTip() == line
    short = dict(batch[0], output="linked\n")
    feed(panel, store, [short])
    assert label.text() == "$ linked" and label.toolTip() == ""
