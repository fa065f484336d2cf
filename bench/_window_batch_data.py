"""The messages of bench_window_batch.py as plain dicts (no package import, so the landed code's child uses them too).

A session of `features` features (a registry) with `per_feature` components each. Batch 0 is the first state;
every later batch `b` gives every item a new status and progress (`feature_update`s, then `component_update`s),
then one `build_progress`. Terminal batches are `count` one-line `terminal_output` messages, plain or every line
in ANSI colours. Messages carry protocol.md's fields; a store re-stamps `session_id`, `epoch` and `seq`.
"""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]

STATUSES = ("pending", "in_progress", "completed", "failed")
RAW = {"pending": "todo", "in_progress": "in-progress", "completed": "done", "failed": "blocked"}
WORDS = ("parser", "renderer", "scheduler", "exporter")  # one in each feature's name: a filter on one shows 1/4
PRIORITIES = ("high", "medium", "low")
SESSION = "bench"
EPOCH = "0123456789abcdef"


def feature_id(index: int) -> str:
    return f"feat-{index:04d}"


def component_id(index: int) -> str:
    return f"src/module_{index // 100:03d}/component_{index:05d}.py"


def status_of(batch: int, index: int) -> str:
    return STATUSES[(batch + index) % len(STATUSES)]


def progress_of(batch: int, index: int) -> float:
    return float((batch * 13 + index) % 101)


def _stamp(batch: int) -> str:
    return f"2026-12-02T12:{batch // 60 % 60:02d}:{batch % 60:02d}.000000+00:00"


def feature_item(batch: int, index: int, per_feature: int) -> Message:
    status = status_of(batch, index)
    components = [component_id(index * per_feature + k) for k in range(per_feature)]
    return {
        "id": feature_id(index),
        "name": f"Feature {index:04d}: {WORDS[index % len(WORDS)]} for area {index % 97}",
        "status": status,
        "raw_status": RAW[status],
        "progress": progress_of(batch, index),
        "metadata": {
            "priority": PRIORITIES[index % len(PRIORITIES)],
            "components": components,
            "description": f"Benchmark feature {index} of the batch benchmark.",
        },
    }


def component_item(batch: int, index: int, per_feature: int) -> Message:
    status = status_of(batch, index)
    return {
        "id": component_id(index),
        "name": f"component {index:05d}",
        "status": status,
        "raw_status": RAW[status],
        "progress": progress_of(batch, index),
        "metadata": {"features": [feature_id(index // per_feature)]},
    }


def _event(kind: str, batch: int, seq: int, body: Message) -> Message:
    return {"type": kind, "session_id": SESSION, "epoch": EPOCH, "seq": seq, "timestamp": _stamp(batch), **body}


def progress_body(batch: int, features: int) -> Message:
    completed = sum(1 for i in range(features) if status_of(batch, i) == "completed")
    return {
        "total": features,
        "completed": completed,
        "percent": round(100 * completed / max(1, features), 1),
        "status": "in_progress",
        "tasks_completed": batch,
        "files_created": batch,
    }


def item_batch(batch: int, features: int, per_feature: int, first_seq: int = 1) -> list[Message]:
    """Every feature's and every component's update of batch `batch`, then one build_progress."""
    out: list[Message] = []
    seq = first_seq
    for index in range(features):
        item = feature_item(batch, index, per_feature)
        out.append(_event("feature_update", batch, seq, {"feature_id": item["id"], "removed": False, **item}))
        seq += 1
    for index in range(features * per_feature):
        item = component_item(batch, index, per_feature)
        out.append(_event("component_update", batch, seq, {"component_id": item["id"], "removed": False, **item}))
        seq += 1
    out.append(_event("build_progress", batch, seq, progress_body(batch, features)))
    return out


def _ansi_line(batch: int, index: int) -> str:
    colour = 31 + index % 6
    return (
        f"\x1b[{colour}m[{batch:03d}.{index:04d}]\x1b[0m worker-{index % 8}: compiling "
        f"src/module_{index % 997:03d}/unit_{index:05d}.c \x1b[1;32mok\x1b[0m"
    )


def _plain_line(batch: int, index: int) -> str:
    return f"[{batch:03d}.{index:04d}] worker-{index % 8}: compiling src/module_{index % 997:03d}/unit_{index:05d}.c ok"


def terminal_batch(batch: int, count: int, ansi: bool, first_seq: int = 1) -> list[Message]:
    """`count` terminal_output messages of one line each (a build printing line by line)."""
    line = _ansi_line if ansi else _plain_line
    body = {"output_type": "stdout", "source": "logs/build.log"}
    return [_event("terminal_output", batch, first_seq + i, {"output": line(batch, i), **body}) for i in range(count)]


def prefill_message(lines: int, ansi: bool) -> Message:
    """One message of `lines` lines, to fill the scrollback before measuring (so later batches also trim)."""
    line = _ansi_line if ansi else _plain_line
    text = "\n".join(line(0, i) for i in range(lines))
    return _event("terminal_output", 0, 1, {"output": text, "output_type": "stdout", "source": "logs/build.log"})


def snapshot(features: int, per_feature: int, project_path: str) -> Message:
    """The `status` state of batch 0 (what the landed SessionView.load takes)."""
    feature_items = [feature_item(0, i, per_feature) for i in range(features)]
    component_items = [component_item(0, i, per_feature) for i in range(features * per_feature)]
    return {
        "project": {"name": "bench", "alias": None, "path": project_path},
        "source": {"kind": "local"},
        "status": "in_progress",
        "last_change": _stamp(0),
        "progress": progress_body(0, features),
        "component_stats": _stats(component_items),
        "feature_stats": _stats(feature_items),
        "components": component_items,
        "features": feature_items,
        "checkpoints": [],
        "terminal": [],
        "files": [],
        "errors": [],
        "documents": [],
        "artifacts": [],
    }


def _stats(items: list[Message]) -> Message:
    counts = {status: sum(1 for item in items if item["status"] == status) for status in STATUSES}
    total = len(items)
    return {"total": total, **counts, "completion_percentage": round(100 * counts["completed"] / max(1, total), 1)}
