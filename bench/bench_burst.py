"""Issue measure 4: 1,000 checkpoint writes in one second, through ProjectWatcher.

A writer *process* (this script with --writer, so it shares no GIL with the monitor) rewrites checkpoints at a
paced 1 write/ms, either one file or round-robin over several, and logs when each write started and ended.
The monitor side (GUI thread) records what it has seen and samples, every 20 ms, how far behind the newest write
its view is. Reported per configuration, over several repeats:

- time from the start of the last write to the GUI-side state being exactly the last written one;
- that the final snapshot equals the last written values (checked field by field, and against a fresh
  `read_once` of the files on disk);
- staleness of the GUI view while the burst runs (how long the newest write had been on disk without being
  shown) and whether it grows from the first half of the burst to the second;
- CPU time (user + sys) of the monitor process over the burst.

Baseline: a bare watchdog Observer + one queued Qt signal per event to a slot (no reading, no parsing), same
writer; its "final" is the last event delivered, its backlog the emitted-but-undelivered signals.

Run: .venv/bin/python bench/bench_burst.py [--repeats 5] [--writes 1000] [--duration 1.0]
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import _benchlib as bl

bl.use_offscreen_qt()

import _benchqt as bq  # noqa: E402

from buildrunner_gui.sources.oneshot import read_once  # noqa: E402
from buildrunner_gui.sources.watcher import ProjectWatcher  # noqa: E402

SAMPLE_MS = 20
DONE_TIMEOUT_MS = 15_000
CATCH_UP_MS = 50.0  # no backlog left: the GUI shows the final state this soon after the last write
PHASE_INDEX = re.compile(r"build_live_(\d+)$")
COMPARED_STATE = ("status", "progress", "checkpoints", "features", "components", "feature_stats", "component_stats")


# ---------------------------------------------------------------------------- the writer process


def burst_body(index: int, files: int) -> dict[str, Any]:
    return {**bq.checkpoint_body(index), "id": f"burst_{index % files:02d}"}


def file_for(folder: Path, index: int, files: int) -> Path:
    return folder / bq.CHECKPOINTS / f"burst_{index % files:02d}.json"


def sleep_until(due_ns: int) -> None:
    remaining = due_ns - time.perf_counter_ns()
    if remaining > 300_000:
        time.sleep((remaining - 200_000) / 1e9)
    while time.perf_counter_ns() < due_ns:
        pass


def run_writer(folder: Path, files: int, writes: int, duration: float, style: str, log: Path) -> None:
    """Paced writes; perf_counter_ns is CLOCK_MONOTONIC, so the stamps compare with the monitor's."""
    write = bq.WRITERS[style]
    payloads = [(file_for(folder, i, files), bq.encode(burst_body(i, files))) for i in range(writes)]
    interval = duration * 1e9 / writes
    stamps: list[tuple[int, int]] = []
    start = time.perf_counter_ns()
    for index, (path, data) in enumerate(payloads):
        sleep_until(start + int(index * interval))
        began = time.perf_counter_ns()
        write(path, data)
        stamps.append((began, time.perf_counter_ns()))
    log.write_text(json.dumps(stamps))


def start_writer(folder: Path, files: int, writes: int, duration: float, style: str, log: Path) -> subprocess.Popen:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--writer",
        str(folder),
        "--files",
        str(files),
        "--writes",
        str(writes),
        "--duration",
        str(duration),
        "--style",
        style,
        "--log",
        str(log),
    ]
    return subprocess.Popen(argv)


# ---------------------------------------------------------------------------- the monitor side


def cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


@dataclass
class Sample:
    at_ns: int
    seen: int  # highest write index shown on the GUI side (-1: none yet)
    queued: int  # messages in the watcher's outbox / signals not yet delivered (baseline)
    pending: int  # paths waiting for the reader thread (watcher only)


@dataclass
class BurstRun:
    stamps: list[tuple[int, int]]
    samples: list[Sample]
    done_ns: int | None
    cpu_ms: float
    exact: bool
    updates: int = 0
    errors: int = 0
    mismatch: str = ""

    @property
    def final_ms(self) -> float:
        return (self.done_ns - self.stamps[-1][0]) / bl.NS_PER_MS if self.done_ns else float("nan")


