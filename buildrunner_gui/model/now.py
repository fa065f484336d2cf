"""What a build is doing now, and why it failed (no Qt): the answers the overview gives at a glance, derived
once from a session's store for every view that shows them (the window's overview, `status`, notifications).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .activity import Activity, activity
from .clock import parse_iso
from .failure_lines import is_failure_output, plain
from .run_outcome import run_decides, run_reason, run_summary

if TYPE_CHECKING:
    from .store import SessionStore

CURRENT_SHOWN = 3  # items named as "current"; the rest are counted
FAILED_SHOWN = 3


@dataclass(frozen=True)
class Failure:
    """Why the build failed, and where to look: a checkpoint, an item (feature/component), a run of the build
    command (`run`: its output is in the terminal) or a terminal line."""

    reason: str
    where: str  # "run", "checkpoint", "feature", "component" or "terminal"
    ref: str  # the checkpoint's, item's or run's id, or the terminal line's text


@dataclass(frozen=True)
class WhatNow:
    activity: Activity
    phase: str  # the latest checkpoint's phase ("" without checkpoints)
    current: str  # the items in progress, by name ("" when none)
    started: datetime | None  # the first checkpoint's time
    span: timedelta | None  # elapsed while building, else from the start to the last change
    last_change: datetime | None
    last_line: str  # the newest terminal line, without colour codes
    failure: Failure | None  # only when the build failed
    headline: str  # what the percentage is: "features: 4 of 12 complete · checkpoint reports 43.0%"
    run: str = ""  # the current or last run of the build command, and the time left by past runs ("" none)


def what_now(store: SessionStore, now: datetime, stall_minutes: float) -> WhatNow:
    state = activity(store.status, store.last_change, now, stall_minutes)
    history = store.ordered_checkpoints()
    standing = [row for row in history if row.get("status") != "rolled_back"]
    started = parse_iso(history[0]["timestamp"]) if history else None
    changed = parse_iso(store.last_change)
    end = now if state.building else changed
    return WhatNow(
        activity=state,
        phase=str(standing[-1]["phase"]) if standing else "",
        current=_current(store),
        started=started,
        span=end - started if started is not None and end is not None and end >= started else None,
        last_change=changed,
        last_line=plain(store.terminal[-1]["output"]).strip() if store.terminal else "",
        failure=failure_of(store, standing[-1] if standing else None) if store.status == "failed" else None,
        headline=headline(store),
        run=run_summary(list(store.runs.values()), now),
    )


def failure_of(store: SessionStore, latest: dict[str, Any] | None) -> Failure | None:
    """The reason, first that applies: the last run of the build command, when it ended badly after the files'
    last change (`run_outcome`); the latest checkpoint's `error` (formats.md: it makes the build failed), the
    failed items (with their own `error`), the newest failure lines of the terminal."""
    run = store.current_run()
    if run is not None and run_decides(run, store.last_change):
        return Failure(run_reason(run), "run", str(run["run_id"]))
    if latest is not None and latest.get("error"):
        return Failure(str(latest["error"]), "checkpoint", str(latest["checkpoint_id"]))
    for kind in ("feature", "component"):
        failed = [item for item in store.items[kind].values() if item["status"] == "failed"]
        if failed:
            return Failure(_failed_items(kind, failed), kind, str(failed[0]["id"]))
    for line in reversed(store.terminal):
        if is_failure_output(line["output"], line["output_type"]):
            return Failure(plain(line["output"]).strip(), "terminal", line["output"])
    return None


def headline(store: SessionStore) -> str:
    """What the headline percentage is a percentage of, and where it comes from when not from the items."""
    percent = float(store.progress["percent"])
    for kind, label in (("feature", "features"), ("component", "components")):
        stats = store.stats(kind)
        if stats["total"]:
            text = f"{label}: {stats['completed']} of {stats['total']} complete"
            if abs(float(stats["completion_percentage"]) - percent) >= 0.05:
                text += f" · checkpoint reports {percent:.1f}%"
            return text
    return f"checkpoint reports {percent:.1f}%" if percent else "nothing to count yet"


def _current(store: SessionStore) -> str:
    """The first items in progress by name; the count comes from the running tally, so the scan stops early."""
    for kind in ("feature", "component"):
        count = store.stats(kind)["in_progress"]
        if not count:
            continue
        names: list[str] = []
        for item in store.items[kind].values():
            if item["status"] == "in_progress":
                names.append(str(item["name"] or item["id"]))
                if len(names) == CURRENT_SHOWN:
                    break
        more = count - len(names)
        return ", ".join(names) + (f" and {more} more" if more > 0 else "")
    return ""


def _failed_items(kind: str, failed: list[dict[str, Any]]) -> str:
    first = failed[0]
    name = str(first["name"] or first["id"])
    error = first["metadata"].get("error") if isinstance(first["metadata"], dict) else None
    text = f"{name}: {error}" if isinstance(error, str) and error else f"{name} failed"
    if len(failed) > 1:
        others = ", ".join(str(item["name"] or item["id"]) for item in failed[1:FAILED_SHOWN])
        more = len(failed) - FAILED_SHOWN
        text += f"; also failed: {others}" + (f" and {more} more" if more > 0 else "")
    return text
