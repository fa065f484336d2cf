"""The features and components tables: model, proxy, delegate, icons and the panel, offscreen, fed by a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, QPersistentModelIndex, Qt
from PySide6.QtGui import QImage

from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources.oneshot import read_once
from buildrunner_gui.ui.item_model import (
    COL_NAME,
    COL_PROGRESS,
    COL_STATUS,
    ID_ROLE,
    SORT_ROLE,
    ItemFilterProxy,
    ItemTableModel,
)
from buildrunner_gui.ui.items_panel import ItemsPanel
from buildrunner_gui.ui.progress_delegate import percent_text
from buildrunner_gui.ui.status_style import STATUSES, status_color, status_icon, status_label

from .feeding import OFFSCREEN_NOISE, Signals, event, feed, item, make_store, publish, terminal, update

pytestmark = OFFSCREEN_NOISE

FEATURES = [
    item("feat-1", "Alpha", "completed", 100.0, "complete", priority="high", components=["a.py", "b.py"]),
    item("feat-2", "beta", "in_progress", 10.0, "WIP", priority="low"),
    item("feat-10", "Gamma", "pending", 9.5, "todo"),
    item("feat-3", "delta", "failed", 0.0, "broken", priority="critical", tests={"unit": 3, "passing": False}),
]


def ids(model: QAbstractItemModel) -> list[str]:
    return [model.index(row, 0).data(ID_ROLE) for row in range(model.rowCount())]


def store_with(*entries: dict, kind: str = "feature") -> SessionStore:
    store = make_store()
    publish(store, [update(kind, entry) for entry in entries])
    return store


@pytest.fixture
def store() -> SessionStore:
    return store_with(*FEATURES)


@pytest.fixture
def features(qapp, store: SessionStore) -> ItemTableModel:
    model = ItemTableModel("feature")
    model.load(store)
    return model


@pytest.fixture
def panel(qtbot, store: SessionStore) -> ItemsPanel:
    widget = ItemsPanel("feature")
    qtbot.addWidget(widget)
    widget.load(store)
    return widget


# ---------------------------------------------------------------------- model


def test_modeltester_on_model_and_proxy(qtmodeltester, features: ItemTableModel, store: SessionStore) -> None:
    proxy = ItemFilterProxy()
    proxy.setSourceModel(features)
    proxy.sort(COL_PROGRESS)
    qtmodeltester.check(features)
    qtmodeltester.check(proxy)
    batch = [
        update("feature", item("feat-2", "beta", "completed", 100.0)),
        update("feature", item("feat-99", "new", "pending", 5.0)),
        update("feature", FEATURES[0], removed=True),
    ]
    feed(features, store, batch)
    proxy.set_text_filter("feat")
    proxy.set_status_filter({"completed", "pending"})
    qtmodeltester.check(features)
    qtmodeltester.check(proxy)


def test_columns_and_roles(features: ItemTableModel) -> None:
    headers = [features.headerData(c, Qt.Orientation.Horizontal) for c in range(features.columnCount())]
    assert headers == ["ID", "Name", "Status", "Progress", "Priority", "Components"]
    status = features.index(1, COL_STATUS)
    assert status.data() == "In progress"
    assert "WIP" in status.data(Qt.ItemDataRole.ToolTipRole)
    assert not status.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert features.index(2, COL_PROGRESS).data() == 9.5
    assert features.index(0, 4).data() == "high"
    assert features.index(0, 5).data() == 2
    assert features.item_at(3)["metadata"]["tests"] == {"unit": 3, "passing": False}
    components = ItemTableModel("component")
    assert components.columnCount() == 5
    components.load(store_with(item("src/a.py", features=["feat-1", "feat-2"]), kind="component"))
    assert components.index(0, 4).data() == "feat-1, feat-2"


def test_rows_read_the_store(features: ItemTableModel, store: SessionStore) -> None:
    assert features.item_at(1) is store.items["feature"]["feat-2"]  # no copy of the data in the model


def test_a_batch_emits_one_data_changed_per_run_of_changed_rows(features: ItemTableModel, store: SessionStore) -> None:
    signals = Signals(features)
    batch = [
        update("feature", item("feat-2", "beta", "in_progress", 20.0, "WIP")),
        update("feature", item("feat-3", "delta", "in_progress", 50.0, "doing")),
        update("feature", item("feat-2", "beta", "in_progress", 30.0, "WIP")),
    ]
    touched = feed(features, store, batch)
    assert touched
    assert signals.changed == [(1, 1), (3, 3)]  # rows 1 and 3, once each: not one signal per message
    assert (signals.resets, signals.layouts, signals.inserted, signals.removed) == (0, 0, [], [])
    assert features.item_at(1)["progress"] == 30.0
    assert features.index(3, COL_STATUS).data() == "In progress"


def test_other_messages_emit_nothing(features: ItemTableModel, store: SessionStore) -> None:
    signals = Signals(features)
    batch = [
        update("component", item("feat-1", status="failed")),
        terminal("hello"),
        update("feature", item("nope"), removed=True),
    ]
    feed(features, store, batch)
    assert (signals.resets, signals.changed, signals.inserted, signals.removed) == (0, [], [], [])


def test_inserts_and_removals_come_as_row_ranges(features: ItemTableModel, store: SessionStore) -> None:
    signals = Signals(features)
    feed(features, store, [update("feature", item(f"feat-new-{n}")) for n in range(3)])
    assert signals.inserted == [(4, 6)]  # three new items: one range
    assert ids(features) == ["feat-1", "feat-2", "feat-10", "feat-3", "feat-new-0", "feat-new-1", "feat-new-2"]
    batch = [
        update("feature", FEATURES[1], removed=True),  # row 1
        update("feature", item("feat-new-1", "New", "completed", 100.0)),  # row 5: changed
        update("feature", FEATURES[2], removed=True),  # row 2
        update("feature", item("feat-new-2"), removed=True),  # row 6
    ]
    feed(features, store, batch)
    assert signals.removed == [(6, 6), (1, 2)]  # bottom first, consecutive rows together
    assert ids(features) == list(store.items["feature"]) == ["feat-1", "feat-3", "feat-new-0", "feat-new-1"]
    assert [features.row_of(i) for i in ids(features)] == [0, 1, 2, 3]
    assert features.row_of("feat-2") is None
    assert signals.changed == [(3, 3)]  # the changed row, at its row after the removals
    assert features.item_at(3)["status"] == "completed"
    assert signals.resets == 0


def test_an_item_removed_and_added_again_in_one_batch_follows_the_store_order(
    features: ItemTableModel, store: SessionStore
) -> None:
    signals = Signals(features)
    feed(features, store, [update("feature", FEATURES[0], removed=True), update("feature", FEATURES[0])])
    assert ids(features) == list(store.items["feature"]) == ["feat-2", "feat-10", "feat-3", "feat-1"]
    assert signals.resets == 0


def test_load_resets_once(features: ItemTableModel) -> None:
    signals = Signals(features)
    features.load(store_with(item("x"), item("y")))
    assert signals.resets == 1
    assert ids(features) == ["x", "y"]


# ---------------------------------------------------------------------- proxy


def test_text_filter_is_case_insensitive_over_id_name_and_raw_status(features: ItemTableModel) -> None:
    proxy = ItemFilterProxy()
    proxy.setSourceModel(features)
    proxy.set_text_filter("ALPHA")
    assert ids(proxy) == ["feat-1"]
    proxy.set_text_filter("feat-1")
    assert ids(proxy) == ["feat-1", "feat-10"]
    proxy.set_text_filter("wip")
    assert ids(proxy) == ["feat-2"]
    proxy.set_text_filter("feat todo")  # every word must match, each anywhere
    assert ids(proxy) == ["feat-10"]
    proxy.set_text_filter("")
    assert proxy.rowCount() == 4


def test_status_filter_and_live_updates(features: ItemTableModel, store: SessionStore) -> None:
    proxy = ItemFilterProxy()
    proxy.setSourceModel(features)
    proxy.set_status_filter({"failed"})
    assert ids(proxy) == ["feat-3"]
    proxy.set_status_filter({"completed", "in_progress"})
    assert ids(proxy) == ["feat-1", "feat-2"]
    # Dynamic filtering: an item that changes status enters or leaves the view.
    feed(features, store, [update("feature", item("feat-10", "Gamma", "completed", 100.0))])
    assert ids(proxy) == ["feat-1", "feat-2", "feat-10"]
    feed(features, store, [update("feature", item("feat-1", "Alpha", "failed", 0.0))])
    assert ids(proxy) == ["feat-2", "feat-10"]
    proxy.set_status_filter(None)
    assert proxy.rowCount() == 4


def test_text_filter_sees_changed_names(features: ItemTableModel, store: SessionStore) -> None:
    proxy = ItemFilterProxy()
    proxy.setSourceModel(features)
    proxy.set_text_filter("omega")
    assert ids(proxy) == []
    feed(features, store, [update("feature", item("feat-2", "Omega"))])
    assert ids(proxy) == ["feat-2"]  # the searched text of a changed item is not the old one


def test_sort_by_progress_is_numeric(features: ItemTableModel, store: SessionStore) -> None:
    feed(features, store, [update("feature", item("feat-4", "eps", progress=100.0))])
    proxy = ItemFilterProxy()
    proxy.setSourceModel(features)
    proxy.sort(COL_PROGRESS, Qt.SortOrder.AscendingOrder)
    progress = [proxy.index(r, COL_PROGRESS).data() for r in range(proxy.rowCount())]
    assert progress == [0.0, 9.5, 10.0, 100.0, 100.0]
    assert isinstance(proxy.index(0, COL_PROGRESS).data(SORT_ROLE), float)
    # dynamicSortFilter: a changed progress moves its row.
    feed(features, store, [update("feature", item("feat-3", "delta", "in_progress", 50.0))])
    progress = [proxy.index(r, COL_PROGRESS).data() for r in range(proxy.rowCount())]
    assert progress == [9.5, 10.0, 50.0, 100.0, 100.0]


def test_sort_by_name_and_natural_id(features: ItemTableModel) -> None:
    proxy = ItemFilterProxy()
    proxy.setSourceModel(features)
    proxy.sort(COL_NAME, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, COL_NAME).data() for r in range(4)] == ["Alpha", "beta", "delta", "Gamma"]
    proxy.sort(COL_NAME, Qt.SortOrder.DescendingOrder)
    assert [proxy.index(r, COL_NAME).data() for r in range(4)] == ["Gamma", "delta", "beta", "Alpha"]
    proxy.sort(0, Qt.SortOrder.AscendingOrder)
    assert ids(proxy) == ["feat-1", "feat-2", "feat-3", "feat-10"]
    proxy.sort(COL_STATUS, Qt.SortOrder.AscendingOrder)  # problems first
    assert ids(proxy) == ["feat-3", "feat-2", "feat-10", "feat-1"]


def test_ten_thousand_components_take_one_batch_as_ranges(qapp, qtmodeltester) -> None:
    store = store_with(*(item(f"src/module_{n}.py", progress=float(n % 101)) for n in range(10_000)), kind="component")
    model = ItemTableModel("component")
    model.load(store)
    proxy = ItemFilterProxy()
    proxy.setSourceModel(model)
    signals, proxy_signals = Signals(model), Signals(proxy)
    batch = [
        update("component", item(f"src/module_{n * 100}.py", status="completed", progress=100.0)) for n in range(90)
    ]
    batch += [update("component", item(f"src/new_{n}.py")) for n in range(5)]
    batch += [update("component", item(f"src/module_{n * 7 + 1}.py"), removed=True) for n in range(5)]
    feed(model, store, batch)
    assert signals.resets == proxy_signals.resets == 0
    assert len(signals.changed) == 90  # one per changed row here (none adjacent), never a span over 9,000 rows
    assert all(last - first < 2 for first, last in signals.changed)
    assert signals.inserted == [(9_995, 9_999)]
    assert signals.removed == [(29, 29), (22, 22), (15, 15), (8, 8), (1, 1)]
    assert model.rowCount() == proxy.rowCount() == 10_000
    assert model.item_at(model.row_of("src/module_8900.py"))["progress"] == 100.0
    assert all(model.row_of(model.key_at(row)) == row for row in range(model.rowCount()))
    assert ids(model) == list(store.items["component"])
    qtmodeltester.check(proxy)


def test_a_sorted_table_re_sorts_a_big_batch_in_one_layout_change(qapp, qtmodeltester) -> None:
    store = store_with(*(item(f"f{n}", progress=float(n % 100)) for n in range(10_000)))
    model = ItemTableModel("feature")
    model.load(store)
    proxy = ItemFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(COL_PROGRESS, Qt.SortOrder.DescendingOrder)  # the proxy passes sorting on to the model
    assert model.sort_column() == COL_PROGRESS and proxy.sortColumn() == -1
    followed = QPersistentModelIndex(proxy.index(proxy.rowCount() - 1, 0))  # what a selection holds on to
    assert followed.data(ID_ROLE) == "f9900"  # progress 0, last of its ties (stable: store order)
    signals = Signals(model)
    batch = [update("feature", item(f"f{n}", progress=float((n + 50) % 100))) for n in range(10_000)]
    feed(model, store, batch)
    assert signals.resets == 0 and signals.layouts == 1
    expected = sorted(store.items["feature"], key=lambda key: store.items["feature"][key]["progress"], reverse=True)
    assert ids(proxy) == ids(model) == expected
    assert followed.data(ID_ROLE) == "f9900" and followed.row() == expected.index("f9900")
    assert proxy.index(followed.row(), COL_PROGRESS).data(SORT_ROLE) == 50.0
    proxy.sort(-1)  # the header's third click: back to the store's order
    assert ids(proxy) == list(store.items["feature"])
    qtmodeltester.check(proxy)


def test_a_change_that_keeps_the_sort_order_moves_nothing(features: ItemTableModel, store: SessionStore) -> None:
    features.sort(COL_PROGRESS)
    before = ids(features)
    signals = Signals(features)
    feed(features, store, [update("feature", item("feat-2", "renamed", "in_progress", 10.0, "WIP"))])
    assert ids(features) == before
    assert signals.layouts == 0 and signals.changed == [(before.index("feat-2"), before.index("feat-2"))]


# ---------------------------------------------------------------------- icons and delegate


def test_status_icons_differ_in_shape_not_only_colour(qapp) -> None:
    grey: dict[str, bytes] = {}
    for status in STATUSES:
        icon = status_icon(status)
        assert status_icon(status) is icon  # cached
        assert not icon.isNull() and status_color(status).isValid() and status_label(status)
        image = icon.pixmap(16, 16).toImage().convertToFormat(QImage.Format.Format_Grayscale8)
        grey[status] = bytes(image.constBits())
    assert len(set(grey.values())) == len(STATUSES)  # distinguishable even without colour
    assert status_icon("unknown").cacheKey() == status_icon("pending").cacheKey()


def test_percent_text() -> None:
    assert percent_text(100.0) == "100%"
    assert percent_text(9.5) == "9.5%"


def test_panel_paints_with_the_delegate(panel: ItemsPanel) -> None:
    panel.resize(900, 400)
    panel.show()
    assert not panel.grab().isNull()  # paints every visible row through ProgressBarDelegate
    assert panel.table.itemDelegateForColumn(COL_PROGRESS) is panel.delegate


# ---------------------------------------------------------------------- panel


def test_panel_filter_widgets_and_count(panel: ItemsPanel, store: SessionStore) -> None:
    assert panel.filter_edit.placeholderText() == "Filter… (Ctrl+F)"
    assert panel.filter_edit.isClearButtonEnabled()
    assert panel.table.verticalHeader().isHidden()
    assert panel.count_label.text() == "4 of 4"
    panel.filter_edit.setText("gamma")
    assert panel.count_label.text() == "1 of 4"
    panel.filter_edit.clear()
    panel.status_combo.setCurrentIndex(panel.status_combo.findText("Failed"))
    assert panel.count_label.text() == "1 of 4"
    feed(panel, store, [update("feature", item("feat-9", status="failed"))])
    assert panel.count_label.text() == "2 of 5"
    panel.status_combo.setCurrentIndex(panel.status_combo.findText("All"))
    assert panel.count_label.text() == "5 of 5"
    assert [panel.status_combo.itemText(i) for i in range(5)] == [
        "All",
        "Completed",
        "In progress",
        "Pending",
        "Failed",
    ]


def test_details_show_the_selected_item_and_follow_it(panel: ItemsPanel, store: SessionStore) -> None:
    assert "Select a feature" in panel.details.text()
    panel.table.sortByColumn(COL_PROGRESS, Qt.SortOrder.AscendingOrder)
    panel.table.selectRow(0)  # lowest progress: feat-3
    text = panel.details.text()
    assert "feat-3" in text and "broken" in text and "critical" in text
    lines = text.splitlines()
    assert lines[lines.index("Tests: ") + 1 : lines.index("Tests: ") + 3] == ["  Unit: 3", "  Passing: no"]
    assert '"unit"' not in text and "{" not in text  # nested metadata as a group of rows, never raw JSON
    # The selected item changes and moves (sorted by progress): the pane follows it.
    feed(panel, store, [update("feature", item("feat-3", "delta", "in_progress", 60.0, "fixing", owner="sam"))])
    text = panel.details.text()
    assert "fixing" in text and "sam" in text and "60%" in text
    assert panel.selected_item()["id"] == "feat-3"
    # Another item's change leaves the pane alone; the selected item's removal clears it.
    feed(panel, store, [update("feature", item("feat-1", "Alpha", "failed"))])
    assert "sam" in panel.details.text()
    feed(panel, store, [update("feature", item("feat-3"), removed=True)])
    assert "sam" not in panel.details.text()
    assert panel.selected_item() is None or panel.selected_item()["id"] != "feat-3"


def test_load_keeps_the_selection_and_panel_ignores_other_messages(panel: ItemsPanel, store: SessionStore) -> None:
    panel.table.selectRow(1)
    assert panel.selected_item()["id"] == "feat-2"
    feed(panel, store, [terminal("x"), event("source_update", source={"kind": "local"})])
    assert panel.selected_item()["id"] == "feat-2"
    panel.load(store_with(item("feat-0"), *FEATURES))
    assert panel.selected_item()["id"] == "feat-2"
    assert panel.model.row_of("feat-2") == 2
    assert "feat-2" in panel.details.text()
    panel.load(make_store())
    assert panel.model.rowCount() == 0
    assert panel.selected_item() is None


def test_focus_filter(qtbot, panel: ItemsPanel) -> None:
    panel.show()
    panel.activateWindow()
    panel.filter_edit.setText("abc")
    panel.focus_filter()
    qtbot.waitUntil(panel.filter_edit.hasFocus, timeout=2000)
    assert panel.filter_edit.selectedText() == "abc"


def test_real_sample_project(qtmodeltester, qtbot, sample_project: Path) -> None:
    store = read_once(sample_project).store
    state = store.snapshot()
    features, components = ItemsPanel("feature"), ItemsPanel("component")
    for widget in (features, components):
        qtbot.addWidget(widget)
        widget.load(store)
    assert features.model.rowCount() == features.proxy.rowCount() == 17
    assert components.model.rowCount() == components.proxy.rowCount() == 91
    assert components.count_label.text() == "91 of 91"
    qtmodeltester.check(features.proxy)
    qtmodeltester.check(components.model)
    features.table.selectRow(0)
    assert state["features"][0]["metadata"]["description"] in features.details.text()
