"""The keyed row model every store-backed table uses: ranges in, ranges out, one dataChanged, no resets."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from buildrunner_gui.ui.keyed_model import KeyedTableModel, runs

from .feeding import Signals


class Letters(KeyedTableModel):
    """Rows are keys; each shows its own key (enough to test the row bookkeeping)."""

    def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else 2

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return self._keys[index.row()] if index.isValid() and role == Qt.ItemDataRole.DisplayRole else None


def test_runs() -> None:
    assert runs([]) == []
    assert runs([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]


def test_sync_inserts_and_removes_ranges_and_reports_changes_as_runs(qapp, qtmodeltester) -> None:
    model = Letters()
    model.reset_keys("abcdefgh")
    qtmodeltester.check(model)
    signals = Signals(model)
    model.sync_keys(list("aXYcdghZ"), changed=["a", "d", "g", "X", "b"])
    assert signals.removed == [(4, 5), (1, 1)]  # e f, then b: bottom first
    assert signals.inserted == [(1, 2), (7, 7)]  # X Y, then Z, each where the target puts it
    assert signals.changed == [(0, 0), (4, 5)]  # a, then d g: new and gone keys are not "changed"
    assert (signals.resets, signals.layouts) == (0, 0)
    assert model.keys() == list("aXYcdghZ")
    assert [model.row_of(key) for key in "aXYcdghZ"] == list(range(8))
    assert model.row_of("b") is None
    qtmodeltester.check(model)


def test_a_new_order_is_one_layout_change_that_keeps_persistent_indexes(qapp, qtmodeltester) -> None:
    model = Letters()
    model.reset_keys("abcd")
    held = QPersistentModelIndex(model.index(1, 1))  # "b", as a selection holds it
    signals = Signals(model)
    model.sync_keys(list("dcba"), changed=["b"])
    assert signals.layouts == 1 and (signals.resets, signals.inserted, signals.removed) == (0, [], [])
    assert held.row() == 2 and held.column() == 1 and held.data() == "b"
    assert signals.changed == [(2, 2)]
    qtmodeltester.check(model)


def test_nothing_changed_emits_nothing(qapp) -> None:
    model = Letters()
    model.reset_keys("abc")
    signals = Signals(model)
    model.sync_keys(list("abc"))
    model.report_changed(["nope"])
    assert (signals.resets, signals.layouts, signals.changed, signals.inserted, signals.removed) == (0, 0, [], [], [])
