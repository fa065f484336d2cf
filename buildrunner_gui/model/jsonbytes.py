"""Bytes to JSON values, with the limits formats.md asks for, and one-line reasons when it fails."""

from __future__ import annotations

import json
from typing import Any

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 100


class ParseError(Exception):
    """A file that could not be understood. `error_type` is the protocol's machine-readable kind."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def decode_utf8(data: bytes) -> str:
    """Strict UTF-8 (a leading BOM is tolerated)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("not_utf8", f"not UTF-8 text (bad byte at offset {exc.start})") from None


def _reject_constant(_name: str) -> None:
    # NaN/Infinity are not JSON; reading them as null keeps every later json.dumps valid for browsers.
    return None


def load_json(data: bytes) -> Any:
    """Parse JSON bytes. Raises ParseError for anything that is not a sane JSON document."""
    if len(data) > MAX_FILE_BYTES:
        raise ParseError("too_large", f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    text = decode_utf8(data)
    if not text.strip():
        raise ParseError("invalid_json", "file is empty (possibly mid-write)")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ParseError("too_deep", f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError and oversized integers
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParseError("invalid_json", f"invalid JSON: {reason}") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise ParseError("too_deep", f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Later stages (pydantic, json.dumps) recurse, so bound the depth once here. Recursion is safe: it
    stops at `limit` levels, and visiting only containers keeps it cheap on large files."""
    return type(value) in (dict, list) and _deeper_than(value, limit)


def _deeper_than(node: Any, remaining: int) -> bool:
    # A module function, not a closure calling itself: that would be a reference cycle on every read, left
    # for the cyclic collector (run rarely here, `runtime.py`).
    if remaining == 0:
        return True
    for child in node.values() if type(node) is dict else node:
        kind = type(child)
        if (kind is dict or kind is list) and _deeper_than(child, remaining - 1):
            return True
    return False
