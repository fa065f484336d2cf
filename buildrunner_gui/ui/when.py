"""Times as people read them: local time and how long ago ("2025-11-17 22:40 (383 days ago)"). No Qt."""

from __future__ import annotations

import re
from datetime import datetime

# An ISO-8601 date or date-time, as BuildRunner and this app write them; other strings are not times.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")


def parse_time(text: str) -> tuple[datetime, bool] | None:
    """An ISO-8601 string as an aware datetime (naive = local time) and whether it has a time of day; else None."""
    text = text.strip()
    if not _ISO.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.astimezone()), len(text) > 10


def ago(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: "just now", "5 minutes ago", "383 days ago", "in 2 days"."""
    now = now or datetime.now().astimezone()
    seconds = (now - moment).total_seconds()
    later = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if later else f"{text} ago"
    return "just now"  # unreachable


def local_time(moment: datetime, seconds: bool = False) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def time_with_ago(text: str, now: datetime | None = None) -> str | None:
    """An ISO-8601 string as local time with how long ago ("2025-11-17 22:40 (383 days ago)"); None for a string
    that is not a time. A date alone stays a date."""
    parsed = parse_time(text)
    if parsed is None:
        return None
    moment, has_time = parsed
    shown = local_time(moment) if has_time else moment.strftime("%Y-%m-%d")
    return f"{shown} ({ago(moment, now)})"
