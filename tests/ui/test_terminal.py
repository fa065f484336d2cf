"""The terminal pane: the ANSI parser (pure) and the real TerminalPanel widget, offscreen."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QApplication, QMenu

from buildrunner_gui.ui import terminal_view
from buildrunner_gui.ui.ansi import DEFAULT_STYLE, Run, Style, apply_sgr, palette_rgb, parse_lines, strip_ansi
from buildrunner_gui.ui.terminal_view import INFO, KIND, MAX_LINES, SOURCE, STDERR, STDOUT, TerminalPanel

from .feeding import OFFSCREEN_NOISE, error, event, feed, make_store, publish, terminal

pytestmark = OFFSCREEN_NOISE

# -- ANSI parser


def one_line(text: str, style: Style = DEFAULT_STYLE) -> list[Run]:
    lines, _ = parse_lines(text, style)
    assert len(lines) == 1, lines
    return lines[0]


def test_plain_text_is_one_run_per_line() -> None:
    lines, end = parse_lines("a\nbb\n\nccc")
    assert lines == [[Run("a", DEFAULT_STYLE)], [Run("bb", DEFAULT_STYLE)], [], [Run("ccc", DEFAULT_STYLE)]]
    assert end == DEFAULT_STYLE


def test_trailing_newline_ends_the_last_line_and_empty_text_is_one_empty_line() -> None:
    assert parse_lines("a\n")[0] == [[Run("a", DEFAULT_STYLE)]]
    assert parse_lines("")[0] == [[]]


def test_standard_colours_bold_and_reset() -> None:
    runs = one_line("\x1b[31mred\x1b[1;42mbold on green\x1b[0m plain \x1b[94;103mbright\x1b[mend")
    assert runs == [
        Run("red", Style(fg=1)),
        Run("bold on green", Style(fg=1, bg=2, bold=True)),
        Run(" plain ", DEFAULT_STYLE),
        Run("bright", Style(fg=12, bg=11)),
        Run("end", DEFAULT_STYLE),
    ]


def test_attribute_on_and_off_codes() -> None:
    style = apply_sgr(DEFAULT_STYLE, "1;3;4;33;44")
    assert style == Style(fg=3, bg=4, bold=True, italic=True, underline=True)
    assert apply_sgr(style, "22;23;24;39;49") == DEFAULT_STYLE
    assert apply_sgr(DEFAULT_STYLE, "4:0") == DEFAULT_STYLE  # colon sub-parameter: no underline
    assert apply_sgr(DEFAULT_STYLE, "5;7;53;99") == DEFAULT_STYLE  # unknown codes are ignored


def test_256_colour_and_truecolor() -> None:
    assert apply_sgr(DEFAULT_STYLE, "38;5;208") == Style(fg=208)
    assert apply_sgr(DEFAULT_STYLE, "48;5;240;1") == Style(bg=240, bold=True)
    assert apply_sgr(DEFAULT_STYLE, "38;2;10;20;30") == Style(fg=(10, 20, 30))
    assert apply_sgr(DEFAULT_STYLE, "38:2::10:20:30;48:5:17") == Style(fg=(10, 20, 30), bg=17)
    assert apply_sgr(DEFAULT_STYLE, "38:2:10:20:30") == Style(fg=(10, 20, 30))
    assert palette_rgb(1) == (0xCC, 0x00, 0x00)
    assert palette_rgb(16) == (0, 0, 0) and palette_rgb(231) == (255, 255, 255)
    assert palette_rgb(208) == (255, 135, 0)
    assert palette_rgb(232) == (8, 8, 8) and palette_rgb(255) == (238, 238, 238)


@pytest.mark.parametrize("params", ["38;5", "38;5;300", "38;2;1;2", "48;2;1;2;999", "38", "38;9;1"])
def test_malformed_extended_colours_are_ignored(params: str) -> None:
    assert apply_sgr(Style(bold=True), params) == Style(bold=True)


def test_unknown_sequences_are_stripped() -> None:
    text = "a\x1b[?25lb\x1b[2Jc\x1b]0;window title\x07d\x1b]8;;http://x\x1b\\e\x1b(Bf\x1b=g\x07h\x1b[?1mi\x1bPdcs\x1b\\j\x1b"
    assert one_line(text) == [Run("abcdefghij", DEFAULT_STYLE)]


def test_unterminated_osc_stops_at_the_line_end() -> None:
    assert strip_ansi("a\x1b]0;title\nnext line") == "a\nnext line"


def test_carriage_return_redraws_the_line() -> None:
    assert strip_ansi("10%\r20%\r30%") == "30%"
    assert strip_ansi("downloading 100 files\rdone") == "doneloading 100 files"  # overwrite, as a terminal
    assert strip_ansi("downloading 100 files\r\x1b[Kdone") == "done"  # the usual progress-bar idiom
    assert strip_ansi("abc\x1b[2K\rX") == "X"
    assert strip_ansi("abc\x08\x08Z") == "aZc"
    assert strip_ansi("50%\r") == "50%"  # a line ending in a bare CR keeps its text


def test_carriage_return_keeps_styles_per_cell() -> None:
    assert one_line("\x1b[31mAAAA\r\x1b[32mBB") == [Run("BB", Style(fg=2)), Run("AA", Style(fg=1))]


def test_crlf_is_a_normal_line_end() -> None:
    assert strip_ansi("one\r\ntwo\r\n") == "one\ntwo"
    assert parse_lines("one\r\ntwo")[0] == [[Run("one", DEFAULT_STYLE)], [Run("two", DEFAULT_STYLE)]]


def test_style_carries_across_lines_and_calls() -> None:
    lines, end = parse_lines("\x1b[33mfirst\nsecond")
    assert lines == [[Run("first", Style(fg=3))], [Run("second", Style(fg=3))]]
    assert parse_lines("third", end)[0] == [[Run("third", Style(fg=3))]]


@given(st.text(alphabet=st.sampled_from(list("ab \t\n\r\x08\x07\x1b[];:?m0123456789KP\\"))))
def test_parser_never_fails_and_leaves_no_control_characters(text: str) -> None:
    lines, _ = parse_lines(text)
    body = text[:-1] if text.endswith("\n") else text
    assert len(lines) == body.count("\n") + 1
    for line in lines:
        assert all(run.text for run in line)
        assert not any(ch in "".join(run.text for run in line) for ch in "\x1b\r\x08\x07\n")


# -- the panel


out = terminal


def put(panel: TerminalPanel, *messages: dict[str, Any]) -> None:
    """One batch, as the session view hands it over (the terminal reads the messages, not the store)."""
    feed(panel, make_store(), messages)


def numbered(start: int, count: int) -> str:
    return "\n".join(f"line {i}" for i in range(start, start + count))


@pytest.fixture
def panel(qtbot: Any) -> TerminalPanel:
    widget = TerminalPanel()
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def blocks(panel: TerminalPanel) -> list[str]:
    doc = panel.text_edit().document()
    return [doc.findBlockByNumber(i).text() for i in range(doc.blockCount())]


def fragment_format(panel: TerminalPanel, block_number: int, index: int = 0) -> QTextCharFormat:
    it = panel.text_edit().document().findBlockByNumber(block_number).begin()
    for _ in range(index):
        it += 1
    return it.fragment().charFormat()


def at_end(panel: TerminalPanel) -> bool:
    bar = panel.text_edit().verticalScrollBar()
    return bar.value() == bar.maximum()


def test_stdout_stderr_and_info_are_styled_differently(panel: TerminalPanel) -> None:
    put(panel, out("normal"))
    put(panel, out("boom", "stderr"))
    put(panel, out("watching", "info"))
    assert blocks(panel) == ["── log:build.log ──", "normal", "boom", "watching"]
    separator, stdout, stderr, info = (fragment_format(panel, n) for n in range(4))
    assert [f.intProperty(KIND) for f in (separator, stdout, stderr, info)] == [SOURCE, STDOUT, STDERR, INFO]
    # stdout keeps the widget's text colour; stderr is red; info and the separator are dimmed, info italic.
    assert stdout.foreground().style() == Qt.BrushStyle.NoBrush and not stdout.fontItalic()
    red = stderr.foreground().color()
    assert red.red() > 150 and red.red() > 2 * max(red.green(), red.blue())
    assert info.fontItalic() and info.foreground().style() != Qt.BrushStyle.NoBrush
    assert not separator.fontItalic() and separator.foreground() == info.foreground()


def test_stderr_lines_carry_a_gutter_marker(panel: TerminalPanel) -> None:
    put(panel, out("fine\nfine"))
    put(panel, out("bad\nbad", "stderr"))
    edit = panel.text_edit()
    image = edit.grab().toImage()
    x = edit.contentsRect().left() + 2
    doc = edit.document()
    for number, expect_marker in [(1, False), (3, True), (4, True)]:
        top, height = edit.block_span(doc.findBlockByNumber(number))
        color = image.pixelColor(x, int(top + height / 2) + edit.contentsRect().top())
        is_red = color.red() > 150 and color.green() < 100
        assert is_red == expect_marker, (number, color.name())


def test_ansi_colours_become_char_formats(panel: TerminalPanel) -> None:
    put(panel, out("\x1b[32mok\x1b[0m and \x1b[1;38;5;208mwarn\x1b[0m", source=""))
    assert blocks(panel) == ["ok and warn"]  # no source, no separator
    ok, plain, warn = (fragment_format(panel, 0, i) for i in range(3))
    assert ok.foreground().color() == QColor(*palette_rgb(2))
    assert plain.foreground().style() == Qt.BrushStyle.NoBrush
    assert warn.foreground().color() == QColor(255, 135, 0) and warn.fontWeight() == QFont.Weight.Bold
    put(panel, out("\x1b[41mfirst", "stderr", source=""))
    put(panel, out("second", "stderr", source=""))  # colour state carries on within a stream
    assert fragment_format(panel, 2).background().color() == QColor(*palette_rgb(1))


def test_source_separator_only_when_the_source_changes(panel: TerminalPanel) -> None:
    put(panel, out("a", source="log:a.log"))
    put(panel, out("b", source="log:a.log"))
    put(panel, out("c", "stderr", source="log:a.log"))
    put(panel, out("d", "info", source="monitor"))
    put(panel, out("e", source="log:a.log"))
    assert blocks(panel) == ["── log:a.log ──", "a", "b", "c", "── monitor ──", "d", "── log:a.log ──", "e"]
    assert panel.line_count() == 5


def test_carriage_return_redraw_in_the_panel(panel: TerminalPanel) -> None:
    put(panel, out("10%\r20%\r30%\ndone\r\n", source=""))
    assert blocks(panel) == ["30%", "done"]


def test_scrollback_is_bounded_and_reports_dropped_lines(panel: TerminalPanel) -> None:
    assert panel.dropped_label.isHidden()
    for k in range(3):
        put(panel, out(numbered(k * 20_000, 20_000)))
    assert panel.line_count() == MAX_LINES == 50_000
    assert panel.dropped_count() == 10_000  # the separator that scrolled off is not an output line
    assert blocks(panel)[0] == "line 10000" and blocks(panel)[-1] == "line 59999"
    assert not panel.dropped_label.isHidden()
    assert panel.dropped_label.text() == "10,000 earlier lines dropped"


def test_a_big_message_is_one_edit(panel: TerminalPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    inserts: list[int] = []

    class CountingCursor(QTextCursor):
        def insertText(self, *args: Any) -> None:
            inserts.append(1)
            super().insertText(*args)

    monkeypatch.setattr(terminal_view, "QTextCursor", CountingCursor)
    changes: list[int] = []
    panel.text_edit().document().contentsChange.connect(lambda *args: changes.append(1))
    put(panel, out(numbered(0, 10_000), source=""))
    assert panel.line_count() == 10_000
    assert len(changes) == 1  # one edit block: one layout pass
    assert len(inserts) == 1  # same-format lines are merged into a single insertText


def test_matches_in_dropped_lines_go_away(panel: TerminalPanel, qtbot: Any) -> None:
    put(panel, out("needle\n" + numbered(0, MAX_LINES - 1), source=""))
    qtbot.keyClicks(panel.search_field, "needle")
    assert panel.search_status.text() == "1 of 1"
    put(panel, out("more", source=""))
    assert panel.search_status.text() == "not found" and panel.text_edit().extraSelections() == []


def test_search_finds_and_cycles(panel: TerminalPanel, qtbot: Any) -> None:
    put(panel, out("alpha needle\nbeta\nNEEDLE gamma\nneedle"))
    panel.focus_search()
    qtbot.keyClicks(panel.search_field, "needle")
    edit = panel.text_edit()
    assert len(edit.extraSelections()) == 3
    assert panel.search_status.text() == "1 of 3"
    current = edit.textCursor().blockNumber()
    assert current == 1
    qtbot.keyClick(panel.search_field, Qt.Key.Key_Return)
    assert panel.search_status.text() == "2 of 3" and edit.textCursor().blockNumber() == 3
    qtbot.keyClick(panel.search_field, Qt.Key.Key_Return)
    qtbot.keyClick(panel.search_field, Qt.Key.Key_Return)
    assert panel.search_status.text() == "1 of 3"  # wraps around
    qtbot.keyClick(panel.search_field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert panel.search_status.text() == "3 of 3" and edit.textCursor().blockNumber() == 4
    # The current match is highlighted differently from the others.
    formats = {sel.cursor.blockNumber(): sel.format.background().color() for sel in edit.extraSelections()}
    assert formats[4] != formats[1] and formats[1] == formats[3]
    put(panel, out("one more needle"))
    assert panel.search_status.text() == "3 of 4"
    qtbot.keyClicks(panel.search_field, "zzz")
    assert panel.search_status.text() == "not found" and edit.extraSelections() == []
    qtbot.keyClick(panel.search_field, Qt.Key.Key_Escape)
    assert panel.search_field.text() == "" and panel.search_status.text() == ""


def test_follow_keeps_the_end_in_view(panel: TerminalPanel) -> None:
    assert panel.is_following() and panel.follow_button.isChecked()
    for k in range(3):
        put(panel, out(numbered(k * 500, 500)))
        assert at_end(panel)
    assert panel.text_edit().verticalScrollBar().maximum() > 0


def test_scrolling_up_stops_following_and_jump_to_end_resumes(panel: TerminalPanel, qtbot: Any) -> None:
    put(panel, out(numbered(0, 1_000)))
    edit = panel.text_edit()
    bar = edit.verticalScrollBar()
    with qtbot.waitSignal(panel.follow_changed) as blocker:
        bar.setValue(bar.maximum() // 2)  # as the user dragging the scrollbar
    assert blocker.args == [False]
    assert not panel.is_following() and not panel.follow_button.isChecked()
    value, top = bar.value(), edit.firstVisibleBlock().text()
    put(panel, out(numbered(1_000, 1_000)))
    assert bar.value() == value and edit.firstVisibleBlock().text() == top
    assert not at_end(panel)
    qtbot.mouseClick(panel.jump_button, Qt.MouseButton.LeftButton)
    assert panel.is_following() and panel.follow_button.isChecked() and at_end(panel)
    put(panel, out(numbered(2_000, 100)))
    assert at_end(panel)


def test_follow_button_toggles(panel: TerminalPanel, qtbot: Any) -> None:
    put(panel, out(numbered(0, 1_000)))
    qtbot.mouseClick(panel.follow_button, Qt.MouseButton.LeftButton)
    assert not panel.is_following()
    top = panel.text_edit().firstVisibleBlock().text()
    put(panel, out(numbered(1_000, 10)))
    assert panel.text_edit().firstVisibleBlock().text() == top


def test_view_stays_put_while_scrollback_is_trimmed(panel: TerminalPanel) -> None:
    put(panel, out(numbered(0, MAX_LINES), source=""))
    edit = panel.text_edit()
    block = edit.document().findBlockByNumber(30_000)
    edit.verticalScrollBar().setValue(block.firstLineNumber())
    assert not panel.is_following()
    top = edit.firstVisibleBlock().text()
    assert top == "line 30000"
    put(panel, out(numbered(MAX_LINES, 5_000), source=""))
    assert panel.dropped_count() == 5_000
    assert edit.firstVisibleBlock().text() == top


def test_copy_all_and_ctrl_c(panel: TerminalPanel, qtbot: Any) -> None:
    put(panel, out("first\nsecond"))
    put(panel, out("oops", "stderr"))
    clipboard = QApplication.clipboard()
    panel.copy_all_action.trigger()
    assert clipboard.text() == "── log:build.log ──\nfirst\nsecond\noops"
    edit = panel.text_edit()
    cursor = QTextCursor(edit.document().findBlockByNumber(2))
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    edit.setTextCursor(cursor)
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == "second"


def test_context_menu_offers_copy_all(panel: TerminalPanel) -> None:
    edit = panel.text_edit()
    point = QPoint(20, 20)
    edit.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, edit.mapToGlobal(point)))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    assert "Copy all" in [action.text() for action in menu.actions()]
    menu.close()


def test_a_batch_of_messages_is_one_edit(panel: TerminalPanel) -> None:
    changes: list[int] = []
    panel.text_edit().document().contentsChange.connect(lambda *args: changes.append(1))
    put(panel, *(out(f"line {i}", "stderr" if i % 10 == 0 else "stdout") for i in range(2_000)))
    assert len(changes) == 1  # 2,000 messages, one edit block: one layout pass
    assert panel.line_count() == 2_000
    assert blocks(panel)[1:3] == ["line 0", "line 1"]
    assert fragment_format(panel, 1).intProperty(KIND) == STDERR
    assert fragment_format(panel, 2).intProperty(KIND) == STDOUT


def test_load_replaces_the_content(panel: TerminalPanel) -> None:
    for k in range(2):
        put(panel, out(numbered(k * 30_000, 30_000)))
    assert panel.dropped_count() > 0
    store = make_store()
    publish(store, [out("from snapshot", source="log:b.log"), out("warning", "stderr", source="log:b.log")])
    panel.load(store)
    assert blocks(panel) == ["── log:b.log ──", "from snapshot", "warning"]
    assert fragment_format(panel, 2).intProperty(KIND) == STDERR
    assert panel.line_count() == 2 and panel.dropped_count() == 0 and panel.dropped_label.isHidden()
    panel.load(make_store())
    assert panel.text() == "" and panel.line_count() == 0
    put(panel, out("again"))
    assert blocks(panel) == ["── log:build.log ──", "again"]


def test_other_messages_are_ignored(panel: TerminalPanel) -> None:
    progress = {"total": 3, "completed": 1, "percent": 33.3, "status": "in_progress", "tasks_completed": 0}
    put(panel, event("build_progress", **progress, files_created=0), error("x"))
    assert panel.line_count() == 0 and panel.text() == ""


_SGR_PIECES = ["\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[1;32m", "\x1b[38;5;208m", "\x1b[38:2::1:2:3m", "\x1b[m",
               "\x1b[22;39m", "\x1b[4:0m", "\x1b[7m", "plain", " ", "ü", "\n", "text\n"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_SGR_PIECES), max_size=30))
def test_colour_only_text_parses_as_the_general_parser_does(pieces):
    """The fast path for colour-only output gives exactly the general parser's lines and end style."""
    from buildrunner_gui.ui import ansi

    text = "".join(pieces)
    fast = ansi.parse_lines(text)
    general = ansi.parse_lines("\x07" + text)  # a control character forces the general path (BEL is dropped)
    assert fast == general
