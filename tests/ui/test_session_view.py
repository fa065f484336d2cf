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


def test_a_panel_is_built_when_first_shown_and_shows_what_it_missed(qtbot, sample_project: Path) -> None:
    store = read_once(sample_project).store
    view = view_of(qtbot, store)
    view.show()
    assert [view.is_built(name) for name in ("overview", "features", "terminal")] == [True, False, False]
    # Batches while the panel is not built reach only the store; the panel, once shown, reads it there.
    batch = publish(store, [update("feature", item("late-feature", status="completed", progress=100.0))])
    batch += publish(store, [terminal("a line nobody was looking at")])
    view.apply_batch(batch, store)
    assert not view.is_built("features")
    view.tabs.setCurrentIndex(1)  # what a click on "Features" does
    assert view.is_built("features") and view.tabs.currentWidget() is view.features
    assert view.features.model.rowCount() == 18
    assert view.features.model.row_of("late-feature") is not None
    view.tabs.setCurrentIndex(6)
    assert view.tabs.currentWidget() is view.terminal
    assert "a line nobody was looking at" in view.terminal.text_edit().toPlainText()
    assert [view.tabs.tabText(i) for i in range(view.tabs.count())][1::5] == ["&Features", "&Terminal"]
    # Built panels follow later batches as before.
    view.apply_batch(publish(store, [update("feature", item("later", status="pending"))]), store)
    assert view.features.model.rowCount() == 19


def test_a_session_off_screen_redraws_its_overview_when_shown(qtbot) -> None:
    from buildrunner_gui.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    stores = {name: make_store(name) for name in ("a", "b")}
    views = {}
    for name, store in stores.items():
        publish(store, [update("feature", item("f1"))])
        views[name] = SessionView()
        views[name].load(store)
        window.add_session(name, views[name], name, "pending", 0.0, f"/tmp/{name}")
    window.sidebar.select("a")
    assert window.views.currentWidget() is views["a"]
    counts = views["b"].overview.count_labels["features"]
    before = counts.text()
    batch = publish(stores["b"], [update("feature", item("f1", status="completed", progress=100.0))])
    views["b"].apply_batch(batch, stores["b"])
    assert counts.text() == before == "0 / 1 completed"  # not on screen: nothing redrawn yet
    # Nor is it laid out: the window's stack asks every page for its size, and whether its height depends on its
    # width (which lays out every word-wrapped label), on each layout pass.
    assert views["b"].sizeHint().isNull() and not views["a"].sizeHint().isNull()
    assert not views["b"].hasHeightForWidth() and views["a"].hasHeightForWidth()
    window.sidebar.select("b")
    assert window.views.currentWidget() is views["b"]
    assert counts.text() == "1 / 1 completed"
    assert views["a"].sizeHint().isNull() and not views["b"].sizeHint().isNull()
    assert not views["a"].hasHeightForWidth() and views["b"].hasHeightForWidth()
    # On screen, every batch is drawn at once.
    batch = publish(stores["b"], [update("feature", item("f2"))])
    views["b"].apply_batch(batch, stores["b"])
    assert counts.text() == "1 / 2 completed"
    window.allow_close()
