"""Busy-build writer for bench_mirror.py (target 3): one build moving through many projects at once.

Every `--tick-ms` on the monotonic clock it visits the next project, round robin: the checkpoint is rewritten
(a new phase and completion), two long lines are appended to the build log, and on every other visit the
registry is rewritten with `--changes` features moved on. It prints `ready` once started, and at SIGTERM (or when
stdin closes) one JSON line: ticks written and the longest gap between two ticks (its own stalls).

Run (by the bench): .venv/bin/python bench/_mirror_writer.py PROJECT... [--tick-ms 20] [--features 200]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

import _mirror_data as data

LINE = " compiling module and linking objects ..." * 20


def visit_project(project: Path, visit: int, features: int, changes: int) -> None:
    data.write_atomic(project / data.CHECKPOINT, data.encode(data.busy_checkpoint(visit)))
    with open(project / data.LOG, "ab") as handle:
        handle.write("".join(f"[visit {visit:06d} {i}]{LINE}\n" for i in range(2)).encode())
    if visit % 2 == 0:
        data.write_atomic(project / data.REGISTRY, data.encode(data.busy_registry(features, visit, changes)))


def stdin_closed() -> bool:
    return bool(select.select([sys.stdin], [], [], 0)[0]) and not os.read(sys.stdin.fileno(), 4096)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", type=Path, nargs="+")
    parser.add_argument("--tick-ms", type=float, default=20.0)
    parser.add_argument("--features", type=int, default=200, help="features in each project's registry")
    parser.add_argument("--changes", type=int, default=5, help="features moved on per registry rewrite")
    args = parser.parse_args()
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.append(True))
    print("ready", flush=True)
    period = int(args.tick_ms * 1e6)
    tick, longest, last = 0, 0, time.monotonic_ns()
    due = last
    while not stopping and not stdin_closed():
        project = args.projects[tick % len(args.projects)]
        visit_project(project, tick // len(args.projects) + 1, args.features, args.changes)
        tick += 1
        now = time.monotonic_ns()
        longest, last = max(longest, now - last), now
        due += period
        delay = due - time.monotonic_ns()
        if delay > 0:
            time.sleep(delay / 1e9)
        else:
            due = time.monotonic_ns()  # behind: no burst to catch up, the build just runs slower
    print(json.dumps({"ticks": tick, "longest_gap_ms": longest / 1e6}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
