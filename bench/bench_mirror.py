"""Issue 10 part 5, "Mirror mode you can trust": a mirrored window against a local one, over loopback, same run.

Every server is a real `serve` process (`python -m buildrunner_gui serve PROJECT... --port 0`) and every window a
child process (`_mirror_child.py`: offscreen, the app's QApplication and qasync loop, a 5 ms precise QTimer on the
GUI thread). Projects are copies of the real BR3 sample; registries are written atomically (temp file + replace).
`--tree DIR` measures the package of another checkout (a clean `git worktree` of a commit) with these scripts.

1. Registry write → the mirrored table row changed. One `serve` on a sample copy; a mirror window (`RemoteSource`
   + `Session`, its `SessionView` shown, Features tab) and, as the baseline, a local window (`ProjectWatcher` +
   `Session` on the same folder). Each write gives one feature a new status and progress; the time is from just
   before the write to the features model's `dataChanged` / `rowsInserted` / `modelReset` for that row, stamped in
   the window's slot (perf_counter_ns, CLOCK_MONOTONIC in both processes). Writes wait for both windows, then a
   30-60 ms pause. The mirror's time is split at the moment its client got the feature's frame; then `--alone`
   more writes with the local window closed. Target p50 < 5 ms, p99 < 25 ms.
2. A 10,000-feature rewrite: every feature changes status and progress in one atomic rewrite of the served
   registry (4.6 MB, written compactly), with the same two windows. Per burst: the longest gap beyond 5 ms between
   two ticks of the window's timer, from the write until `--settle` seconds after both windows show the last
   feature's new progress. Target < 50 ms.
3. 30 mirrored sessions from 3 servers opened at once: 3 `serve` processes with 10 projects each (sample copies with
   a 200-feature registry), a busy build writing into all 30 (`_mirror_writer.py`: every 20 ms the next project
   gets a checkpoint rewrite and two log lines, every other visit a registry change). The real window
   (`DesktopApp`, its own server on, settings in a temp file) opens all 30 in one `start(mirrors=...)`; the
   longest stall from `start` until every session is loaded, and in the 5 s after. Baseline: the same window
   opening the 30 folders as local projects. Target < 50 ms for both spans.

`--profile DIR` leaves a cProfile of every window's GUI thread there (`_mirror_child.py` says which span).

Run: .venv/bin/python bench/bench_mirror.py [--writes 200] [--rounds 5] [--opens 2] [--only latency,burst,many]
     [--tree DIR] [--profile DIR]   (about 2.5 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _benchlib as bl
import _mirror_data as data
from _mirror_procs import HERE, PYTHON, Child, ChildFailed, Children, Event, Server, children

LATENCY_P50_MS, LATENCY_P99_MS = 5.0, 25.0
STALL_TARGET_MS = 50.0
SIDES = ("mirror", "local")
LOAD_TIMEOUT_S = 120.0
WRITE_TIMEOUT_S = 5.0
BURST_TIMEOUT_S = 90.0


def now() -> int:
    return time.perf_counter_ns()


# ---------------------------------------------------------------------------- the two windows on one project


@dataclass
class Pair:
    server: Server
    windows: dict[str, Child]


async def open_pair(kids: Children, project: Path, name: str, profile: Path | None) -> Pair:
    """A server on `project`, then a mirror window on its stream and a local window on the folder."""
    server = await kids.serve(f"serve-{name}", [project])
    argv = {"mirror": ["--remote", server.urls[0]], "local": ["--local", str(project)]}
    windows: dict[str, Child] = {}
    for side in SIDES:
        extra = ["--profile", str(profile / f"{name}-{side}.prof")] if profile else []
        windows[side] = await kids.window(f"{name}-{side}", "session", *argv[side], *extra)
    for side, window in windows.items():
        ready = await window.event("ready", LOAD_TIMEOUT_S)
        if ready["e"] != "ready":
            raise ChildFailed(f"{name} {side} window: {ready}")
        check_package(ready, kids.tree)
    return Pair(server, windows)


def check_package(event: Event, tree: Path) -> None:
    """The child imported the package of the tree under measure, not another copy."""
    if not event["package"].startswith(str(tree.resolve())):
        raise ChildFailed(f"a window imported {event['package']}, not the package in {tree}")


def shows(feature_id: str, progress: float) -> Callable[[Event], bool]:
    """A `rows` event in which the feature's row shows that progress."""

    def wanted(event: Event) -> bool:
        return event.get("e") == "rows" and any(r[0] == feature_id and r[1] == progress for r in event["rows"])

    return wanted


