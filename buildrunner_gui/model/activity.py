"""Building, or only "in progress" on paper (formats.md, "Activity"), as the words every view shows (no Qt).

A project whose files say `in_progress` is building only while its `last_change` is younger than the stall
threshold; after that it is idle since then. A project opened a year after its last build never says building.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .clock import parse_iso

WORDS = {"completed": "completed", "failed": "failed", "pending": "pending"}


@dataclass(frozen=True)
class Activity:
    word: str  # building, idle, completed, failed or pending
    since: datetime | None  # idle: the last change (UTC)
    text: str  # "building", "idle since 2025-11-17 22:40", "completed"…

    @property
    def building(self) -> bool:
        return self.word == "building"


def activity(status: str, last_change: str | None, now: datetime, stall_minutes: float) -> Activity:
    if status != "in_progress":
        word = WORDS.get(status, status)
        return Activity(word, None, word)
    changed = parse_iso(last_change)
    if changed is not None and now - changed < timedelta(minutes=max(stall_minutes, 0.0) or 10.0):
        return Activity("building", None, "building")
    if changed is None:
        return Activity("idle", None, "idle (no change recorded)")
    return Activity("idle", changed, f"idle since {local_time(changed, now)}")


def local_time(moment: datetime, now: datetime | None = None) -> str:
    """Local time, with the date unless it is today."""
    local = moment.astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%d %H:%M")


def ago(moment: datetime | None, now: datetime) -> str:
    """`12 s ago`, `3 min ago`, `2 h ago`, `383 days ago` (future times, from clock skew, read as now)."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86_400
    return f"{days} day{'s' if days != 1 else ''} ago"


def duration(span: timedelta) -> str:
    """`45 s`, `12 min 5 s`, `3 h 4 min`, `2 d 5 h`."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"