class BurstProbe:
    """GUI-thread side: tracks the newest write seen per file and notices when every file shows its last write."""

    def __init__(self, waiter: bq.Waiter, expected_final: dict[str, str]) -> None:
        self.waiter = waiter
        self.expected_final = expected_final
        self.shown: dict[str, str] = {}
        self.seen = -1
        self.updates = 0
        self.errors = 0
        self.done_ns: int | None = None

    def take(self, batch: list[dict[str, Any]]) -> None:
        now = time.perf_counter_ns()
        for message in batch:
            if message["type"] == "error":
                self.errors += 1
            elif message["type"] == "checkpoint_update" and not message["removed"]:
                self.updates += 1
                self.shown[message["checkpoint_id"]] = message["phase"]
                match = PHASE_INDEX.match(message["phase"])
                if match:
                    self.seen = max(self.seen, int(match.group(1)))
        if self.done_ns is None and self.shown == self.expected_final:
            self.done_ns = now
            self.waiter.finish()


def expected_finals(files: int, writes: int) -> dict[str, str]:
    finals: dict[str, str] = {}
    for index in range(writes):
        body = burst_body(index, files)
        finals[body["id"]] = body["phase"]
    return finals


def seed_files(project: Path, files: int) -> None:
    """Every checkpoint exists before monitoring starts, with content no write of the burst repeats."""
    for k in range(files):
        body = {**burst_body(k, files), "phase": "build_seed", "completion": 0, "timestamp": "2025-01-01T00:00:00"}
        bq.write_plain(file_for(project, k, files), bq.encode(body))


def check_exact(watcher: ProjectWatcher, project: Path, files: int, writes: int) -> str:
    """'' when the live snapshot is exactly the last written values; else what differs."""
    live = watcher.store.snapshot()
    last = burst_body(writes - 1, files)
    want_rows = {burst_body(i, files)["id"]: burst_body(i, files) for i in range(writes - files, writes)}
    got_rows = {row["checkpoint_id"]: row for row in live["checkpoints"]}
    if set(got_rows) != set(want_rows):
        return f"checkpoints {sorted(got_rows)} != {sorted(want_rows)}"
    for cid, body in want_rows.items():
        row = got_rows[cid]
        if (row["phase"], row["status"], row["tasks_completed"], row["files_created"]) != (
            body["phase"],
            body["status"],
            body["tasks_completed"],
            body["files_created"],
        ):
            return f"{cid}: {row} != last written {body}"
    if live["progress"]["percent"] != round(last["completion"], 1):
        return f"percent {live['progress']['percent']} != {last['completion']}"
    if live["progress"]["tasks_completed"] != files:
        return f"tasks_completed {live['progress']['tasks_completed']} != {files}"
    fresh = read_once(project).snapshot()
    for key in COMPARED_STATE:
        if live[key] != fresh[key]:
            return f"{key} differs from a fresh read_once of the files"
    return ""


def private_lengths(watcher: ProjectWatcher) -> tuple[int, int]:
    """Outbox and change-queue lengths (private attributes, read for diagnosis only; -1 when absent)."""
    outbox = getattr(watcher, "_outbox", None)
    queue = getattr(getattr(watcher, "_worker", None), "_queue", None)
    pending = getattr(queue, "_pending", None)
    return (len(outbox) if outbox is not None else -1, len(pending) if pending is not None else -1)


def run_watcher_burst(
    tmp: Path,
    files: int,
    writes: int,
    duration: float,
    style: str,
    filtered: bool = False,
) -> BurstRun:
    project = bq.make_project(tmp / "proj")
    seed_files(project, files)
    waiter = bq.Waiter()
    probe = BurstProbe(waiter, expected_finals(files, writes))
    watcher = ProjectWatcher(project, observer_factory=bq.FilteredObserver) if filtered else ProjectWatcher(project)
    watcher.batches.connect(probe.take)
    watcher.start()
    assert bq.wait_ready(watcher, 10_000), "the watcher did not finish its first scan"
    bq.pump(300)
    probe.updates = 0  # count only what the burst produced, not the start-up scan
    samples: list[Sample] = []

    def sample() -> None:
        samples.append(Sample(time.perf_counter_ns(), probe.seen, *private_lengths(watcher)))

    sampler = bq.QTimer()
    sampler.timeout.connect(sample)
    sampler.start(SAMPLE_MS)
    cpu_before = cpu_ns()
    writer = start_writer(project, files, writes, duration, style, tmp / "stamps.json")
    try:
        waiter.wait(DONE_TIMEOUT_MS)
        cpu_ms = (cpu_ns() - cpu_before) / bl.NS_PER_MS
        sampler.stop()
        writer.wait(30)
        bq.pump(300)  # anything late would show up in the check below
        mismatch = check_exact(watcher, project, files, writes)
    finally:
        watcher.stop()
        if writer.poll() is None:
            writer.kill()
    stamps = [tuple(pair) for pair in json.loads((tmp / "stamps.json").read_text())]
    return BurstRun(
        stamps,
        samples,
        probe.done_ns,
        cpu_ms,
        not mismatch and probe.done_ns is not None,
        probe.updates,
        probe.errors,
        mismatch,
    )