async def stall_reports(pair: Pair) -> dict[str, Event]:
    for window in pair.windows.values():
        window.send("report")
    return {side: await window.event("report", 30) for side, window in pair.windows.items()}


def longest_in(report: Event, begin: int, end: int) -> list[float]:
    """The longest stall ending in [begin, end) as [ms, GUI CPU ms, run-queue ms]; 0 when none was over 1 ms."""
    inside = [gap for gap in report["stalls"] if begin <= gap[0] < end]
    worst = max(inside, key=lambda gap: gap[1], default=[0, 0.0, 0.0, 0.0])
    return [worst[1], worst[2], worst[3]]


def longest_own_in(report: Event, begin: int, end: int) -> float:
    """The longest stall ending in [begin, end) less its run-queue wait: the window's own work (and its waits for
    its other threads), without the time the machine's other processes kept it from a CPU."""
    inside = [max(0.0, gap[1] - gap[3]) for gap in report["stalls"] if begin <= gap[0] < end]
    return max(inside, default=0.0)


# ---------------------------------------------------------------------------- 1. write → row changed


@dataclass
class Latency:
    ms: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    frame_ms: list[float] = field(default_factory=list)  # write → the feature's frame reached the mirror client
    window_ms: list[float] = field(default_factory=list)  # that frame → the mirror's row changed
    alone_ms: list[float] = field(default_factory=list)  # write → mirror row, with no local window running
    lost: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, Counter[str]] = field(default_factory=lambda: {side: Counter() for side in SIDES})
    stall: dict[str, list[float]] = field(default_factory=dict)
    load: str = ""


def matched_row(event: Event, feature_id: str) -> list[Any]:
    return next(row for row in event["rows"] if row[0] == feature_id)


async def timed_writes(path: Path, windows: dict[str, Child], writes: range, out: Latency, alone: bool) -> None:
    """Each write gives one feature a new status and progress; the time until each window's row shows it."""
    registry = json.loads(path.read_text())
    for write in writes:
        registry, feature_id, progress = data.one_change(registry, write)
        body = data.encode(registry)
        start = now()
        data.write_atomic(path, body)
        for side, window in windows.items():
            try:
                event = await window.next(shows(feature_id, progress), WRITE_TIMEOUT_S)
            except TimeoutError:
                out.lost[side] += 1
                continue
            if write <= 0:
                continue  # warm-up
            ms = (event["ns"] - start) / bl.NS_PER_MS
            frame_ns = matched_row(event, feature_id)[2]
            if alone:
                out.alone_ms.append(ms)
                continue
            out.ms[side].append(ms)
            out.kinds[side][event["kind"]] += 1
            if side == "mirror" and frame_ns is not None:
                out.frame_ms.append((frame_ns - start) / bl.NS_PER_MS)
                out.window_ms.append((event["ns"] - frame_ns) / bl.NS_PER_MS)
        await asyncio.sleep(random.uniform(0.03, 0.06))  # spaced: each write is a change of its own


async def measure_latency(kids: Children, tmp: Path, args: argparse.Namespace) -> Latency:
    load = bl.MachineLoad()
    project = data.copy_sample(tmp / "latency" / "br3-sample")
    pair = await open_pair(kids, project, "latency", args.profile)
    out = Latency()
    path = project / data.REGISTRY
    await asyncio.sleep(1.0)  # both windows past their first scan's follow-ups
    begin = now()
    await timed_writes(path, pair.windows, range(1 - args.warmup, args.writes + 1), out, alone=False)
    reports = await stall_reports(pair)
    out.stall = {side: longest_in(report, begin, now()) for side, report in reports.items()}
    # Then the mirror alone: with no local window reading the same file on the same two CPUs.
    await kids.stop(pair.windows.pop("local"))
    first = args.writes + 1
    await timed_writes(path, pair.windows, range(first, first + args.alone), out, alone=True)
    await kids.stop_all()
    out.load = load.report()
    print(f"[1. write → row] {out.load}", flush=True)
    return out


