"""What the feeds for other tools (`/cctray.xml`, `/metrics`) need of one session, read from its store.

Read on the owner's thread (the stores are never touched elsewhere) and handed to the server's thread as plain
values. Nothing is derived again here: the status, the figures and the run come from the store, and whether the
project is building comes from the one activity rule (`model/activity.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..model.activity import activity
from ..model.clock import parse_iso
from ..model.store import SessionStore

ITEM_KINDS = ("feature", "component")
ITEM_STATUSES = ("pending", "in_progress", "completed", "failed")


@dataclass(frozen=True)
class SessionFeed:
    session_id: str
    name: str  # the project's name
    status: str  # the session's status (pending, in_progress, completed, failed)
    building: bool  # the activity rule (formats.md, "Activity"): in progress and changed recently
    percent: float
    items: dict[str, dict[str, int]]  # kind (feature, component) -> status -> count
    checkpoints: int
    latest_checkpoint: str | None  # the id of the latest checkpoint not rolled back
    last_change: datetime | None
    last_change_age_s: float | None  # seconds from `last_change` to the read (never negative)
    run_id: str | None  # the current or last run of the build command
    run_state: str | None
    run_moment: datetime | None  # when that run ended, or started while it runs
    last_run_duration_s: float | None  # the newest run that has a duration
    live: bool


def is_live(store: SessionStore) -> bool:
    """A local project, or a mirrored one whose upstream is reachable now."""
    return store.source.get("kind") == "local" or store.source.get("state") == "live"


def session_feed(session_id: str, store: SessionStore, now: datetime, stall_minutes: float) -> SessionFeed:
    standing = [row for row in store.ordered_checkpoints() if row.get("status") != "rolled_back"]
    run = store.current_run()
    changed = parse_iso(store.last_change)
    return SessionFeed(
        session_id=session_id,
        name=str(store.project.get("name") or ""),
        status=store.status,
        building=activity(store.status, store.last_change, now, stall_minutes).building,
        percent=float(store.progress["percent"]),
        items={kind: {status: int(store.stats(kind)[status]) for status in ITEM_STATUSES} for kind in ITEM_KINDS},
        checkpoints=len(store.checkpoints),
        latest_checkpoint=str(standing[-1]["checkpoint_id"]) if standing else None,
        last_change=changed,
        last_change_age_s=max(0.0, (now - changed).total_seconds()) if changed is not None else None,
        run_id=str(run["run_id"]) if run is not None else None,
        run_state=str(run["state"]) if run is not None else None,
        run_moment=parse_iso(run.get("ended_at") or run.get("started_at")) if run is not None else None,
        last_run_duration_s=_last_duration(store),
        live=is_live(store),
    )


def _last_duration(store: SessionStore) -> float | None:
    for run in reversed(store.runs.values()):
        seconds = run.get("duration_s")
        if isinstance(seconds, int | float):
            return float(seconds)
    return None
