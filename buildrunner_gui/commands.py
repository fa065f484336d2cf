"""What each subcommand does; `__main__` maps parsed arguments here."""

from __future__ import annotations

import json
import sys
from typing import Any

from .project.registry_read import resolve_project


def status(project: str, as_json: bool) -> int:
    from .sources.oneshot import read_once

    folder, alias = resolve_project(project)
    snapshot = read_once(folder, alias).snapshot()
    if as_json:
        sys.stdout.write(json.dumps(snapshot) + "\n")  # ASCII: lone surrogates stay printable
    else:
        sys.stdout.write(summary(snapshot))
    return 0


def summary(state: dict[str, Any]) -> str:
    """The readable form of a snapshot, for people at a terminal."""
    progress = state["progress"]
    fs, cs = state["feature_stats"], state["component_stats"]
    lines = [
        f"{state['project']['name']}  ({state['project']['path']})",
        f"status: {state['status']}   progress: {progress['percent']:.1f}%"
        f"   ({progress['completed']}/{progress['total']} completed)",
        f"features: {fs['total']} total, {fs['completed']} completed, {fs['in_progress']} in progress, "
        f"{fs['pending']} pending, {fs['failed']} failed",
        f"components: {cs['total']} total, {cs['completed']} completed, {cs['in_progress']} in progress, "
        f"{cs['pending']} pending, {cs['failed']} failed",
        f"checkpoints: {len(state['checkpoints'])}   tasks completed: {progress['tasks_completed']}"
        f"   files created: {progress['files_created']}",
    ]
    if state["checkpoints"]:
        last = state["checkpoints"][-1]
        lines.append(f"latest checkpoint: {last['checkpoint_id']}  phase {last['phase'] or '-'}  ({last['timestamp']})")
    for feature in state["features"]:
        if feature["status"] in ("in_progress", "failed"):
            lines.append(f"  {feature['status']:<11} {feature['progress']:5.1f}%  {feature['name']}")
    for error in state["errors"][-10:]:
        lines.append(f"error: {error['file_path'] or '-'}: {error['error_message']}")
    return "\n".join(lines) + "\n"


def schema() -> int:
    from .model.messages import json_schemas

    sys.stdout.write(json.dumps(json_schemas(), indent=2) + "\n")
    return 0