def latency_rows(out: Latency) -> tuple[list[bl.Row], list[str]]:
    mirror, local = out.ms["mirror"], out.ms["local"]
    own = bl.Summary.of(mirror)
    passed = own.median < LATENCY_P50_MS and own.p99 < LATENCY_P99_MS and not out.lost["mirror"]
    alone = bl.Summary.of(out.alone_ms)
    rows = [
        bl.timed_row(
            "1. registry write → mirrored row changed (serve → loopback → mirror window's features model)",
            mirror,
            "p50 < 5 ms, p99 < 25 ms",
            local,
            bl.verdict(passed),
        ),
        bl.timed_row(
            "1. (info) of which write → the feature's frame reached the mirror client (serve's watch, read, diff, "
            "send; loopback)",
            out.frame_ms,
            "-",
            None,
            "info",
        ),
        bl.timed_row(
            "1. (info) of which frame → row changed (the mirror window: decode, store, view)",
            out.window_ms,
            "-",
            None,
            "info",
        ),
        bl.timed_row(
            "1. (info) same write → row, the local window closed (mirror alone)",
            out.alone_ms,
            "p50 < 5 ms, p99 < 25 ms",
            None,
            bl.verdict(alone.median < LATENCY_P50_MS and alone.p99 < LATENCY_P99_MS) if out.alone_ms else "-",
        ),
    ]
    notes = [
        f"1. writes not seen within {WRITE_TIMEOUT_S:.0f} s: {dict(out.lost) or 'none'}; how the row changed: "
        + "; ".join(f"{side} {dict(kinds)}" for side, kinds in out.kinds.items()),
        "1. longest GUI stall during the writes [ms, GUI CPU ms, run-queue ms]: "
        + "; ".join(f"{side} {values}" for side, values in out.stall.items()),
    ]
    return rows, notes


# ---------------------------------------------------------------------------- 2. 10,000 features at once


@dataclass
class Burst:
    stall: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    own: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    worst: dict[str, list[float]] = field(default_factory=dict)
    done_ms: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    last_frame_ms: list[float] = field(default_factory=list)  # write → the last feature's frame reached the mirror
    idle: dict[str, list[float]] = field(default_factory=dict)
    resets: dict[str, int] = field(default_factory=dict)
    lost: Counter[str] = field(default_factory=Counter)
    size: int = 0
    load: str = ""


def burst_done(features: int, round_number: int) -> Callable[[Event], bool]:
    """The last feature's row shows this round's progress (rows change in file order)."""
    return shows(data.burst_feature_id(features - 1), data.burst_progress(round_number))


