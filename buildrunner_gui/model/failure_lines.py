"""Which terminal lines tell of a failure (no Qt): stderr, and lines that say FAILED, ERROR or a traceback."""

from __future__ import annotations

import re

# Words test runners and compilers print on failure, as words (not inside "errors=0" or "no_errors").
_FAILURE = re.compile(
    r"(?:\bFAILED\b|\bFAIL\b|\bERROR\b|^\s*Traceback \(most recent call last\)|"
    r"^\s*(?:[\w.]+)?(?:Error|Exception):|\berror(?:\[\w+\])?:|\bfatal:)"
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def plain(line: str) -> str:
    """The line as read, without colour codes."""
    return _ANSI.sub("", line)


def is_failure_line(line: str, output_type: str = "stdout") -> bool:
    return output_type == "stderr" or bool(_FAILURE.search(plain(line)))
