"""Whether the last build run decides the session's status (no Qt, no I/O).

The files say what the build is; a run of the project's build command that ended badly (a non-zero exit, or a
command that did not start) says it failed, until the files say otherwise: a change of the build's state that
the differ reports after the run ended. File changes reported within `RUN_SETTLE_S` of the run's end are the
run's own last writes reaching the watcher late, not a later build. Everything here comes from the snapshot's
own fields (`progress.status`, `last_change`, `run`), so a mirror derives exactly what its sender shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from .activity import duration
from .clock import parse_iso

RUN_SETTLE_S = 2.0
ENDED_STATES = ("finished", "failed_to_start")
ACTIVE_STATES = ("starting", "running", "paused")


def ended_badly(run: Mapping[str, Any] | None) -> bool:
    """The run is over and did not succeed: it did not start, or its command exited non-zero."""
    if run is None or run.get("state") not in ENDED_STATES or run.get("cancelled"):
        return False  # still going, or stopped on purpose: neither is a failure
    return run["state"] == "failed_to_start" or run.get("exit_code") not in (0, None)


def run_decides(run: Mapping[str, Any] | None, last_change: str | None) -> bool:
    """The last run ended badly, and the files have not changed since (beyond the settling time)."""
    if not ended_badly(run):
        return False
    assert run is not None
    ended = parse_iso(run.get("ended_at"))
    changed = parse_iso(last_change)
    if ended is None or changed is None:
        return True
    return changed <= ended + timedelta(seconds=RUN_SETTLE_S)


def status_with_run(files_status: str, run: Mapping[str, Any] | None, last_change: str | None) -> str:
    """The session's status: the files' own, or `failed` while a badly ended last run decides it."""
    return "failed" if run_decides(run, last_change) else files_status


def run_reason(run: Mapping[str, Any]) -> str:
    """Why the run failed, in one line."""
    if run.get("state") == "failed_to_start":
        return "the build command did not start"
    code = run.get("exit_code")
    if isinstance(code, int) and code < 0:
        return f"the build command was ended by signal {-code}"
    return f"the build command exited with code {code}"


def run_result(run: Mapping[str, Any]) -> str:
    """How a run ended (or its state while it goes on), in a word or three: a runs list's "Result"."""
    state = run.get("state")
    if state == "finished":
        if run.get("cancelled"):
            return "cancelled"
        code = run.get("exit_code")
        return "succeeded" if code == 0 else f"failed (exit code {code})"
    if state == "failed_to_start":
        return "did not start"
    return str(state)


def typical_duration(runs: Iterable[Mapping[str, Any]]) -> tuple[float, int] | None:
    """The median duration of the runs that finished with exit code 0, and how many there were."""
    durations = [
        float(run["duration_s"])
        for run in runs
        if run.get("state") == "finished"
        and run.get("exit_code") == 0
        and isinstance(run.get("duration_s"), int | float)
    ]
    return (median(durations), len(durations)) if durations else None


def run_summary(runs: list[Mapping[str, Any]], now: datetime) -> str:
    """One line on the current or last run (`runs` oldest first, as a snapshot's): how it ended and how long it
    took, or while it runs, for how long and about how long is left by the median of the past runs."""
    if not runs:
        return ""
    run = runs[-1]
    if run.get("state") in ACTIVE_STATES:
        started = parse_iso(run.get("started_at"))
        elapsed = max(timedelta(0), now - started) if started is not None else None
        text = "build command " + ("paused" if run["state"] == "paused" else "running")
        if elapsed is not None:
            text += f" for {duration(elapsed)}"
        typical = typical_duration(runs[:-1])
        if typical is not None and elapsed is not None:
            left = timedelta(seconds=typical[0]) - elapsed
            past = f"{typical[1]} past run{'s' if typical[1] != 1 else ''}"
            if left > timedelta(0):
                text += f" · about {duration(left)} left (the median of {past})"
            else:
                text += f" · longer than usual (the median of {past}: {duration(timedelta(seconds=typical[0]))})"
        return text
    if run.get("state") == "failed_to_start":
        return "last run: the build command did not start"
    code = run.get("exit_code")
    # A cancelled run was stopped on purpose: not a failure, whatever its exit code.
    outcome = "cancelled" if run.get("cancelled") else "succeeded" if code == 0 else f"failed with exit code {code}"
    seconds = run.get("duration_s")
    took = f", took {duration(timedelta(seconds=float(seconds)))}" if isinstance(seconds, int | float) else ""
    return f"last run: {outcome}{took}"