async def measure_burst(kids: Children, tmp: Path, args: argparse.Namespace) -> Burst:
    load = bl.MachineLoad()
    project = data.copy_sample(tmp / "burst" / "br3-sample")
    path = project / data.REGISTRY
    bodies = [data.encode(data.burst_registry(args.burst_features, r), indent=None) for r in range(args.rounds + 1)]
    data.write_atomic(path, bodies[0])
    pair = await open_pair(kids, project, "burst", args.profile)
    out = Burst(size=len(bodies[1]))
    await asyncio.sleep(1.0)
    idle_begin = now()
    await asyncio.sleep(1.0)  # the idle span: what the loop does with nothing to show
    spans = [(idle_begin, now())]
    for round_number in range(1, args.rounds + 1):
        start = now()
        data.write_atomic(path, bodies[round_number])
        for side, window in pair.windows.items():
            try:
                event = await window.next(burst_done(args.burst_features, round_number), BURST_TIMEOUT_S)
                out.done_ms[side].append((event["ns"] - start) / bl.NS_PER_MS)
                frame_ns = matched_row(event, data.burst_feature_id(args.burst_features - 1))[2]
                if frame_ns is not None:
                    out.last_frame_ms.append((frame_ns - start) / bl.NS_PER_MS)
            except TimeoutError:
                out.lost[side] += 1
        await asyncio.sleep(args.settle)  # the repaint and whatever else the burst left queued
        spans.append((start, now()))
    reports = await stall_reports(pair)
    for side, report in reports.items():
        out.idle[side] = longest_in(report, *spans[0])
        per_round = [longest_in(report, begin, end) for begin, end in spans[1:]]
        out.stall[side] = [worst[0] for worst in per_round]
        out.own[side] = [longest_own_in(report, begin, end) for begin, end in spans[1:]]
        out.worst[side] = max(per_round, key=lambda worst: worst[0])
        window = pair.windows[side]
        out.resets[side] = sum(1 for event in window.skipped if event.get("kind") == "reset")
    await kids.stop_all()
    out.load = load.report()
    print(f"[2. burst] {out.load}", flush=True)
    return out


def burst_rows(out: Burst, features: int) -> tuple[list[bl.Row], list[str]]:
    mirror = out.stall["mirror"]
    passed = bool(mirror) and max(mirror) < STALL_TARGET_MS and not out.lost["mirror"]
    worst = out.worst.get("mirror", [0.0, 0.0, 0.0])
    rows = [
        bl.timed_row(
            f"2. {features:,} features changed in one rewrite: mirror window's longest GUI stall per burst "
            f"(worst {worst[0]:.1f} ms: GUI CPU {worst[1]:.1f}, run queue {worst[2]:.1f})",
            mirror,
            "< 50 ms",
            out.stall["local"],
            bl.verdict(passed),
        ),
        bl.timed_row(
            "2. (info) same, less each gap's run-queue wait (the window's own work)",
            out.own["mirror"],
            "-",
            out.own["local"],
            "info",
        ),
        bl.timed_row(
            "2. (info) write → the mirror's last row shows the burst",
            out.done_ms["mirror"],
            "-",
            out.done_ms["local"],
            "info",
        ),
        bl.timed_row(
            "2. (info) of which write → the last feature's frame reached the mirror client",
            out.last_frame_ms,
            "-",
            None,
            "info",
        ),
    ]
    notes = [
        f"2. registry {out.size / 1e6:.1f} MB; bursts not shown within {BURST_TIMEOUT_S:.0f} s: "
        f"{dict(out.lost) or 'none'}; model resets (a `status` reload instead of row changes): {out.resets}",
        "2. longest stall per burst [ms] " + "; ".join(f"{s} {[round(v, 1) for v in out.stall[s]]}" for s in SIDES),
        "2. worst burst [ms, GUI CPU ms, run-queue ms]: "
        + "; ".join(f"{s} {[round(v, 1) for v in out.worst.get(s, [])]}" for s in SIDES)
        + "; idle 1 s before: "
        + "; ".join(f"{s} {[round(v, 1) for v in out.idle.get(s, [])]}" for s in SIDES),
    ]
    return rows, notes


# ---------------------------------------------------------------------------- 3. 30 sessions at once


@dataclass
class Many:
    runs: dict[str, list[Event]] = field(default_factory=lambda: {side: [] for side in SIDES})
    writer: Event = field(default_factory=dict)
    load: str = ""


async def start_servers(kids: Children, tmp: Path, args: argparse.Namespace) -> tuple[list[Path], list[str]]:
    per_server = args.sessions // args.servers
    projects = [
        data.make_busy_project(tmp / "many" / f"proj-{index:02d}", args.many_features)
        for index in range(per_server * args.servers)
    ]
    servers = await asyncio.gather(
        *(kids.serve(f"serve-many-{k}", projects[k * per_server : (k + 1) * per_server]) for k in range(args.servers))
    )
    return projects, [url for server in servers for url in server.urls]


