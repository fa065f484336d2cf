"""The session view routes the store and each batch to every panel; one big batch takes row-level signals."""

from __future__ import annotations

from pathlib import Path

from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources.oneshot import read_once
from buildrunner_gui.ui.session_view import SessionView

from .feeding import OFFSCREEN_NOISE, Signals, file_change, item, make_store, publish, terminal, update

pytestmark = OFFSCREEN_NOISE


def view_of(qtbot, store: SessionStore) -> SessionView:
    view = SessionView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.load(store)
    return view


def test_load_fills_every_panel_from_the_store(qtbot, sample_project: Path) -> None:
    store = read_once(sample_project).store
    view = view_of(qtbot, store)
    assert view.overview.name_label.text() == "BuildRunner3"
    assert view.features.model.rowCount() == 17
    assert view.components.model.rowCount() == 91
    assert len(view.checkpoints.checkpoint_ids()) == 4
    assert len(view.documents.paths()) == 5
    assert len(view.artifacts.paths()) == 15
    assert view.activity.row_count() == 0
    view.artifacts.table.setCurrentIndex(view.artifacts.model.index(0, 0))
    assert view.artifacts.open_button.isEnabled()  # a local project: its files can be opened


def test_a_mirrored_session_does_not_open_files(qtbot, sample_project: Path) -> None:
    local = read_once(sample_project).store
    mirror = make_store()
    mirror.set_source({"kind": "mirror", "upstream": "ws://127.0.0.1:1/api/build/stream/x", "state": "live"})
    mirror.reload(local.snapshot(), [])
    view = view_of(qtbot, mirror)
    assert len(view.artifacts.paths()) == 15
    view.artifacts.table.setCurrentIndex(view.artifacts.model.index(0, 0))
    assert not view.artifacts.open_button.isEnabled()  # the path names a folder on the sender's machine


def test_one_batch_reaches_every_panel_once(qtbot) -> None:
    store = make_store()
    publish(store, [update("feature", item(f"f{n}")) for n in range(10_000)])
    view = view_of(qtbot, store)
    features = Signals(view.features.model)
    batch = publish(
        store, [update("feature", item(f"f{n}", status="completed", progress=100.0)) for n in range(10_000)]
    )
    batch += publish(store, [terminal(f"line {n}") for n in range(50)])
    batch += publish(store, [file_change(".buildrunner/artifacts/a.txt", "artifact", "created", size=3)])
    view.apply_batch(batch, store)
    assert features.changed == [(0, 9_999)] and features.inserted == features.removed == []
    assert features.resets == 0
    assert view.overview.count_labels["features"].text() == "10000 / 10000 completed"
    assert view.terminal.line_count() == 50
    assert view.artifacts.paths() == [".buildrunner/artifacts/a.txt"]
    assert view.activity.row_count("file") == 1
    assert view.components.model.rowCount() == 0
