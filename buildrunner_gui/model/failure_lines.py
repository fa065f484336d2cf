"""What counts as a failure: a terminal line that reports one, and a failed checkpoint (no Qt).

The window's panels mark what these functions find in red and with the failed icon (never colour alone), and
the overview's "why it failed" (`now.py`) takes its last failing lines from the same rule. The terminal calls
`failure_line_numbers` once per message, so a chunk of output without any hint of a failure costs a few
substring searches and nothing per line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .normalize import normalize_status

# A line that reports a failure: a test runner's FAILED / FAIL:, an upper-case ERROR, a compiler's or tool's
# "error:" (also "Error:", "ERROR:", "error[E0308]:"), a Python traceback's first line and its exception line
# ("ValueError: bad route"). Lower-case "failed" or "error" inside words (`providers_failed`, `errors: 0`) is
# ordinary output, not a failure.
_PATTERN = (
    r"Traceback \(most recent call last\)"
    r"|\bFAILED\b|\bFAIL:"
    r"|\bERROR\b"
    r"|\b(?:error|Error|ERROR)(?:\[[\w-]+\])?:"
    r"|^\s*(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)(?::|$)"
)
_LINE = re.compile(_PATTERN)
# Escape sequences as ansi.py reads them (CSI, OSC/DCS strings up to the line end, other escapes).
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]P^_X][^\x07\x1b\n]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?")
# Every match of _PATTERN contains one of these: without any of them a chunk has no failure line.
_HINTS = ("FAIL", "ERROR", "rror", "Traceback", "Exception")

# Words of a checkpoint's phase that say it failed (`build_2a_api_tests_failed`). Not "error": phases such as
# `build_4b_error_handling` name work on errors.
_FAILED_PHASE_WORDS = frozenset({"failed", "failure", "fail", "fails", "crashed", "broken", "errored", "aborted"})
_PHASE_SPLIT = re.compile(r"[^a-z0-9]+")


def is_failure_line(text: str) -> bool:
    """Whether one line of output (escapes already stripped) reports a failure."""
    return _LINE.search(text) is not None


def plain(line: str) -> str:
    """The line as shown, without its escape sequences (colours, titles)."""
    return _ESCAPE.sub("", line) if "\x1b" in line else line


def is_failure_output(line: str, output_type: str) -> bool:
    """A line of terminal output that tells of a failure: anything on stderr, or a failure line on stdout."""
    return output_type == "stderr" or is_failure_line(plain(line))


def has_failure_hint(text: str) -> bool:
    """False when no line of `text` can report a failure: a few substring searches, no pattern matching."""
    return any(hint in text for hint in _HINTS)


def failure_line_numbers(text: str) -> set[int]:
    """The numbers (0-based, split on "\\n") of the lines of `text` that report a failure once their escape
    sequences are stripped (with a carriage-return redraw, perhaps in text the redraw hides: check what is shown).

    The pattern is tried only on the lines where a hint of a failure occurs, found by substring search: most
    output has none, and a pattern tried at every position of a chunk costs milliseconds per thousand lines."""
    starts: set[int] = set()
    for hint in _HINTS:
        position = text.find(hint)
        while position >= 0:
            starts.add(text.rfind("\n", 0, position) + 1)  # the start of the hint's line
            end = text.find("\n", position)
            position = -1 if end < 0 else text.find(hint, end)  # on to the next line
    numbers: set[int] = set()
    line, counted = 0, 0
    for start in sorted(starts):
        line += text.count("\n", counted, start)
        counted = start
        end = text.find("\n", start)
        shown = text[start : end if end >= 0 else len(text)]
        if is_failure_line(_ESCAPE.sub("", shown) if "\x1b" in shown else shown):
            numbers.add(line)
    return numbers


def _error_text(value: Any) -> str | None:
    if value is None or value is False or value in ("", [], {}):
        return None
    if isinstance(value, Mapping):
        for key in ("message", "error_message", "error", "reason"):
            if isinstance(value.get(key), str) and value[key]:
                return str(value[key])
    return str(value)


def checkpoint_failure(row: Mapping[str, Any]) -> str | None:
    """Why a checkpoint row counts as failed, or None: its `error` (in the row or its metadata), a failed
    status, or a phase that says it failed."""
    metadata = row.get("metadata")
    for source in (row, metadata if isinstance(metadata, Mapping) else {}):
        error = _error_text(source.get("error"))
        if error is not None:
            return f"error: {error}"
    status = row.get("status")
    if isinstance(status, str) and status != "rolled_back" and normalize_status(status) == "failed":
        return f"status: {status}"
    phase = row.get("phase")
    if isinstance(phase, str) and _FAILED_PHASE_WORDS.intersection(_PHASE_SPLIT.split(phase.lower())):
        return f"the phase {phase} says it failed"
    return None
