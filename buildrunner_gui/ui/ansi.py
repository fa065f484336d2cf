"""A small ANSI parser for build output: SGR styles, stripped escapes, carriage-return redraws. No Qt.

`parse_lines(text, style)` turns text into lines of styled runs and returns the style in force at the end, so a
caller can carry colour state from one chunk of a stream to the next, as a terminal does.

Within a line `\\r` moves the cursor back to column 0 and later text overwrites what is there (so
"10%\\r20%\\r30%" shows "30%"), `\\b` moves back one column, and `ESC[K` erases in the line, which is how progress
bars redraw. `\\r\\n` is an ordinary line end. Every other escape or control sequence is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

# A colour is a 256-colour palette index (0-15 are the standard colours) or a truecolor (r, g, b).
Color = int | tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Style:
    fg: Color | None = None
    bg: Color | None = None
    bold: bool = False
    italic: bool = False
    underline: bool = False


DEFAULT_STYLE = Style()


class Run(NamedTuple):
    text: str
    style: Style


Line = list[Run]

# One token per match: an escape sequence, a control character or a newline; plain text lies between matches.
_TOKEN = re.compile(
    r"(?P<csi>\x1b\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~]))"
    # OSC/DCS/PM/APC/SOS strings end at BEL or ST; an unterminated one stops at the line end, never eats output.
    r"|(?P<string>\x1b[\]P^_X][^\x07\x1b\n]*(?:\x07|\x1b\\)?)"
    r"|(?P<esc>\x1b[ -/]*[0-~]?)"  # other escapes (charset selection, keypad mode...) and a lone ESC
    r"|(?P<nl>\n)"
    r"|(?P<ctl>[\x00-\x08\x0b-\x1f\x7f])"
)
# Anything that needs the slow path; plain text with tabs and newlines does not.
_SPECIAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SGR_PARAMS = re.compile(r"[0-9;:]*")  # SGR with private markers (`ESC[?...m`) is not SGR
_SGR = re.compile(r"\x1b\[([0-9;:]*)m")  # a colour or style change, and nothing else

# xterm-style 16 colours (Tango), readable on light and dark backgrounds alike.
_BASE16: tuple[tuple[int, int, int], ...] = (
    (0x2E, 0x34, 0x36),
    (0xCC, 0x00, 0x00),
    (0x4E, 0x9A, 0x06),
    (0xC4, 0xA0, 0x00),
    (0x34, 0x65, 0xA4),
    (0x75, 0x50, 0x7B),
    (0x06, 0x98, 0x9A),
    (0xD3, 0xD7, 0xCF),
    (0x55, 0x57, 0x53),
    (0xEF, 0x29, 0x29),
    (0x8A, 0xE2, 0x34),
    (0xFC, 0xE9, 0x4F),
    (0x72, 0x9F, 0xCF),
    (0xAD, 0x7F, 0xA8),
    (0x34, 0xE2, 0xE2),
    (0xEE, 0xEE, 0xEC),
)
_CUBE = (0, 95, 135, 175, 215, 255)


def palette_rgb(index: int) -> tuple[int, int, int]:
    """The RGB value of a 256-colour palette index (16 standard colours, 6x6x6 cube, 24 greys)."""
    if index < 16:
        return _BASE16[index]
    if index < 232:
        index -= 16
        return _CUBE[index // 36], _CUBE[index // 6 % 6], _CUBE[index % 6]
    grey = 8 + (index - 232) * 10
    return grey, grey, grey


def to_rgb(color: Color) -> tuple[int, int, int]:
    return color if isinstance(color, tuple) else palette_rgb(color)


def _extended_color(parts: list[list[int | None]], i: int) -> tuple[Color | None, int]:
    """Reads `38;5;n` / `38;2;r;g;b` (or the colon forms) starting at parts[i]; returns (colour, next index)."""
    group = parts[i]
    if len(group) > 1:  # colon form: everything is inside this one parameter, e.g. 38:2::r:g:b
        sub, nxt = group[1:], i + 1
    else:
        sub, nxt = [p[0] for p in parts[i + 1 : i + 5]], None
    if not sub:
        return None, len(parts)
    mode = sub[0]
    if mode == 5 and len(sub) >= 2 and sub[1] is not None and 0 <= sub[1] <= 255:
        return sub[1], nxt if nxt is not None else i + 3
    if mode == 2:
        rgb = sub[2:5] if len(group) > 1 and len(sub) >= 5 else sub[1:4]  # 38:2:<colourspace>:r:g:b
        if len(rgb) == 3 and all(c is not None and 0 <= c <= 255 for c in rgb):
            return (rgb[0] or 0, rgb[1] or 0, rgb[2] or 0), nxt if nxt is not None else i + 5
    return None, len(parts)  # malformed: ignore the rest of this SGR, as terminals do


@lru_cache(maxsize=4096)  # a build's output repeats a handful of (style, sequence) pairs thousands of times
def apply_sgr(style: Style, params: str) -> Style:
    """The style after one SGR sequence `ESC[<params>m`. Unknown codes are ignored."""
    parts = [[int(n) if n.isdigit() else None for n in p.split(":")] for p in params.split(";")]
    i = 0
    while i < len(parts):
        code = parts[i][0] or 0  # an empty parameter means 0
        if code in (38, 48):
            color, i = _extended_color(parts, i)
            if color is not None:
                style = replace(style, fg=color) if code == 38 else replace(style, bg=color)
            continue
        if code == 0:
            style = DEFAULT_STYLE
        elif code == 1:
            style = replace(style, bold=True)
        elif code == 22:
            style = replace(style, bold=False)
        elif code == 3:
            style = replace(style, italic=True)
        elif code == 23:
            style = replace(style, italic=False)
        elif code in (4, 21):
            style = replace(style, underline=len(parts[i]) < 2 or parts[i][1] != 0)  # 4:0 means "no underline"
        elif code == 24:
            style = replace(style, underline=False)
        elif 30 <= code <= 37 or 90 <= code <= 97:
            style = replace(style, fg=code - 30 if code < 90 else code - 82)
        elif code == 39:
            style = replace(style, fg=None)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            style = replace(style, bg=code - 40 if code < 100 else code - 92)
        elif code == 49:
            style = replace(style, bg=None)
        i += 1
    return style


class _LineBuffer:
    """One line as terminal cells; only used for lines with `\\r`, `\\b` or `ESC[K`, where text can overwrite."""

    def __init__(self) -> None:
        self.cells: list[tuple[str, Style]] = []
        self.col = 0

    def write(self, text: str, style: Style) -> None:
        if self.col > len(self.cells):
            self.cells.extend([(" ", DEFAULT_STYLE)] * (self.col - len(self.cells)))
        end = self.col + len(text)
        self.cells[self.col : end] = [(ch, style) for ch in text]
        self.col = end

    def erase(self, mode: int) -> None:
        if mode == 0:
            del self.cells[self.col :]
        elif mode == 1:
            n = min(self.col + 1, len(self.cells))
            self.cells[:n] = [(" ", DEFAULT_STYLE)] * n
        elif mode == 2:
            self.cells = []

    def runs(self) -> Line:
        return [Run("".join(ch for ch, _ in cells), style) for style, cells in groupby(self.cells, key=itemgetter(1))]


def _merge(ops: list[Run]) -> Line:
    out: Line = []
    for run in ops:
        if not run.text:
            continue
        if out and out[-1].style == run.style:
            out[-1] = Run(out[-1].text + run.text, run.style)
        else:
            out.append(run)
    return out


def parse_lines(text: str, style: Style = DEFAULT_STYLE) -> tuple[list[Line], Style]:
    """Splits text into lines of styled runs; returns them and the style in force at the end.

    A single trailing newline ends the last line rather than starting an empty one; "" is one empty line.
    """
    if text.endswith("\n"):
        text = text[:-1]
    if "\x1b" not in text and not _SPECIAL.search(text):
        # Fast path for the common case: plain lines, one run each.
        return [[Run(line, style)] if line else [] for line in text.split("\n")], style
    if not _SPECIAL.search(_SGR.sub("", text)):
        return _colour_only_lines(text, style)  # the next most common: colours, no redraws
    lines: list[Line] = []
    ops: list[Run] = []  # runs of the current line while nothing has overwritten
    buffer: _LineBuffer | None = None  # switched to once the line needs cell semantics
    pos = 0

    def put(chunk: str) -> None:
        if buffer is None:
            ops.append(Run(chunk, style))
        else:
            buffer.write(chunk, style)

    def to_buffer() -> _LineBuffer:
        buf = _LineBuffer()
        for run in ops:
            buf.write(run.text, run.style)
        ops.clear()
        return buf

    for match in _TOKEN.finditer(text):
        if match.start() > pos:
            put(text[pos : match.start()])
        pos = match.end()
        kind = match.lastgroup
        if kind == "csi":
            final, params = match.group("final"), match.group("params")
            if final == "m" and _SGR_PARAMS.fullmatch(params):
                style = apply_sgr(style, params)
            elif final == "K" and params in ("", "0", "1", "2"):
                buffer = buffer or to_buffer()
                buffer.erase(int(params or 0))
        elif kind == "nl":
            lines.append(buffer.runs() if buffer is not None else _merge(ops))
            ops, buffer = [], None
        elif kind == "ctl":
            ch = match.group()
            if ch in "\r\b":
                buffer = buffer or to_buffer()
                buffer.col = 0 if ch == "\r" else max(0, buffer.col - 1)
            # other control characters (BEL, form feed...) are dropped
    if pos < len(text):
        put(text[pos:])
    lines.append(buffer.runs() if buffer is not None else _merge(ops))
    return lines, style


def _colour_only_lines(text: str, style: Style) -> tuple[list[Line], Style]:
    """`parse_lines` for text whose only escapes are SGR sequences: split on them, no cell semantics needed."""
    lines: list[Line] = []
    for raw in text.split("\n"):
        runs: Line = []
        for number, part in enumerate(_SGR.split(raw)):
            if number % 2:  # the captured parameters of one sequence
                style = apply_sgr(style, part)
            elif part:
                if runs and runs[-1].style == style:
                    runs[-1] = Run(runs[-1].text + part, style)
                else:
                    runs.append(Run(part, style))
        lines.append(runs)
    return lines, style


def line_text(line: Line) -> str:
    return "".join(run.text for run in line)


def strip_ansi(text: str) -> str:
    """The text a terminal would show, without styles (redraws applied)."""
    return "\n".join(line_text(line) for line in parse_lines(text)[0])