async def open_all(
    kids: Children, tmp: Path, side: str, run: int, args: argparse.Namespace, targets: list[str]
) -> Event:
    settings = tmp / "many" / f"settings-{side}-{run}.ini"
    extra = ["--profile", str(args.profile / f"many-{side}-{run}.prof")] if args.profile else []
    flag = "--mirror" if side == "mirror" else "--local"
    window = await kids.window(f"many-{side}", "desktop", "--settings", str(settings), *extra, flag, *targets)
    try:
        result = await window.event("result", LOAD_TIMEOUT_S + 30)
    finally:
        await kids.stop(window)
    if result["e"] != "result":
        raise ChildFailed(f"{side} window: {result}")
    check_package(result, kids.tree)
    return result


async def measure_many(kids: Children, tmp: Path, args: argparse.Namespace) -> Many:
    load = bl.MachineLoad()
    projects, urls = await start_servers(kids, tmp, args)
    writer = await kids.start(
        "busy-writer",
        [PYTHON, str(HERE / "_mirror_writer.py"), *map(str, projects), "--tick-ms", str(args.busy_tick_ms)],
    )
    await writer.event("text", 30)  # `ready`
    await asyncio.sleep(2.0)  # the build is under way before any window opens
    out = Many()
    for run in range(args.opens):  # the two sides alternate, so both see the machine's noise
        for side in SIDES:
            targets = urls if side == "mirror" else [str(project) for project in projects]
            out.runs[side].append(await open_all(kids, tmp, side, run, args, targets))
            print(f"[3. {side} run {run + 1}] {summary_of_open(out.runs[side][-1])}", flush=True)
    writer.process.send_signal(signal.SIGTERM)  # it prints its summary line
    final = await writer.next(lambda event: "ticks" in event, 15)
    out.writer = final
    await kids.stop_all()
    out.load = load.report()
    print(f"[3. 30 sessions] {out.load}", flush=True)
    return out


def summary_of_open(result: Event) -> str:
    return (
        f"`start` returned after {result['start_ms']:.0f} ms; "
        f"{result['loaded']}/{result['sessions']} loaded in {result['loaded_ms'] or float('nan'):.0f} ms, "
        f"longest stall opening {result['opening']['max_ms']:.1f} ms (GUI CPU {result['opening']['max_cpu_ms']:.1f}, "
        f"at {result['opening'].get('max_at_s', 0):.2f} s), after {result['after']['max_ms']:.1f} ms; less run-queue "
        f"waits {result['opening']['max_app_ms']:.1f} / {result['after']['max_app_ms']:.1f} ms; "
        f"over 50 ms: {result['opening']['over_50']} + {result['after']['over_50']}"
    )


def many_rows(out: Many, sessions: int, servers: int) -> tuple[list[bl.Row], list[str]]:
    def values(side: str, key: str) -> list[float]:
        return [run[key]["max_ms"] for run in out.runs[side]]

    def own(side: str, key: str) -> list[float]:
        return [run[key]["max_app_ms"] for run in out.runs[side]]

    def loaded(side: str) -> list[float]:
        return [run["loaded_ms"] if run["loaded_ms"] is not None else float("inf") for run in out.runs[side]]

    complete = all(run["loaded"] == run["sessions"] == sessions for run in out.runs["mirror"])
    opening, after = values("mirror", "opening"), values("mirror", "after")
    label = f"3. {sessions} mirrored sessions ({servers} servers) opened at once, busy build"
    rows = [
        bl.timed_row(
            f"{label}: longest GUI stall, `start` → all loaded",
            opening,
            "< 50 ms",
            values("local", "opening"),
            bl.verdict(bool(opening) and max(opening) < STALL_TARGET_MS and complete),
        ),
        bl.timed_row(
            f"{label}: longest GUI stall, the 5 s after",
            after,
            "< 50 ms",
            values("local", "after"),
            bl.verdict(bool(after) and max(after) < STALL_TARGET_MS),
        ),
        bl.timed_row(
            f"{label}: (info) longest stall less its run-queue wait, `start` → all loaded",
            own("mirror", "opening"),
            "-",
            own("local", "opening"),
            "info",
        ),
        bl.timed_row(
            f"{label}: (info) same, the 5 s after", own("mirror", "after"), "-", own("local", "after"), "info"
        ),
        bl.timed_row(f"{label}: (info) `start` → all loaded", loaded("mirror"), "-", loaded("local"), "info"),
    ]
    notes = [f"3. {side} run {i + 1}: {summary_of_open(run)}" for side in SIDES for i, run in enumerate(out.runs[side])]
    notes += [
        f"3. {side} worst stalls [s after start, ms, GUI CPU ms, run-queue ms]: "
        + "; ".join(str(run["opening"]["worst"][:3]) for run in out.runs[side])
        for side in SIDES
    ]
    notes.append(f"3. busy writer: {out.writer}")
    return rows, notes