def run_bare_burst(tmp: Path, files: int, writes: int, duration: float, style: str) -> BurstRun:
    project = bq.make_project(tmp / "proj")
    seed_files(project, files)
    arrivals: list[int] = []
    watch = bq.BareWatch(project, arrivals.append)
    watch.start()
    bq.pump(300)
    arrivals.clear()
    emitted_before = watch.handler.emitted
    samples: list[Sample] = []

    def sample() -> None:
        queued = watch.handler.emitted - emitted_before - len(arrivals)
        samples.append(Sample(time.perf_counter_ns(), -1, queued, -1))

    sampler = bq.QTimer()
    sampler.timeout.connect(sample)
    sampler.start(SAMPLE_MS)
    cpu_before = cpu_ns()
    writer = start_writer(project, files, writes, duration, style, tmp / "stamps.json")
    try:
        while writer.poll() is None:
            bq.pump(20)
        quiet_from = len(arrivals)
        bq.pump(300)
        while len(arrivals) != quiet_from:  # wait until no event has come for 300 ms
            quiet_from = len(arrivals)
            bq.pump(300)
        cpu_ms = (cpu_ns() - cpu_before) / bl.NS_PER_MS
        sampler.stop()
    finally:
        watch.stop()
    stamps = [tuple(pair) for pair in json.loads((tmp / "stamps.json").read_text())]
    done = arrivals[-1] if arrivals else None
    return BurstRun(stamps, samples, done, cpu_ms, exact=False, updates=len(arrivals))


# ---------------------------------------------------------------------------- backlog figures


@dataclass(frozen=True)
class Lag:
    writes: int  # how many writes the GUI view is behind the newest completed write
    stale_ms: float  # how long the oldest write not yet shown has been on disk (0 when up to date)


def lags(run: BurstRun) -> list[Lag]:
    """The GUI view against the writer's log, for each sample taken while the burst ran."""
    ends = [end for _start, end in run.stamps]
    first, last = run.stamps[0][0], run.stamps[-1][1]
    values: list[Lag] = []
    for sample in run.samples:
        if not first <= sample.at_ns <= last:
            continue
        written = bisect.bisect_right(ends, sample.at_ns) - 1  # newest write completed by then
        if sample.seen >= written:
            values.append(Lag(0, 0.0))
        else:
            values.append(Lag(written - sample.seen, (sample.at_ns - ends[sample.seen + 1]) / bl.NS_PER_MS))
    return values


def longest_writer_gap_ms(run: BurstRun) -> float:
    """The writer is paced at 1 write/ms: a much longer gap means the machine did not run it (other load)."""
    starts = [start for start, _end in run.stamps]
    return max((b - a for a, b in pairwise(starts)), default=0) / bl.NS_PER_MS


def halves_max(values: list[float]) -> tuple[float, float]:
    middle = len(values) // 2
    return (max(values[:middle], default=0.0), max(values[middle:], default=0.0))


def in_burst(run: BurstRun, attribute: str) -> list[float]:
    first, last = run.stamps[0][0], run.stamps[-1][1]
    return [float(getattr(s, attribute)) for s in run.samples if first <= s.at_ns <= last]


# ---------------------------------------------------------------------------- report


@dataclass
class Config:
    label: str
    files: int
    runs: list[BurstRun] = field(default_factory=list)
    bare: list[BurstRun] = field(default_factory=list)


