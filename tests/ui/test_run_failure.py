"""The overview says a session failed because its build command exited non-zero, and links to the output."""

from __future__ import annotations

from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.ui.overview_panel import OverviewPanel
from tests.model.test_run_status import run

PROJECT = {"name": "p", "alias": None, "path": "/p"}


def test_overview_shows_a_failed_run_and_its_reason(qtbot):
    store = SessionStore("s", PROJECT)
    panel = OverviewPanel()
    qtbot.addWidget(panel)
    panel.load(store)
    assert panel.failure_label.isHidden()
    batch = store.publish([run("r1", "finished", 3, "2026-12-06T10:00:05.000Z", "2026-12-06T10:00:05.000Z")])
    panel.apply_batch(batch, store)
    assert not panel.failure_label.isHidden()
    assert "the build command exited with code 3" in panel.failure_label.text()
    assert 'href="run:r1"' in panel.failure_label.text()
    assert panel.badge.status == "failed"
    now = panel.what_now()
    assert now is not None and now.failure is not None and now.failure.where == "run"
    with qtbot.waitSignal(panel.reveal_requested) as shown:
        panel._follow_link("run:r1")
    assert shown.args == ["run", "r1"]
