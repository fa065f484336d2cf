"""Whether the last build run decides the session's status (no Qt, no I/O).

The files say what the build is; a run of the project's build command that ended badly (a non-zero exit, or a
command that did not start) says it failed, until the files say otherwise: a change of the build's state that
the differ reports after the run ended. File changes reported within `RUN_SETTLE_S` of the run's end are the
run's own last writes reaching the watcher late, not a later build. Everything here comes from the snapshot's
own fields (`progress.status`, `last_change`, `run`), so a mirror derives exactly what its sender shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .clock import parse_iso

RUN_SETTLE_S = 2.0
ENDED_STATES = ("finished", "failed_to_start")


def ended_badly(run: Mapping[str, Any] | None) -> bool:
    """The run is over and did not succeed: it did not start, or its command exited non-zero."""
    if run is None or run.get("state") not in ENDED_STATES:
        return False
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
