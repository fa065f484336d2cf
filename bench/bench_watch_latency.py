"""Issue measure 3: file write -> message on the GUI thread, through ProjectWatcher (target p50 < 3 ms, p99 < 15 ms).

Each write rewrites one checkpoint with a new phase and completion. The time is stamped just before the write and
again in the subscriber of `ProjectWatcher.batches` when the `checkpoint_update` carrying that write's phase
arrives. Writes are spaced: the next one starts only after the message came and a short settle gap, so each is
measured alone. Baseline: a bare watchdog Observer whose handler emits a queued Qt signal per event to a GUI-thread
slot (no reading, no parsing), same writes, first event after the write; its writes alternate with the
watcher's (two projects watched at once), so both see the same machine noise.

Run: .venv/bin/python bench/bench_watch_latency.py [--writes 1000] [--settle-ms 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _benchlib as bl

bl.use_offscreen_qt()

import _benchqt as bq  # noqa: E402

from buildrunner_gui.sources.watcher import ProjectWatcher  # noqa: E402

P50_TARGET_MS = 3.0
P99_TARGET_MS = 15.0
TIMEOUT_MS = 2000
CHECKPOINT = f"{bq.CHECKPOINTS}/live.json"


@dataclass
class Run:
    latencies_ns: list[int] = field(default_factory=list)
    timeouts: int = 0
    errors: int = 0


class WatcherSubject:
    """ProjectWatcher on its own project; a write counts when the checkpoint_update with its phase arrives."""

    def __init__(self, project: Path, waiter: bq.Waiter) -> None:
        self.target = project / CHECKPOINT
        self.waiter = waiter
        self.expected: str | None = None
        self.arrived_ns = 0
        self.errors = 0
        bq.write_plain(self.target, bq.encode(bq.checkpoint_body(0)))
        self.watcher = ProjectWatcher(project)
        self.watcher.batches.connect(self.take)

    def start(self) -> None:
        self.watcher.start()
        assert bq.wait_ready(self.watcher, 10_000), "the watcher did not finish its first scan"

    def stop(self) -> None:
        self.watcher.stop()

    def arm(self, body: dict[str, Any]) -> None:
        self.expected = body["phase"]

    def disarm(self) -> None:
        self.expected = None

    def take(self, batch: list[dict[str, Any]]) -> None:
        now = time.perf_counter_ns()
        for message in batch:
            if message["type"] == "error":
                self.errors += 1
            elif (
                message["type"] == "checkpoint_update"
                and self.expected is not None
                and message["phase"] == self.expected
            ):
                self.expected = None
                self.arrived_ns = now
                self.waiter.finish()


class BareSubject:
    """Baseline on its own project: the first event delivered to the GUI-thread slot after the write counts."""

    def __init__(self, project: Path, waiter: bq.Waiter) -> None:
        self.target = project / CHECKPOINT
        self.waiter = waiter
        self.armed = False
        self.arrived_ns = 0
        self.errors = 0
        bq.write_plain(self.target, bq.encode(bq.checkpoint_body(0)))
        self.watch = bq.BareWatch(project, self.take)

    def start(self) -> None:
        self.watch.start()

    def stop(self) -> None:
        self.watch.stop()

    def arm(self, _body: dict[str, Any]) -> None:
        self.armed = True

    def disarm(self) -> None:
        self.armed = False

    def take(self, now_ns: int) -> None:
        if self.armed:
            self.armed = False
            self.arrived_ns = now_ns
            self.waiter.finish()


Subject = WatcherSubject | BareSubject


def measure_one(subject: Subject, index: int, write: Callable[[Path, bytes], None], run: Run) -> None:
    body = bq.checkpoint_body(index)
    data = bq.encode(body)
    subject.arm(body)
    start = time.perf_counter_ns()
    write(subject.target, data)
    if subject.waiter.wait(TIMEOUT_MS):
        run.latencies_ns.append(subject.arrived_ns - start)
    else:
        run.timeouts += 1
        subject.disarm()


def measure_interleaved(tmp: Path, writes: int, settle_ms: float, style: str) -> tuple[Run, Run]:
    """The watcher and the baseline watch two projects at once; their writes alternate, so both see the same
    machine noise. Returns (watcher run, baseline run)."""
    write = bq.WRITERS[style]
    waiter = bq.Waiter()
    watched = WatcherSubject(bq.make_project(tmp / "watched"), waiter)
    bare = BareSubject(bq.make_project(tmp / "bare"), waiter)
    runs = (Run(), Run())
    watched.start()
    bare.start()
    bq.pump(300)  # let the start-up batch and the post-scan re-check pass
    try:
        for index in range(1, writes + 1):
            for subject, run in zip((watched, bare), runs, strict=True):
                measure_one(subject, index, write, run)
                bq.pump(settle_ms)
    finally:
        watched.stop()
        bare.stop()
    runs[0].errors = watched.errors
    return runs


def note(run: Run) -> str:
    extra = []
    if run.timeouts:
        extra.append(f"{run.timeouts} timeouts")
    if run.errors:
        extra.append(f"{run.errors} error msgs")
    return f" ({', '.join(extra)})" if extra else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--settle-ms", type=float, default=5.0)
    args = parser.parse_args()

    load = bl.MachineLoad()
    bl.print_header("bench_watch_latency", "file write -> GUI-thread message via ProjectWatcher (issue measure 3)")
    print(f"{args.writes} writes per row, each alone (wait for its message, then {args.settle_ms:g} ms settle)")
    bq.qt_app()
    runs: dict[str, Run] = {}
    for style in ("plain", "replace"):
        with bl.temp_dir("bench-latency-") as tmp:
            runs[style], runs[f"bare-{style}"] = measure_interleaved(tmp, args.writes, args.settle_ms, style)

    rows = []
    for style, label in (("plain", "open/truncate/write/close"), ("replace", "tmp file + os.replace")):
        own = bl.ns_to_ms(runs[style].latencies_ns)
        base = bl.ns_to_ms(runs[f"bare-{style}"].latencies_ns)
        summary = bl.Summary.of(own)
        passed = summary.median < P50_TARGET_MS and summary.p99 < P99_TARGET_MS and not runs[style].timeouts
        rows.append(
            bl.timed_row(
                f"write -> slot, ProjectWatcher, {label}{note(runs[style])}",
                own,
                "p50 < 3 ms, p99 < 15 ms",
                base,
                bl.verdict(passed),
            )
        )
    bl.print_table("file write -> message on the GUI thread", rows)
    print(
        "baseline: bare watchdog Observer -> queued Qt signal -> slot (no parsing), same writes; "
        f"baseline timeouts: {runs['bare-plain'].timeouts} / {runs['bare-replace'].timeouts}"
    )
    print(load.report())


if __name__ == "__main__":
    main()
