"""The terminal pane: build output with ANSI colours, bounded scrollback, search, copy and follow-the-end.

Fed only through the panel contract (`load(store)`, `apply_batch(batch, store)`). All the `terminal_output`
messages of a batch are inserted through one QTextCursor edit block, with consecutive same-format text merged into
a single insertText call, so 2,000 messages (or one 10,000-line message) cost one layout pass, not thousands.
The scrollback keeps its own last 50,000 lines; the store keeps only the last 1,000, which is what `load` shows.

A line that reports a failure (`failure_marks.is_failure_line`: FAILED, ERROR, "error:", a traceback) is marked
in the same edit: its block gets a red background and the gutter draws the failed icon beside it. stderr lines
are red, with a bar in the gutter. Output without a hint of a failure costs a few substring searches per message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from buildrunner_gui.ui.ansi import DEFAULT_STYLE, Line, Style, line_text, parse_lines, to_rgb

from ..model.failure_lines import failure_line_numbers, has_failure_hint, is_failure_line
from .placeholder import Placeholder
from .status_style import failure_background_color, status_icon

if TYPE_CHECKING:
    from ..model.store import SessionStore

MAX_LINES = 50_000
MAX_MATCHES = 10_000  # beyond this, highlighting costs more than it helps; the count says "10,000+"
GUTTER_WIDTH = 16  # a stderr bar and a failure icon
STDERR_BAR = 3
EMPTY_TEXT = "No terminal output yet — BuildRunner's logs in .buildrunner/logs/ appear here as they are written"

# Which kind of line a block holds. Stored on every char format, so it is also each block's char format (a newline
# inside insertText creates a block with the text's format), which the gutter and the tests read.
KIND = QTextFormat.Property.UserProperty + 1
STDOUT, STDERR, INFO, SOURCE = 0, 1, 2, 3
_KINDS = {"stdout": STDOUT, "stderr": STDERR, "info": INFO}
# On the block format of a line that reports a failure (with its red background).
FAILING = QTextFormat.Property.UserProperty + 2


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3], strict=True)))


def _failure_marks(output: str, lines: list[Line], fmt: QTextBlockFormat) -> list[QTextBlockFormat | None]:
    """Per parsed line of `output` (parsed line n is raw line n): `fmt` if it reports a failure, else None. Only the
    lines the pattern finds in the raw text are looked at, then checked as shown (escapes and redraws applied)."""
    marks: list[QTextBlockFormat | None] = [None] * len(lines)
    for number in failure_line_numbers(output):
        if number < len(lines) and is_failure_line(line_text(lines[number])):
            marks[number] = fmt
    return marks


class _Gutter(QWidget):
    """A strip left of the text: a bar beside stderr lines, so stderr stays visible where colour is not, and
    the failed icon beside lines that report a failure."""

    def __init__(self, edit: _TerminalEdit) -> None:
        super().__init__(edit)
        self._edit = edit

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        color = self._edit.stderr_color
        bottom = event.rect().bottom()
        block = self._edit.firstVisibleBlock()
        while block.isValid():
            top, height = self._edit.block_span(block)
            if top > bottom:
                break
            if block.isVisible():
                if block.charFormat().intProperty(KIND) == STDERR:
                    painter.fillRect(QRectF(1, top, STDERR_BAR, height), color)
                if block.blockFormat().boolProperty(FAILING):
                    size = min(GUTTER_WIDTH - STDERR_BAR - 2, int(self._edit.fontMetrics().height()))
                    line = self._edit.fontMetrics().lineSpacing()
                    icon_top = int(top + (min(height, line) - size) / 2)
                    self._edit.failure_icon.paint(painter, STDERR_BAR + 2, icon_top, size, size)
            block = block.next()


class _BlockWriter:
    """Appends lines at the end through one cursor, merging consecutive same-format text into one insertText."""

    def __init__(self, cursor: QTextCursor, empty: bool, kind: int, failing: QTextBlockFormat | None) -> None:
        self.cursor = cursor
        self.cursor.movePosition(QTextCursor.MoveOperation.End)
        self.empty = empty  # the document's single block holds nothing yet
        self.kind = kind  # kind of the last block
        self.failing = failing  # the last block's format when it reports a failure, else None
        self._plain_block = QTextBlockFormat()
        self._pending: list[str] = []
        self._format: QTextCharFormat | None = None

    def flush(self) -> None:
        if self._pending:
            self.cursor.insertText("".join(self._pending), self._format)
            self._pending.clear()

    def write(self, text: str, fmt: QTextCharFormat) -> None:
        if fmt is not self._format:
            self.flush()
            self._format = fmt
        self._pending.append(text)

    def new_line(self, kind: int, fmt: QTextCharFormat, failing: QTextBlockFormat | None = None) -> None:
        """Starts a block for a line of this kind (`fmt`: the kind's plain format); `failing`: the block format of
        a line that reports a failure."""
        if self.empty:
            self.cursor.setBlockCharFormat(fmt)
            if failing is not None:
                self.cursor.setBlockFormat(failing)
            self.empty = False
        elif kind == self.kind and failing is self.failing:
            # A newline inside insertText makes a block whose char and block formats are the text's and the
            # block's: the same kind of line.
            self.write("\n", self._format or fmt)
        else:
            self.flush()
            self.cursor.insertBlock(self._plain_block if failing is None else failing, fmt)
        self.kind = kind
        self.failing = failing


class _TerminalEdit(QPlainTextEdit):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.stderr_color = QColor()
        self.failure_icon = status_icon("failed")
        self.extra_menu_actions: list[QAction] = []
        self._gutter = _Gutter(self)
        self.setViewportMargins(GUTTER_WIDTH, 0, 0, 0)
        self.updateRequest.connect(self._update_gutter)

    def block_span(self, block: QTextBlock) -> tuple[float, float]:
        """Top and height of a block in viewport coordinates (wraps protected QPlainTextEdit API)."""
        geometry = self.blockBoundingGeometry(block).translated(self.contentOffset())
        return geometry.top(), geometry.height()

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), GUTTER_WIDTH, rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        rect = self.contentsRect()
        self._gutter.setGeometry(rect.left(), rect.top(), GUTTER_WIDTH, rect.height())

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.createStandardContextMenu(event.pos())
        menu.addSeparator()
        menu.addActions(self.extra_menu_actions)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())  # popup, not exec: no nested event loop under qasync


class _SearchField(QLineEdit):
    """Enter finds the next match, Shift+Enter the previous one, Escape clears the search."""

    find_requested = Signal(bool)  # backward?

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.find_requested.emit(bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        elif event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
        else:
            super().keyPressEvent(event)


class TerminalPanel(QWidget):
    """Build output of one session. Panel contract: `load(store)`, then `apply_batch(batch, store)`."""

    follow_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._edit = _TerminalEdit(self)
        self._edit.setReadOnly(True)
        self._edit.setUndoRedoEnabled(False)
        self._edit.setMaximumBlockCount(MAX_LINES)
        self._edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._edit.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )

        self.search_field = _SearchField(self)
        self.search_field.setPlaceholderText("Find in output")
        self.search_field.setClearButtonEnabled(True)
        self.search_status = QLabel(self)
        self.follow_button = QToolButton(self)
        self.follow_button.setText("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip("Keep the newest output in view")
        self.jump_button = QToolButton(self)
        self.jump_button.setText("Jump to end")
        self.copy_all_action = QAction("Copy all", self)
        self.copy_all_action.setToolTip("Copy the whole output to the clipboard")
        self.copy_button = QToolButton(self)
        self.copy_button.setDefaultAction(self.copy_all_action)
        self._edit.extra_menu_actions = [self.copy_all_action]
        self.dropped_label = QLabel(self)
        self.dropped_label.hide()

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search_field, 1)
        bar.addWidget(self.search_status)
        for button in (self.follow_button, self.jump_button, self.copy_button):
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.dropped_label)
        layout.addWidget(self._edit, 1)
        self.placeholder = Placeholder(self._edit, EMPTY_TEXT)
        self.placeholder.set_empty(True)

        self._init_colors()
        self._follow = True
        self._scrolling = False  # set while we move the scrollbar, so only the user's scrolling changes follow
        self._matches: list[QTextCursor] = []
        self._current = -1
        self._reset_state()

        bar_widget = self._edit.verticalScrollBar()
        bar_widget.valueChanged.connect(self._on_scrolled)
        bar_widget.rangeChanged.connect(self._on_range_changed)
        self.follow_button.toggled.connect(self.set_follow)
        self.jump_button.clicked.connect(self.jump_to_end)
        self.copy_all_action.triggered.connect(self.copy_all)
        self.search_field.textChanged.connect(self._on_query_changed)
        self.search_field.find_requested.connect(self.find_next)

    # -- panel contract

    def load(self, store: SessionStore) -> None:
        """Replaces the contents with the store's terminal lines."""
        self._scrolling = True  # clearing resets the scrollbar; that is not the user scrolling
        try:
            self._edit.clear()
            QTextCursor(self._edit.document()).setBlockFormat(QTextBlockFormat())  # no failure mark left over
        finally:
            self._scrolling = False
        self._reset_state()
        self._matches, self._current = [], -1
        self._append((line["output"], line["output_type"], line["source"]) for line in store.terminal)
        self._on_query_changed(self.search_field.text())
        if self._follow:
            self._scroll_to_end()
        self.placeholder.set_empty(self._empty)

    def apply_batch(self, batch: Sequence[dict[str, Any]], store: SessionStore) -> None:
        output = [(m["output"], m["output_type"], m["source"]) for m in batch if m["type"] == "terminal_output"]
        if output:
            self._append(output)
            if self._empty is self.placeholder.isHidden():
                self.placeholder.set_empty(self._empty)

    # -- public API

    def focus_search(self) -> None:
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def failing_lines(self) -> list[str]:
        """The text of the lines shown marked as reporting a failure, oldest first."""
        doc = self._edit.document()
        block, lines = doc.firstBlock(), []
        while block.isValid():
            if block.blockFormat().boolProperty(FAILING):
                lines.append(block.text())
            block = block.next()
        return lines

    def line_count(self) -> int:
        """Output lines shown (source separators not counted)."""
        return 0 if self._empty else self._edit.document().blockCount() - len(self._separators)

    def dropped_count(self) -> int:
        """Output lines dropped from the top to keep the scrollback bounded."""
        return self._first_abs() - self._dropped_separators

    def text(self) -> str:
        return self._edit.toPlainText()

    def text_edit(self) -> QPlainTextEdit:
        return self._edit

    def is_following(self) -> bool:
        return self._follow

    def set_follow(self, on: bool) -> None:
        if on != self._follow:
            self._follow = on
            self.follow_button.setChecked(on)
            self.follow_changed.emit(on)
        if on:
            self._scroll_to_end()

    def jump_to_end(self) -> None:
        self.set_follow(True)

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self._edit.toPlainText())

    def find_next(self, backward: bool = False) -> None:
        if not self._matches:
            return
        step = -1 if backward else 1
        self._current = (self._current + step) % len(self._matches) if self._current >= 0 else 0
        self._show_current()

    # -- appending

    def _reset_state(self) -> None:
        self._empty = True  # the document's one block holds nothing yet
        self._abs_end = 0  # blocks ever appended since load: absolute block index of the next one
        self._separators: deque[int] = deque()  # absolute indices of source separator blocks still shown
        self._dropped_separators = 0
        self._source: str | None = None
        self._block_kind = STDOUT
        self._block_failing: QTextBlockFormat | None = None  # the last block's format if it reports a failure
        self._styles: dict[tuple[str, str], Style] = {}  # ANSI state carries on per stream, as in a terminal
        self._update_dropped_label()

    def _first_abs(self) -> int:
        return self._abs_end - (0 if self._empty else self._edit.document().blockCount())

    def _append(self, items: Iterable[tuple[str, str, str]]) -> None:
        bar = self._edit.verticalScrollBar()
        first_before = self._first_abs()
        top = self._edit.firstVisibleBlock()
        anchor = (first_before + top.blockNumber(), bar.value() - top.firstLineNumber())
        writer = _BlockWriter(QTextCursor(self._edit.document()), self._empty, self._block_kind, self._block_failing)
        failing_format = self._failing_block
        end_before = writer.cursor.position()
        self._scrolling = True  # clamping while the document changes is not the user scrolling
        writer.cursor.beginEditBlock()
        try:
            for output, output_type, source in items:
                kind = _KINDS.get(output_type, STDOUT)
                if source != self._source:
                    self._source = source
                    if source:
                        self._separators.append(self._abs_end)
                        self._abs_end += 1
                        writer.new_line(SOURCE, self._format(DEFAULT_STYLE, SOURCE))
                        writer.write(f"── {source} ──", self._format(DEFAULT_STYLE, SOURCE))
                key = (source, output_type)
                lines, self._styles[key] = parse_lines(output, self._styles.get(key, DEFAULT_STYLE))
                self._abs_end += len(lines)
                plain = self._format(DEFAULT_STYLE, kind)
                if not has_failure_hint(output):  # the usual case: nothing to mark
                    for line in lines:
                        writer.new_line(kind, plain)
                        for run in line:
                            writer.write(run.text, self._format(run.style, kind))
                    continue
                for line, mark in zip(lines, _failure_marks(output, lines, failing_format), strict=True):
                    writer.new_line(kind, plain, mark)
                    for run in line:
                        writer.write(run.text, self._format(run.style, kind))
            writer.flush()
        finally:
            writer.cursor.endEditBlock()  # Qt trims the oldest blocks beyond MAX_LINES here
            self._scrolling = False
            self._empty, self._block_kind, self._block_failing = writer.empty, writer.kind, writer.failing
        first_after = self._first_abs()
        while self._separators and self._separators[0] < first_after:
            self._separators.popleft()
            self._dropped_separators += 1
        if first_after != first_before:
            self._update_dropped_label()
            self._prune_matches()
            if not self._follow:
                self._keep_view(anchor, first_after)
        self._find_matches_from(end_before)
        if self._follow:
            self._scroll_to_end()

    def _keep_view(self, anchor: tuple[int, int], first_abs: int) -> None:
        """After trimming, scrolls back to the block that was at the top, so new output never moves the view."""
        number = anchor[0] - first_abs
        block = self._edit.document().findBlockByNumber(number)
        self._set_scroll(block.firstLineNumber() + anchor[1] if number >= 0 and block.isValid() else 0)

    def _update_dropped_label(self) -> None:
        dropped = self.dropped_count()
        self.dropped_label.setText(f"{dropped:,} earlier line{'s' if dropped != 1 else ''} dropped")
        self.dropped_label.setVisible(dropped > 0)

    # -- following

    def _set_scroll(self, value: int) -> None:
        self._scrolling = True
        try:
            self._edit.verticalScrollBar().setValue(value)
        finally:
            self._scrolling = False

    def _scroll_to_end(self) -> None:
        self._set_scroll(self._edit.verticalScrollBar().maximum())

    def _on_scrolled(self, value: int) -> None:
        if not self._scrolling:
            # The user scrolled: away from the end stops following, back to the very end resumes it.
            self.set_follow(value >= self._edit.verticalScrollBar().maximum())

    def _on_range_changed(self, _minimum: int, _maximum: int) -> None:
        if self._follow and not self._scrolling:
            self._scroll_to_end()

    # -- search

    def _on_query_changed(self, query: str) -> None:
        self._matches, self._current = [], -1
        self._find_matches_from(0)
        if self._matches:
            # Start at the first match from the top of the view, not at the top of the whole scrollback.
            top = self._edit.firstVisibleBlock().position()
            self._current = next((i for i, m in enumerate(self._matches) if m.selectionStart() >= top), 0)
            self._show_current()
        else:
            self._paint_matches()

    def _find_matches_from(self, position: int) -> None:
        query = self.search_field.text()
        if not query or len(self._matches) >= MAX_MATCHES:
            return
        doc = self._edit.document()
        cursor = QTextCursor(doc)
        cursor.setPosition(min(position, doc.characterCount() - 1))
        found = len(self._matches)
        while len(self._matches) < MAX_MATCHES:
            cursor = doc.find(query, cursor)
            if cursor.isNull():
                break
            self._matches.append(QTextCursor(cursor))
        if len(self._matches) != found:
            self._paint_matches()

    def _prune_matches(self) -> None:
        """Drops matches whose text was trimmed away (their cursors collapse to an empty selection)."""
        if not self._matches:
            return
        kept = [m for m in self._matches if m.hasSelection()]
        removed_before = sum(1 for m in self._matches[: max(self._current, 0)] if not m.hasSelection())
        self._matches = kept
        self._current = min(max(self._current - removed_before, 0), len(kept) - 1) if self._current >= 0 else -1
        self._paint_matches()

    def _show_current(self) -> None:
        self._paint_matches()
        cursor = QTextCursor(self._matches[self._current])
        cursor.clearSelection()
        self._edit.setTextCursor(cursor)
        self._edit.ensureCursorVisible()

    def _paint_matches(self) -> None:
        selections = []
        for i, match in enumerate(self._matches):
            selection = QTextEdit.ExtraSelection()
            selection.cursor = match
            selection.format = self._current_match_format if i == self._current else self._match_format
            selections.append(selection)
        self._edit.setExtraSelections(selections)
        query, total = self.search_field.text(), len(self._matches)
        if not query:
            self.search_status.setText("")
        elif not total:
            self.search_status.setText("not found")
        else:
            more = "+" if total >= MAX_MATCHES else ""
            self.search_status.setText(f"{self._current + 1 if self._current >= 0 else 0} of {total:,}{more}")

    # -- formats

    def _init_colors(self) -> None:
        palette = self._edit.palette()
        text, base = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
        dark = base.lightness() < 128
        self._dim = _mix(text, base, 0.45)
        self._stderr = QColor("#ff6b6b") if dark else QColor("#c62828")
        self._edit.stderr_color = self._stderr
        self._formats: dict[tuple[Style, int], QTextCharFormat] = {}
        self._failing_block = QTextBlockFormat()
        self._failing_block.setBackground(failure_background_color())
        self._failing_block.setProperty(FAILING, True)
        self._match_format = QTextCharFormat()
        self._match_format.setBackground(QColor("#fff176"))
        self._match_format.setForeground(QColor("black"))
        self._current_match_format = QTextCharFormat()
        self._current_match_format.setBackground(QColor("#ff9800"))
        self._current_match_format.setForeground(QColor("black"))

    def _format(self, style: Style, kind: int) -> QTextCharFormat:
        """The cached char format for one ANSI style on one kind of line (ANSI colours win over the kind's)."""
        fmt = self._formats.get((style, kind))
        if fmt is None:
            fmt = QTextCharFormat()
            fmt.setProperty(KIND, kind)
            if kind == STDERR:
                fmt.setForeground(self._stderr)
            elif kind in (INFO, SOURCE):
                fmt.setForeground(self._dim)
            if style.fg is not None:
                fmt.setForeground(QColor(*to_rgb(style.fg)))
            if style.bg is not None:
                fmt.setBackground(QColor(*to_rgb(style.bg)))
            if style.bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            if style.italic or kind == INFO:
                fmt.setFontItalic(True)
            if style.underline:
                fmt.setFontUnderline(True)
            self._formats[(style, kind)] = fmt
        return fmt
