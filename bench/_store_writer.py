"""Writer process for bench_store.py: a busy build on a project made by `make_busy_project`.

First it fills the terminal: PREFILL lines of LINE_CHARS characters appended to the build log in small steps
(the reader takes at most 32 KiB of a log per pass), so every snapshot holds 1,000 long lines. Then it prints
`ready` and, every `--tick-ms` on the monotonic clock, changes the build: even ticks rewrite the checkpoint
(open/truncate/write/close, a new phase each time), odd ticks rewrite the 2,000-feature registry with
`--changes` features moved on; every tick also appends `--lines` long log lines. It stops at SIGTERM or when
stdin closes, and prints one JSON line: ticks written and the longest gap between two ticks (its own stalls).

Run (by the bench): .venv/bin/python bench/_store_writer.py PROJECT [--tick-ms 20] [--lines 2] [--changes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

FEATURES = 2_000
COMPONENTS = 300
LINE_CHARS = 1_200
PREFILL = 1_200
PREFILL_STEP = 20  # lines per append while filling: under the reader's 32 KiB per pass
REGISTRY = ".buildrunner/features.json"
CHECKPOINT = ".buildrunner/checkpoints/busy.json"
LOG = ".buildrunner/logs/build.log"
DOCUMENT = ".buildrunner/context/architecture.md"
STATUSES = ("planned", "in_progress", "complete")


def registry(tick: int, changes: int) -> dict[str, Any]:
    """2,000 features; `changes` of them (a window moving with `tick`) have moved to another status."""
    rng = random.Random(7)
    moved = {(tick * changes + i) % FEATURES for i in range(changes)} if tick else set()
    features = []
    for index in range(FEATURES):
        status = rng.choice(STATUSES)
        if index in moved:
            status = STATUSES[(STATUSES.index(status) + tick) % 3]
        features.append(
            {
                "id": f"feat-{index:04d}",
                "name": f"Feature {index}: build step",
                "status": status,
                "progress": {"planned": 0, "in_progress": 50, "complete": 100}[status],
                "priority": "high",
                "components": [f"src/part_{index % COMPONENTS:03d}.py"],
            }
        )
    return {"project": "busy-build", "version": "1.0", "features": features}


def checkpoint(tick: int) -> dict[str, Any]:
    return {
        "id": "busy",
        "timestamp": "2026-11-25T12:00:00.000000",
        "phase": f"busy_{tick:06d}",
        "tasks_completed": [f"task-{i}" for i in range(tick % 50)],
        "files_created": [],
        "status": "active",
        "metadata": {"name": "busy", "description": "benchmark build", "created_by": "cli"},
        "completion": tick % 100,
    }


def log_lines(tag: str, count: int) -> bytes:
    body = " compiling module and linking objects ..." * (LINE_CHARS // 40)
    return "".join(f"[{tag} {i:02d}]{body}"[:LINE_CHARS] + "\n" for i in range(count)).encode()


def write(project: Path, rel: str, data: bytes) -> None:
    with open(project / rel, "wb") as handle:  # BuildRunner's way: open/truncate, write, close
        handle.write(data)


def append(project: Path, rel: str, data: bytes) -> None:
    with open(project / rel, "ab") as handle:
        handle.write(data)


def make_busy_project(root: Path) -> Path:
    """The project before the build starts: the registry, one checkpoint, an empty log and a 60 KB document."""
    for folder in ("checkpoints", "logs", "context"):
        (root / ".buildrunner" / folder).mkdir(parents=True, exist_ok=True)
    write(root, REGISTRY, json.dumps(registry(0, 0)).encode())
    write(root, CHECKPOINT, json.dumps(checkpoint(0)).encode())
    write(root, LOG, b"")
    write(root, DOCUMENT, ("# Architecture\n\n" + "The build is described here in some detail.\n" * 1400).encode())
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description="busy-build writer for bench_store.py")
    parser.add_argument("project", type=Path)
    parser.add_argument("--tick-ms", type=float, default=20.0)
    parser.add_argument("--lines", type=int, default=2)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    project = args.project
    for step in range(0, PREFILL, PREFILL_STEP):
        append(project, LOG, log_lines(f"fill {step:04d}", PREFILL_STEP))
        time.sleep(0.01)
    print("ready", flush=True)

    period = int(args.tick_ms * 1e6)
    tick, longest, last = 0, 0, time.monotonic_ns()
    due = last
    while not stop:
        if select.select([sys.stdin], [], [], 0)[0] and not os.read(sys.stdin.fileno(), 4096):
            break  # the parent closed stdin
        tick += 1
        if tick % 2:
            write(project, CHECKPOINT, json.dumps(checkpoint(tick)).encode())
        else:
            write(project, REGISTRY, json.dumps(registry(tick, args.changes)).encode())
        append(project, LOG, log_lines(f"tick {tick:06d}", args.lines))
        now = time.monotonic_ns()
        longest, last = max(longest, now - last), now
        due += period
        delay = due - time.monotonic_ns()
        if delay > 0:
            time.sleep(delay / 1e9)
        else:
            due = time.monotonic_ns()  # behind: do not try to catch up with a burst
    print(json.dumps({"ticks": tick, "longest_gap_ms": longest / 1e6}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
