"""Issue 8 measures: one big batch through every panel of the window, ours against the landed code (88c8a52).

A session with a 2,000-feature registry and 4 components per feature (8,000) is loaded into a real `SessionView`
(all eight panels, real widgets) in a shown 1200x780 window under Xvfb; then, ~20 times, one batch of 10,000 item
updates (every feature and every component gets a new status and progress) and one `build_progress` is applied,
with: the Overview tab shown; the Features tab shown (an item selected); features sorted by progress (every batch
moves rows); a text filter on (one feature in four shown); sorted and filtered. Also 2,000 one-line
`terminal_output` messages as one batch, plain and every line in ANSI colours, Terminal tab shown, the scrollback
pre-filled with 48,000 lines (so from the second batch on every batch also trims 2,000).

Each run is a fresh window process (`_window_batch_child.py`); the messages are plain dicts from
`_window_batch_data.py`, the same for both codes. Ours: `store.publish(batch)` then `view.apply_batch(published,
store)`, on the GUI thread as the app does. Baseline: the landed code's tree (`git worktree add` of 88c8a52, put
first on sys.path in its child), `view.load(snapshot)` and `view.apply_batch(batch)`, which hands every message to
every panel in turn (its engine ran on the reader thread, so its GUI thread had no store to update). The stall is
what a 5 ms precise QTimer sees: the longest gap between two ticks beyond 5 ms from the batch's start until
`--settle-ms` after it, so it covers publish, apply_batch and the repaint and events they cause.

Run: .venv/bin/python bench/bench_window_batch.py [--batches 20] [--landed-batches 3] [--offscreen]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _benchlib as bl
from bench_window import xvfb

CHILD = Path(__file__).resolve().parent / "_window_batch_child.py"
PYTHON = sys.executable
LANDED_COMMIT = "88c8a52"
LANDED_TREE = Path("/tmp/landed-window")
STALL_TARGET_MS = 50.0
SCENARIOS = {
    "overview": "10,000 item updates, Overview tab",
    "features": "10,000 item updates, Features tab",
    "features-sorted": "10,000 item updates, Features sorted by progress",
    "features-filtered": "10,000 item updates, Features with a text filter",
    "features-sorted-filtered": "10,000 item updates, Features sorted and filtered",
    "terminal-plain": "2,000 terminal_output messages, plain",
    "terminal-ansi": "2,000 terminal_output messages, ANSI colours",
}


@contextlib.contextmanager
def landed_tree(commit: str, path: Path) -> Iterator[Path]:
    """The landed code as a git worktree; removed afterwards when this run made it."""
    made = False
    if not path.exists():
        subprocess.run(["git", "-C", str(bl.REPO), "worktree", "add", "--detach", str(path), commit], check=True)
        made = True
    head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    want = subprocess.run(["git", "-C", str(bl.REPO), "rev-parse", commit], capture_output=True, text=True, check=True)
    if head.stdout.strip() != want.stdout.strip():
        raise SystemExit(f"{path} is at {head.stdout.strip()[:7]}, not {commit}")
    try:
        yield path
    finally:
        if made:
            subprocess.run(["git", "-C", str(bl.REPO), "worktree", "remove", "--force", str(path)], check=False)


@contextlib.contextmanager
def display(offscreen: bool) -> Iterator[dict[str, str]]:
    if offscreen:
        yield {"QT_QPA_PLATFORM": "offscreen"}
        return
    with xvfb() as name:
        yield {"QT_QPA_PLATFORM": "xcb", "DISPLAY": name}


def run_child(scenario: str, env: dict[str, str], cwd: Path, extra: list[str], timeout: float) -> dict[str, Any]:
    command = [PYTHON, str(CHILD), scenario, *extra]
    child_env = {**os.environ, **env}
    child_env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run(
        command, env=child_env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)}: exit {result.returncode}\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])


def values(result: dict[str, Any] | None, key: str) -> list[float]:
    return [] if result is None else [batch[key] for batch in result["batches"]]


def rows_for(scenario: str, ours: dict[str, Any], landed: dict[str, Any] | None) -> list[bl.Row]:
    label = SCENARIOS[scenario]
    stalls = values(ours, "stall_ms")
    worst = max(ours["batches"], key=lambda b: b["stall_ms"])
    checked = "; check ok" if ours["check"].get("ok", True) else f"; CHECK FAILED {ours['check']}"
    return [
        bl.timed_row(
            f"{label}: longest GUI stall per batch (max {worst['stall_ms']:.1f} ms: GUI CPU {worst['stall_cpu_ms']:.1f}"
            f", run queue {worst['stall_runq_ms']:.1f}; {ours['batches'][0]['messages']} messages{checked})",
            stalls,
            "< 50 ms",
            values(landed, "stall_ms"),
            bl.verdict(max(stalls) < STALL_TARGET_MS),
        ),
        bl.timed_row(
            f"(info) {label}: `view.apply_batch`", values(ours, "apply_ms"), "-", values(landed, "apply_ms"), "info"
        ),
        bl.timed_row(
            f"(info) {label}: `store.publish` (ours; landed: on the reader thread)",
            values(ours, "publish_ms"),
            "-",
            None,
            "info",
        ),
        bl.timed_row(
            f"(info) {label}: longest gap begun after apply_batch returned (repaint)",
            values(ours, "after_ms"),
            "-",
            values(landed, "after_ms"),
            "info",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="batches per scenario, ours")
    parser.add_argument("--landed-batches", type=int, default=3, help="batches per scenario, landed (seconds each)")
    parser.add_argument("--no-landed", action="store_true", help="skip the landed baseline")
    parser.add_argument("--only", nargs="*", choices=tuple(SCENARIOS), help="scenarios to run (default: all)")
    parser.add_argument("--settle-ms", type=float, default=300.0)
    parser.add_argument("--offscreen", action="store_true", help="QT_QPA_PLATFORM=offscreen instead of Xvfb")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each of our children here (a folder)")
    args = parser.parse_args()
    scenarios = args.only or list(SCENARIOS)

    load = bl.MachineLoad()
    bl.print_header("bench_window_batch", "one batch through every panel of the window (issue 8)")
    rows: list[bl.Row] = []
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(bl.temp_dir("bench-window-batch-"))
        tree = None if args.no_landed else stack.enter_context(landed_tree(LANDED_COMMIT, LANDED_TREE))
        env = stack.enter_context(display(args.offscreen))
        common = ["--settle-ms", str(args.settle_ms), "--project", str(tmp / "project")]
        for scenario in scenarios:
            begin = time.monotonic()
            extra = [*common, "--batches", str(args.batches)]
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                extra += ["--profile", str((args.profile / f"{scenario}.prof").resolve())]
            ours = run_child(scenario, env, tmp, extra, timeout=300)
            landed = None
            if tree is not None:
                extra = [*common, "--batches", str(args.landed_batches), "--tree", str(tree)]
                landed = run_child(scenario, env, tmp, extra, timeout=600)
            rows += rows_for(scenario, ours, landed)
            split = ", ".join(
                f"{name} {statistics.median(times):.1f}" for name, times in ours["panel_ms"].items() if times
            )
            notes.append(f"{scenario}: ours, median ms per panel's apply_batch: {split}")
            print(notes[-1], flush=True)
            notes.append(
                f"{scenario}: ours {ours['platform']} {ours['package']}, check {ours['check']}, "
                f"idle max {max(ours['idle_ms']):.1f} ms"
                + (f"; landed {landed['package']}, check {landed['check']}" if landed else "")
                + f" ({time.monotonic() - begin:.0f} s)"
            )
            print(notes[-1], flush=True)
    bl.print_table("Window batches (issue 8): ours, baseline = the landed code (88c8a52) in the same run", rows)
    print(load.report())


if __name__ == "__main__":
    main()
