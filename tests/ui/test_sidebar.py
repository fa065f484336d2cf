"""The project list: a list view over a model of the sessions, driven the way the window drives it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from buildrunner_gui.ui.sidebar import SessionList

from .feeding import Signals


def sidebar(qtbot) -> SessionList:
    widget = SessionList()
    qtbot.addWidget(widget)
    return widget


def texts(widget: SessionList) -> list[str]:
    return [widget.sessions.index(row, 0).data() for row in range(widget.count())]


def test_sessions_are_added_updated_and_removed(qtbot, qtmodeltester) -> None:
    widget = sidebar(qtbot)
    selected: list[str] = []
    widget.session_selected.connect(selected.append)
    widget.add_session("a", "Alpha", "pending", 0.0, "/tmp/a")
    assert widget.current_session() == "a" and selected == ["a"]  # the first one is selected
    widget.add_session("b", "Beta", "in_progress", 42.25, "/tmp/b")
    widget.add_session("c", "Gamma", "failed", 10.0, "/tmp/c")
    assert widget.current_session() == "a"
    assert texts(widget) == ["Alpha\n0.0% · pending", "Beta\n42.2% · building", "Gamma\n10.0% · failed"]
    index = widget.sessions.index(1, 0)
    assert index.data(Qt.ItemDataRole.ToolTipRole) == "/tmp/b"
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) == "Beta, 42 percent, in_progress"
    assert not index.data(Qt.ItemDataRole.DecorationRole).isNull()
    qtmodeltester.check(widget.sessions)

    signals = Signals(widget.sessions)
    widget.update_session("b", "Beta", "completed", 100.0)
    widget.update_session("b", "Beta", "completed", 100.0)  # no change: no signal
    widget.update_session("nope", "x", "failed", 1.0)
    assert signals.changed == [(1, 1)]
    assert texts(widget)[1] == "Beta\n100.0% · completed"

    widget.select("c")
    assert widget.current_session() == "c" and selected[-1] == "c"
    widget.remove_session("c")  # the shown one goes: its neighbour is shown instead
    assert widget.session_ids() == ["a", "b"]
    assert widget.current_session() == "b" and selected[-1] == "b"
    assert signals.removed == [(2, 2)] and signals.resets == 0
    qtmodeltester.check(widget.sessions)


def test_step_wraps_around(qtbot) -> None:
    widget = sidebar(qtbot)
    for session_id in "abc":
        widget.add_session(session_id, session_id.upper(), "pending", 0.0, session_id)
    widget.step(1)
    assert widget.current_session() == "b"
    widget.step(1)
    widget.step(1)
    assert widget.current_session() == "a"
    widget.step(-1)
    assert widget.current_session() == "c"
    for session_id in "abc":
        widget.remove_session(session_id)
    assert widget.count() == 0 and widget.current_session() is None
    widget.step(1)  # nothing to step to
    assert widget.current_session() is None
