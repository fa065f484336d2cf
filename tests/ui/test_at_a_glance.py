"""Failures stand out, tables fit their content, details read as a form, empty views say what will appear."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QHeaderView

from buildrunner_gui.sources.oneshot import read_once
from buildrunner_gui.ui.activity_panel import EMPTY_TEXT as ACTIVITY_EMPTY
from buildrunner_gui.ui.activity_panel import ActivityPanel
from buildrunner_gui.ui.artifacts_panel import EMPTY_TEXT as ARTIFACTS_EMPTY
from buildrunner_gui.ui.artifacts_panel import ArtifactsPanel
from buildrunner_gui.ui.checkpoint_model import COL_STATUS, ID_ROLE, MARK_ROLE, CheckpointTableModel, checkpoint_mark
from buildrunner_gui.ui.checkpoints_panel import EMPTY_TEXT as CHECKPOINTS_EMPTY
from buildrunner_gui.ui.checkpoints_panel import CheckpointsPanel
from buildrunner_gui.ui.details_form import DetailsForm, Entry, pretty_key, value_text
from buildrunner_gui.ui.documents_panel import EMPTY_TEXT as DOCUMENTS_EMPTY
from buildrunner_gui.ui.documents_panel import DocumentsPanel
from buildrunner_gui.ui.item_model import COL_ID, COL_NAME, ItemTableModel
from buildrunner_gui.ui.item_model import COL_STATUS as ITEM_STATUS
from buildrunner_gui.ui.items_panel import EMPTY_TEXT as ITEMS_EMPTY
from buildrunner_gui.ui.items_panel import ItemsPanel, item_entries
from buildrunner_gui.ui.placeholder import FILTERED_TEXT
from buildrunner_gui.ui.status_style import failure_text_color
from buildrunner_gui.ui.terminal_view import EMPTY_TEXT as TERMINAL_EMPTY
from buildrunner_gui.ui.terminal_view import FAILING, GUTTER_WIDTH, TerminalPanel

from .feeding import OFFSCREEN_NOISE, checkpoint, error, feed, file_change, item, make_store, publish, terminal, update

pytestmark = OFFSCREEN_NOISE

# ---------------------------------------------------------------------- the details form


def test_pretty_keys_and_values() -> None:
    assert pretty_key("created_at") == "Created at"
    assert pretty_key("feature_id") == "Feature ID"
    assert pretty_key("api-version") == "API version"
    assert value_text(True) == "yes" and value_text(None) == "—" and value_text(0.07051675) == "0.07051675"
    assert value_text([]) == "none" and value_text(["a", "b"]) == "2 items"
    assert value_text({"unit": 18, "passing": True}) == "Unit: 18 · Passing: yes"


def test_details_form_of_a_sample_item(qtbot) -> None:
    feature = item(
        "feat-004",
        "Automated Debugging System",
        "failed",
        40.0,
        "broken",
        description="Auto-pipe command outputs, error pattern detection, failure analysis and retry hints " * 3,
        components=["core/auto_debug.py", "cli/autodebug_commands.py"],
        tests={"unit": 18, "integration": 4, "passing": False},
        dependencies=[],
        blockers=["waiting on feat-002"],
        created_at="2024-11-01T00:00:00Z",
    )
    form = DetailsForm("Select a feature")
    qtbot.addWidget(form)
    form.resize(420, 700)
    form.show()
    qtbot.waitExposed(form)
    assert form.text() == "Select a feature"  # nothing shown yet: the placeholder says what to do
    form.show_entries(feature["name"], item_entries(feature), key="feat-004")
    lines = form.text().splitlines()
    assert lines[:4] == [
        "Automated Debugging System",
        "ID: feat-004",
        "Status: Failed (written as “broken”)",
        "Progress: 40%",
    ]
    # A list as a list, one row per entry; a list of one as the entry itself; an empty one as "none".
    at = lines.index("Components: 2 items")
    assert lines[at + 1 : at + 3] == ["  • core/auto_debug.py", "  • cli/autodebug_commands.py"]
    assert "Blockers: waiting on feat-002" in lines and "Dependencies: none" in lines
    # An object as a collapsible group of its fields (expanded, so no summary beside it), never JSON.
    tests = form.row("Tests")
    assert tests is not None and tests.childCount() == 3 and tests.isExpanded() and tests.text(1) == ""
    assert "  Passing: no" in lines
    tests.setExpanded(False)
    assert tests.text(1) == "Unit: 18 · Integration: 4 · Passing: no"  # collapsed: a one-line summary
    # A time as local time with how long ago; the text as written in the tooltip.
    created = form.row("Created at")
    assert created is not None and created.text(1).endswith(" days ago)") and created.text(1).startswith("2024-1")
    assert created.toolTip(1) == "2024-11-01T00:00:00Z"
    # The failed status: red, with the failed icon.
    status = form.row("Status")
    assert status is not None and not status.icon(1).isNull()
    assert status.foreground(1).color() == failure_text_color()
    # A long value wraps: its row is several lines tall, not clipped to one.
    description = form.row("Description")
    assert description is not None
    height = form.tree.visualItemRect(description).height()
    assert height >= 3 * form.tree.fontMetrics().height()


def test_details_form_keeps_what_was_collapsed_when_the_item_changes(qtbot) -> None:
    form = DetailsForm("nothing")
    qtbot.addWidget(form)
    entries = [Entry("Tests", {"unit": 1}), Entry("Components", ["a", "b"])]
    form.show_entries("x", entries, key="x")
    form.row("Tests").setExpanded(False)
    form.show_entries("x", [Entry("Tests", {"unit": 2}), Entry("Components", ["a", "b"])], key="x")
    assert not form.row("Tests").isExpanded() and form.row("Components").isExpanded()
    form.show_entries("y", entries, key="y")  # another thing: expanded as new
    assert form.row("Tests").isExpanded()


# ---------------------------------------------------------------------- failed items


def test_a_failed_item_is_red_with_the_failed_icon(qapp) -> None:
    store = make_store()
    publish(
        store,
        [update("feature", item("ok", "Fine", "completed", 100.0)), update("feature", item("bad", status="failed"))],
    )
    model = ItemTableModel("feature")
    model.load(store)
    failed, fine = model.row_of("bad"), model.row_of("ok")
    red = failure_text_color()
    for column in range(model.columnCount()):
        assert model.index(failed, column).data(Qt.ItemDataRole.ForegroundRole) == red
        assert model.index(fine, column).data(Qt.ItemDataRole.ForegroundRole) is None
    icon = model.index(failed, ITEM_STATUS).data(Qt.ItemDataRole.DecorationRole)
    assert not icon.isNull() and model.index(failed, ITEM_STATUS).data() == "Failed"  # never colour alone
    assert "failed" in model.index(failed, COL_NAME).data(Qt.ItemDataRole.ToolTipRole)


# ---------------------------------------------------------------------- failed checkpoints


def test_a_failed_checkpoint_is_marked(qtbot, qtmodeltester) -> None:
    store = make_store()
    panel = CheckpointsPanel()
    qtbot.addWidget(panel)
    panel.load(store)
    feed(
        panel,
        store,
        [
            checkpoint("a", "2025-01-01T10:00:00.000Z", phase="build_1_start"),
            checkpoint("b", "2025-01-01T11:00:00.000Z", phase="build_2a_api_tests_failed", tasks_completed=["t"]),
            checkpoint("c", "2025-01-01T12:00:00.000Z", phase="build_3", metadata={"error": "disk full"}),
            checkpoint("d", "2025-01-01T13:00:00.000Z", phase="build_4", status="rolled_back"),
        ],
    )
    model: CheckpointTableModel = panel.model
    qtmodeltester.check(model)
    marks = {model.index(row, 0).data(ID_ROLE): model.index(row, 0).data(MARK_ROLE) for row in range(4)}
    assert marks == {"a": "saved", "b": "failed", "c": "failed", "d": "rolled_back"}
    red = failure_text_color()
    for checkpoint_id in ("b", "c"):
        row = model.row_of(checkpoint_id)
        status = model.index(row, COL_STATUS)
        assert status.data() == "Failed"
        assert not status.data(Qt.ItemDataRole.DecorationRole).isNull()
        assert all(model.index(row, c).data(Qt.ItemDataRole.ForegroundRole) == red for c in range(model.columnCount()))
    assert "disk full" in model.index(model.row_of("c"), COL_STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(model.row_of("a"), COL_STATUS).data(Qt.ItemDataRole.ForegroundRole) is None
    panel.select("c")
    details = panel.details.text()
    assert "Status: Failed" in details and "Failure: error: disk full" in details
    assert panel.details.row("Failure").foreground(1).color() == red
    # A checkpoint that is the build's current state and failed: "Failed" wins over "Current".
    assert checkpoint_mark(store.checkpoints["c"], "c") == "failed"


# ---------------------------------------------------------------------- failing terminal lines


@pytest.fixture
def term(qtbot) -> TerminalPanel:
    widget = TerminalPanel()
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def failing_blocks(panel: TerminalPanel) -> list[bool]:
    doc = panel.text_edit().document()
    return [doc.findBlockByNumber(n).blockFormat().boolProperty(FAILING) for n in range(doc.blockCount())]


def test_failing_terminal_lines_are_marked_in_one_edit(term: TerminalPanel) -> None:
    changes: list[int] = []
    term.text_edit().document().contentsChange.connect(lambda *args: changes.append(1))
    lines = ["collecting", "test_a PASSED", "test_b FAILED", "Traceback (most recent call last):"]
    text = "\n".join([*lines, '  File "x.py", line 1', "ValueError: bad", "done"])
    put = [terminal(text), terminal("\x1b[31mERROR\x1b[0m: 3 failed\nok", source="log:build.log")]
    feed(term, make_store(), put)
    assert len(changes) == 1  # marks are part of the batch's one edit
    marks = failing_blocks(term)
    assert marks == [False, False, False, True, True, False, True, False, True, False]  # separator first
    assert term.failing_lines() == [
        "test_b FAILED",
        "Traceback (most recent call last):",
        "ValueError: bad",
        "ERROR: 3 failed",
    ]
    doc = term.text_edit().document()
    background = doc.findBlockByNumber(3).blockFormat().background().color()
    assert background.red() > background.green() and background.red() > background.blue()  # a red tint
    assert doc.findBlockByNumber(2).blockFormat().background().style() == Qt.BrushStyle.NoBrush
    # Marks carry across batches the way lines do: a plain line after a failing one is plain.
    feed(term, make_store(), [terminal("ERROR again"), terminal("fine")])
    assert failing_blocks(term)[-2:] == [True, False]


def test_failing_lines_get_the_failed_icon_in_the_gutter(term: TerminalPanel) -> None:
    feed(term, make_store(), [terminal("fine\nbuild FAILED\nfine", source="")])
    edit = term.text_edit()
    image = edit.grab().toImage()
    doc = edit.document()

    def gutter_has_colour(number: int) -> bool:
        top, height = edit.block_span(doc.findBlockByNumber(number))
        y0 = int(top) + edit.contentsRect().top()
        pixels = [image.pixelColor(x, y) for x in range(4, GUTTER_WIDTH) for y in range(y0, y0 + int(height))]
        return any(c.saturation() > 120 and c.red() > 150 for c in pixels)  # the icon's vermillion

    assert [gutter_has_colour(n) for n in range(3)] == [False, True, False]


def test_load_starts_without_marks(term: TerminalPanel) -> None:
    feed(term, make_store(), [terminal("x FAILED", source="")])
    store = make_store()
    publish(store, [terminal("plain", source="")])
    term.load(store)
    assert failing_blocks(term) == [False]


# ---------------------------------------------------------------------- placeholders


def test_every_empty_view_says_what_will_appear_and_where_from(qtbot) -> None:
    store = make_store()
    panels = {
        "features": (ItemsPanel("feature"), ITEMS_EMPTY["feature"], ".buildrunner/features.json"),
        "components": (ItemsPanel("component"), ITEMS_EMPTY["component"], ".buildrunner/"),
        "checkpoints": (CheckpointsPanel(), CHECKPOINTS_EMPTY, ".buildrunner/checkpoints/"),
        "documents": (DocumentsPanel(), DOCUMENTS_EMPTY, ".buildrunner/context/"),
        "artifacts": (ArtifactsPanel(), ARTIFACTS_EMPTY, ".buildrunner/artifacts/"),
        "terminal": (TerminalPanel(), TERMINAL_EMPTY, ".buildrunner/logs/"),
        "activity": (ActivityPanel(), ACTIVITY_EMPTY, "No file activity yet"),
    }
    for panel, text, where in panels.values():
        qtbot.addWidget(panel)
        panel.resize(800, 500)
        panel.show()
        panel.load(store)
        assert where in text
        assert panel.placeholder.isVisible() and panel.placeholder.text() == text
    batch = publish(
        store,
        [
            update("feature", item("f1")),
            update("component", item("src/a.py")),
            checkpoint("c1", "2025-01-01T10:00:00.000Z"),
            file_change(".buildrunner/context/a.md", "context", "created", content="# A\n", size=4),
            file_change(".buildrunner/artifacts/a.txt", "artifact", "created", size=3),
            terminal("hello"),
        ],
    )
    for panel, _text, _where in panels.values():
        panel.apply_batch(batch, store)
        assert not panel.placeholder.isVisible(), panel
    # Back to nothing: the placeholders come back.
    for panel, _text, _where in panels.values():
        panel.load(make_store())
        assert panel.placeholder.isVisible(), panel


def test_a_filter_that_hides_every_row_says_so(qtbot) -> None:
    store = make_store()
    publish(store, [update("feature", item("f1", "Alpha"))])
    panel = ItemsPanel("feature")
    qtbot.addWidget(panel)
    panel.show()
    panel.load(store)
    assert not panel.placeholder.isVisible()
    panel.filter_edit.setText("no-such-thing")
    assert panel.placeholder.isVisible() and panel.placeholder.text() == FILTERED_TEXT
    panel.filter_edit.clear()
    assert not panel.placeholder.isVisible()
    activity = ActivityPanel()
    qtbot.addWidget(activity)
    activity.show()
    activity.load(store)
    feed(activity, store, [file_change(".buildrunner/artifacts/a.txt", "artifact", size=1)])
    activity.errors_only.setChecked(True)
    assert activity.placeholder.isVisible() and activity.placeholder.text() == FILTERED_TEXT
    feed(activity, store, [error("bad json", ".buildrunner/features.json")])
    assert not activity.placeholder.isVisible()
    red = failure_text_color()
    assert activity.proxy.index(0, 3).data(Qt.ItemDataRole.ForegroundRole) == red  # an error row: red, bold, icon


# ---------------------------------------------------------------------- columns


def visible_headers(panel: ItemsPanel) -> list[str]:
    return [panel.model.headerData(c, Qt.Orientation.Horizontal) for c in panel.visible_columns()]


def column_cells(model, column: int) -> list[str]:
    return [str(model.index(row, column, QModelIndex()).data()) for row in range(model.rowCount())]


def test_no_duplicate_columns_on_the_real_sample(qtbot, sample_project: Path) -> None:
    store = read_once(sample_project).store
    for kind in ("feature", "component"):
        panel = ItemsPanel(kind)
        qtbot.addWidget(panel)
        panel.load(store)
        headers = visible_headers(panel)
        assert len(headers) == len(set(headers))
        columns = [column_cells(panel.model, c) for c in panel.visible_columns()]
        assert all(columns[i] != columns[j] for i in range(len(columns)) for j in range(i))  # no column twice
    # Components are named by their paths: one column for both.
    assert "ID" not in headers and "Name" in headers


def test_the_id_column_comes_back_when_a_name_differs(qtbot) -> None:
    store = make_store()
    panel = ItemsPanel("component")
    qtbot.addWidget(panel)
    panel.load(store)
    feed(panel, store, [update("component", item("src/a.py"))])
    assert panel.table.isColumnHidden(COL_ID)
    feed(panel, store, [update("component", item("src/b.py", "The B module"))])
    assert not panel.table.isColumnHidden(COL_ID)
    feed(panel, store, [update("component", item("src/b.py"), removed=True)])
    assert panel.table.isColumnHidden(COL_ID)


def test_columns_fit_their_content_and_the_name_stretches(qtbot, sample_project: Path) -> None:
    store = read_once(sample_project).store
    panel = ItemsPanel("feature")
    qtbot.addWidget(panel)
    panel.resize(1280, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.load(store)
    header = panel.table.horizontalHeader()
    assert header.sectionResizeMode(COL_NAME) == QHeaderView.ResizeMode.Stretch
    assert not header.stretchLastSection()
    metrics = panel.table.fontMetrics()
    widest_name = max(metrics.horizontalAdvance(f["name"]) for f in store.items["feature"].values())
    assert header.sectionSize(COL_NAME) > widest_name  # no name cut at this width
    count_column = 5  # "Components": a count, as wide as its header, not a stretch
    assert header.sectionSize(count_column) <= header.sectionSizeHint(count_column) + 20
    widest_id = max(metrics.horizontalAdvance(key) for key in store.items["feature"])
    assert widest_id < header.sectionSize(COL_ID) < widest_id + 60


def test_no_cryptic_seen_mark(qtbot, sample_project: Path) -> None:
    store = read_once(sample_project).store
    panel = CheckpointsPanel()
    qtbot.addWidget(panel)
    panel.load(store)
    cells = [str(panel.model.index(r, c).data()) for r in range(panel.model.rowCount()) for c in range(5)]
    assert cells and not any("seen" in cell for cell in cells)
