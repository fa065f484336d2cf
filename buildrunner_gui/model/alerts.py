"""When to tell the user something (no Qt): status transitions worth a notification, the worst status of
several projects, and the stall alert. The window turns these decisions into tray messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from .normalize import Status

AlertKind = Literal["started", "completed", "failed", "fixed", "stalled"]

# Worst first: a failed build must not hide behind a building one.
_SEVERITY: dict[str, int] = {"failed": 3, "in_progress": 2, "pending": 1, "completed": 0}


def worst_status(statuses: list[str]) -> Status | None:
    if not statuses:
        return None
    return cast(Status, max(statuses, key=lambda s: _SEVERITY.get(s, 1)))


def transition_alert(before: str | None, after: str) -> AlertKind | None:
    """The notification a status change deserves, if any. `before` is None for the first status seen:
    opening a project is not news."""
    if before is None or before == after:
        return None
    if after == "failed":
        return "failed"
    if before == "failed":
        return "fixed"
    if after == "completed":
        return "completed"
    if after == "in_progress" and before in ("pending", "completed"):
        return "started"
    return None


@dataclass
class StallWatch:
    """A building project that has written nothing for `minutes` stalls; it alerts once per quiet spell."""

    minutes: float = 10.0
    last_activity: float = 0.0
    alerted: bool = False

    def activity(self, now: float) -> None:
        self.last_activity = now
        self.alerted = False

    def check(self, status: str, now: float) -> bool:
        """True exactly once when the project is building and has been quiet for too long."""
        if status != "in_progress" or self.alerted or self.minutes <= 0:
            return False
        if now - self.last_activity >= self.minutes * 60:
            self.alerted = True
            return True
        return False