# ---------------------------------------------------------------------------- main


async def run(args: argparse.Namespace, tmp: Path) -> tuple[list[bl.Row], list[str]]:
    rows: list[bl.Row] = []
    notes: list[str] = []
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM cancels the run like Ctrl-C does, so the children are stopped and the temp folder removed.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with children(tmp / "logs", args.tree) as kids:
        if "latency" in args.only:
            more_rows, more_notes = latency_rows(await measure_latency(kids, tmp, args))
            rows, notes = rows + more_rows, notes + more_notes
        if "burst" in args.only:
            more_rows, more_notes = burst_rows(await measure_burst(kids, tmp, args), args.burst_features)
            rows, notes = rows + more_rows, notes + more_notes
        if "many" in args.only:
            more_rows, more_notes = many_rows(await measure_many(kids, tmp, args), args.sessions, args.servers)
            rows, notes = rows + more_rows, notes + more_notes
    return rows, notes


def tree_version(tree: Path) -> str:
    """The commit the measured code is at, `-dirty` when its files differ from it."""
    found = subprocess.run(["git", "-C", str(tree), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="latency,burst,many", help="comma-separated: latency,burst,many")
    parser.add_argument("--writes", type=int, default=200, help="1: measured registry writes")
    parser.add_argument("--warmup", type=int, default=5, help="1: writes before the measured ones")
    parser.add_argument("--alone", type=int, default=100, help="1: writes measured with the mirror window alone")
    parser.add_argument("--rounds", type=int, default=5, help="2: bursts")
    parser.add_argument("--burst-features", type=int, default=10_000, help="2: features in the registry")
    parser.add_argument("--settle", type=float, default=1.5, help="2: seconds measured after a burst is shown")
    parser.add_argument("--opens", type=int, default=2, help="3: windows opening every session, per side")
    parser.add_argument("--sessions", type=int, default=30, help="3: sessions, spread over --servers")
    parser.add_argument("--servers", type=int, default=3, help="3: serve processes")
    parser.add_argument("--many-features", type=int, default=200, help="3: features in each project's registry")
    parser.add_argument("--busy-tick-ms", type=float, default=20.0, help="3: the busy build's tick")
    parser.add_argument("--tree", type=Path, default=bl.REPO, help="the code to measure (a work tree or checkout)")
    parser.add_argument("--profile", type=Path, help="a folder: a cProfile of each window child's GUI thread")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    args.tree = args.tree.resolve()
    if not (args.tree / "buildrunner_gui" / "__init__.py").exists():
        parser.error(f"no buildrunner_gui package in {args.tree}")
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = parse_args()
    load = bl.MachineLoad()
    bl.print_header("bench_mirror", "mirror mode you can trust (issue 10): a mirrored window against a local one")
    print(f"code measured: {args.tree} at {tree_version(args.tree)}")
    with bl.temp_dir("bench-mirror-") as tmp:
        try:
            rows, notes = asyncio.run(run(args, tmp))
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise SystemExit("stopped; every child process has ended") from None
    bl.print_table("Mirror mode (issue 10): the mirror window, baseline = a local window in the same run", rows)
    for note in notes:
        print(f"  {note}")
    print(load.report())


if __name__ == "__main__":
    main()
