"""Writer process for bench_window.py: the build side of the live measures, in its own process (its own GIL).

Two modes, each paced on CLOCK_MONOTONIC (a late tick is not made up with a burst):

- `components CHECKPOINT`: rewrites one checkpoint `--rate` times a second for `--seconds`, each time with
  `--changes` of its `--count` components given a new status and progress (open/truncate/write/close, as
  BuildRunner writes). `final_components()` gives the state after the last write, for the exactness check.
- `log LOGFILE`: appends `--lines` lines every `--every-ms` for `--seconds` (one write per tick; every tenth line
  carries ANSI colours, as build tools print them).

At the end it prints one JSON line: writes done, bytes, its longest gap between ticks, start and end stamps
(`perf_counter_ns`, comparable with the window process's stamps).

Run (by the bench): .venv/bin/python bench/_window_writer.py components|log PATH [options]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

STATUSES = ("pending", "in_progress", "completed", "failed")


def component_id(index: int) -> str:
    return f"src/module_{index // 100:03d}/component_{index:05d}.py"


def initial_components(count: int) -> list[dict[str, Any]]:
    return [
        {"id": component_id(i), "name": f"component {i:05d}", "status": "in_progress", "progress": 50}
        for i in range(count)
    ]


def changed_indices(write: int, count: int, changes: int) -> list[int]:
    """Which components write number `write` (1-based) changes: spread over the table, different each time."""
    return [((write - 1) * changes + j) * 7919 % count for j in range(changes)]


def apply_write(components: list[dict[str, Any]], write: int, changes: int) -> None:
    for index in changed_indices(write, len(components), changes):
        entry = components[index]
        entry["status"] = STATUSES[(write + index) % len(STATUSES)]
        entry["progress"] = (write * 13 + index) % 101


def final_components(count: int, changes: int, writes: int) -> list[dict[str, Any]]:
    components = initial_components(count)
    for write in range(1, writes + 1):
        apply_write(components, write, changes)
    return components


def checkpoint(components: list[dict[str, Any]], write: int) -> dict[str, Any]:
    return {
        "id": "live",
        "timestamp": f"2026-01-01T00:00:00.{write:06d}",
        "phase": f"build_components_{write:05d}",
        "tasks_completed": [],
        "files_created": [],
        "status": "active",
        "metadata": {"name": f"build_components_{write:05d}", "created_by": "cli"},
        "components": components,
    }


def write_checkpoint(path: Path, components: list[dict[str, Any]], write: int) -> int:
    data = json.dumps(checkpoint(components, write), indent=2).encode()
    with open(path, "wb") as handle:  # as BuildRunner writes: a reader may see it half written
        handle.write(data)
    return len(data)


def log_chunk(tick: int, lines: int) -> bytes:
    out = []
    for j in range(lines):
        n = tick * lines + j
        text = f"[{n // 1000:05d}.{n % 1000:03d}] worker-{n % 8}: compiling src/module_{n % 997:03d}/unit_{n:07d}.c"
        if n % 10 == 0:
            text = f"\x1b[32m{text}\x1b[0m \x1b[1mok\x1b[0m"
        out.append(text)
    return ("\n".join(out) + "\n").encode()


def run(mode: str, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    period_ns = round(1e9 / args.rate) if mode == "components" else round(args.every_ms * 1e6)
    ticks = max(1, round(args.seconds * 1e9 / period_ns))
    components = initial_components(args.count) if mode == "components" else []
    written = 0
    late_ns = 0
    start = time.perf_counter_ns()
    last = start
    longest_gap = 0
    for tick in range(1, ticks + 1):
        due = start + (tick - 1) * period_ns
        now = time.perf_counter_ns()
        if due > now:
            time.sleep((due - now) / 1e9)
        now = time.perf_counter_ns()
        late_ns = max(late_ns, now - due)
        longest_gap = max(longest_gap, now - last)
        last = now
        if mode == "components":
            apply_write(components, tick, args.changes)
            written += write_checkpoint(path, components, tick)
        else:
            data = log_chunk(tick, args.lines)
            with open(path, "ab") as handle:
                handle.write(data)
            written += len(data)
    end = time.perf_counter_ns()
    return {
        "mode": mode,
        "writes": ticks,
        "bytes": written,
        "start_ns": start,
        "end_ns": end,
        "longest_gap_ms": longest_gap / 1e6,
        "latest_tick_ms": late_ns / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("components", "log"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="components: writes per second")
    parser.add_argument("--count", type=int, default=10_000, help="components: how many")
    parser.add_argument("--changes", type=int, default=10, help="components: changed per write")
    parser.add_argument("--lines", type=int, default=1000, help="log: lines per write")
    parser.add_argument("--every-ms", type=float, default=100.0, help="log: time between writes")
    args = parser.parse_args()
    print(json.dumps(run(args.mode, args.path, args)), flush=True)


if __name__ == "__main__":
    main()