def config_rows(config: Config) -> list[bl.Row]:
    runs, bare, label = config.runs, config.bare, config.label
    exact = sum(run.exact for run in runs)
    errors = sum(run.errors for run in runs)
    for index, run in enumerate(runs):
        if run.mismatch:
            print(f"{label}, run {index}: NOT EXACT: {run.mismatch}")
    per_run = [lags(run) for run in runs]
    behind = [float(lag.writes) for run_lags in per_run for lag in run_lags]
    stale = [lag.stale_ms for run_lags in per_run for lag in run_lags]
    halves = ", ".join(
        "{:.0f}/{:.0f}".format(*halves_max([float(lag.writes) for lag in run_lags])) for run_lags in per_run
    )
    outbox = [value for run in runs for value in in_burst(run, "queued")]
    pending = [value for run in runs for value in in_burst(run, "pending")]
    # No backlog: the change queue never holds more than one entry per file, and the view is exact soon after
    # the last write in every run (a growing backlog would have to be worked off after the burst).
    no_backlog = max(pending, default=0) <= config.files and all(r.final_ms < CATCH_UP_MS for r in runs)
    return [
        bl.timed_row(
            f"{label}: last write -> GUI state exact",
            [r.final_ms for r in runs],
            f"exact ({exact}/{len(runs)} runs)",
            [r.final_ms for r in bare],
            bl.verdict(exact == len(runs) and not errors),
        ),
        bl.timed_row(
            f"{label}: GUI writes behind newest (max 1st/2nd half per run: {halves})",
            behind,
            f"no growth; exact < {CATCH_UP_MS:.0f} ms after",
            None,
            bl.verdict(no_backlog),
            "writes",
        ),
        bl.timed_row(f"{label}: GUI view staleness while writing", stale, "-", None, "info"),
        bl.timed_row(
            f"{label}: outbox length (baseline: signals queued)",
            outbox,
            "-",
            [value for run in bare for value in in_burst(run, "queued")],
            "info",
            "msgs",
        ),
        bl.timed_row(f"{label}: change-queue length", pending, f"<= {config.files}", None, "info", "paths"),
        bl.timed_row(
            f"{label}: writer's longest gap between writes (stalls)",
            [longest_writer_gap_ms(r) for r in runs],
            "~1 ms when quiet",
            [longest_writer_gap_ms(r) for r in bare],
            "info",
        ),
        bl.timed_row(
            f"{label}: monitor CPU (user+sys) over the burst",
            [r.cpu_ms for r in runs],
            "-",
            [r.cpu_ms for r in bare],
            "info",
        ),
        bl.timed_row(
            f"{label}: checkpoint_update msgs ({errors} error msgs; baseline: events)",
            [r.updates for r in runs],
            "-",
            [r.updates for r in bare],
            "info",
            "msgs",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--style", choices=sorted(bq.WRITERS), default="plain")
    parser.add_argument(
        "--filtered-observer",
        action="store_true",
        help="prototype of a proposed fix: watch with a watchdog event_filter (no opened / closed_no_write events)",
    )
    parser.add_argument("--writer", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        run_writer(args.writer, args.files, args.writes, args.duration, args.style, args.log)
        return

    load = bl.MachineLoad()
    bl.print_header("bench_burst", f"{args.writes} checkpoint writes in {args.duration:g} s (issue measure 4)")
    print(
        f"writer: separate process, {args.style} writes, paced 1 per {args.duration * 1000 / args.writes:g} ms; "
        f"{args.repeats} repeats per configuration; GUI sampled every {SAMPLE_MS} ms"
        + ("; PROTOTYPE: observer with event_filter" if args.filtered_observer else "")
    )
    bq.qt_app()
    configs = [Config("1 file", 1), Config("10 files", 10)]
    for config in configs:
        for _ in range(args.repeats):
            with bl.temp_dir("bench-burst-") as tmp:
                config.runs.append(
                    run_watcher_burst(tmp, config.files, args.writes, args.duration, args.style, args.filtered_observer)
                )
            with bl.temp_dir("bench-burst-bare-") as tmp:
                config.bare.append(run_bare_burst(tmp, config.files, args.writes, args.duration, args.style))
    spans = [(run.stamps[-1][1] - run.stamps[0][0]) / 1e9 for config in configs for run in config.runs]
    print(f"writer spans: {min(spans):.3f}-{max(spans):.3f} s for {args.writes} writes")
    rows = [row for config in configs for row in config_rows(config)]
    bl.print_table(f"{args.writes} checkpoint writes in {args.duration:g} s", rows)
    print(
        "baseline: bare watchdog Observer -> one queued Qt signal per event -> slot; its 'final' is the last event "
        "delivered, its queue the signals emitted but not yet delivered"
    )
    print(load.report())


if __name__ == "__main__":
    main()
