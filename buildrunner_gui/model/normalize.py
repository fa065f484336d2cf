"""Status and progress normalisation (formats.md, "Normalising items").

Plain functions over plain values: they are called for every item of every parsed file, so they stay cheap.
"""

from __future__ import annotations

import math
from typing import Any, Literal

Status = Literal["completed", "in_progress", "failed", "pending"]

STATUSES: tuple[Status, ...] = ("completed", "in_progress", "pending", "failed")

_STATUS_WORDS: dict[str, Status] = {}
for _word in ["complete", "completed", "done", "finished", "success", "succeeded", "passed", "production_ready"]:
    _STATUS_WORDS[_word] = "completed"
for _word in ["in_progress", "active", "running", "started", "building", "wip", "in_development", "testing"]:
    _STATUS_WORDS[_word] = "in_progress"
for _word in ["failed", "failure", "error", "errored", "broken", "crashed"]:
    _STATUS_WORDS[_word] = "failed"


def raw_status_text(value: Any) -> str:
    """The status as written, as text ("" when missing or not a string-like value)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return ""


def normalize_status(raw: str) -> Status:
    """Case-insensitive; spaces and dashes read as underscores; anything unknown is `pending`."""
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")
    return _STATUS_WORDS.get(key, "pending")


def parse_percent(value: Any) -> float | None:
    """A number or a string like "45%" (or "45"), clamped to 0-100; None when absent or unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(min(100, max(0, value)))  # clamp first: float() of a huge JSON integer overflows
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    if math.isnan(number):
        return None
    return min(100.0, max(0.0, number))


def item_progress(value: Any, status: Status) -> float:
    """Progress of an item: 100 for a completed item whatever number it carries (BuildRunner leaves stale
    numbers behind on finished work), else the explicit value, else 0."""
    if status == "completed":
        return 100.0
    parsed = parse_percent(value)
    return 0.0 if parsed is None else parsed


def raw_progress(value: Any, status: Status) -> Any | None:
    """The progress a completed item carried, as written, kept in its metadata as `raw_progress`; None for
    other items (their progress is that number) and for a completed item that carried no readable one."""
    if status != "completed" or parse_percent(value) is None:
        return None
    return value
