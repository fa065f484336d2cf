"""Issue 8, "One state, every sink": the session store against the landed code (commit 88c8a52), same run.

The landed code runs from a git worktree (default /tmp/landed; make it with
`git worktree add /tmp/landed 88c8a52`, remove it with `git worktree remove --force /tmp/landed`). Every
measure runs each code in its own child process with PYTHONPATH pointing at that code.

1. Mirror store: a store that loaded an upstream `status` gets feature_update frames (decoded JSON dicts):
   ours `UpstreamFollower.take_event` + `SessionStore.publish` in batches of 100 (the mirror client's batching)
   and one by one; landed `MirrorState.apply` per frame (`_store_apply.py`). 10,000 updates onto a
   2,000-feature status (target < 100 ms) and 2,000 new features onto an empty one.
2. 200 clients reconnecting at once during a busy build: a server child (`_serve_variant.py` of each code) on
   a project with 2,000 features, a 60 KB document and a terminal of 1,000 long lines (its snapshot exceeds
   1 MiB uncapped), fed by a writer process (`_store_writer.py`: a checkpoint or registry change every 20 ms,
   two 1,200-character log lines each time). 200 clients connect at once, read `connection` and `status`, stay
   for a moment and leave; several waves. Targets: the GUI loop's longest stall (a 5 ms QTimer on the loop that
   owns the stores) < 50 ms, every `status` <= 1 MiB.
3. File write -> all of 100 clients, p99: ours, the landed server and a minimal pipeline (`_minimal_pipeline.py`:
   watchdog -> json.loads -> websockets.broadcast of the raw text, qasync), all running, writes alternating.
   Target: ours' p99 within 2x the minimal pipeline's. A fourth server (ours, clients subscribed to `checkpoints`
   only) shows ours when each client gets one frame per write, as the minimal pipeline's do.

Run: .venv/bin/python bench/bench_store.py [--landed /tmp/landed] [--only apply,reconnect,fanout]
     [--runs 20] [--landed-runs 2] [--rounds 2] [--waves 3] [--landed-waves 1] [--clients 200] [--writes 200]
     (about 2.5 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _benchlib as bl
from _store_net import REPO, ChildServer, Reconnector, Writer, child_env
from _store_writer import make_busy_project
from bench_server import (
    SETTLE_S,
    Hub,
    Series,
    close_clients,
    connect_clients,
    make_project,
    measured_write,
    raise_fd_limit,
    series_row,
    write_checkpoint,
)

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
APPLY_TARGET_MS = 100.0
STALL_TARGET_MS = 50.0
RATIO_TARGET = 2.0
EPOCH = "upstream-epoch"
STATUS_SEQ = 5_000


# ---------------------------------------------------------------------------- 1. the mirror store


def item(index: int, status: str, progress: float) -> dict[str, Any]:
    metadata = {"priority": "high", "description": f"feature {index} of the benchmark build"}
    return {
        "id": f"feat-{index:04d}",
        "name": f"Feature {index}",
        "status": status,
        "raw_status": status,
        "progress": progress,
        "metadata": metadata,
    }


def upstream_status(features: int, terminal_lines: int = 0) -> dict[str, Any]:
    """An upstream `status` message: `features` pending features, and optionally a terminal of long lines."""
    stats = {"total": features, "completed": 0, "in_progress": 0, "pending": features, "failed": 0}
    no_items = {"total": 0, "completed": 0, "in_progress": 0, "pending": 0, "failed": 0, "completion_percentage": 0.0}
    line = "compiling module and linking objects ... " * 25
    state = {
        "project": {"name": "bench", "alias": None, "path": "/bench"},
        "source": {"kind": "local"},
        "status": "in_progress",
        "last_change": None,
        "progress": {"total": 0, "completed": 0, "percent": 0.0, "status": "in_progress"}
        | {"tasks_completed": 0, "files_created": 0},
        "component_stats": no_items,
        "feature_stats": {**stats, "completion_percentage": 0.0},
        "components": [],
        "features": [item(i, "pending", 0.0) for i in range(features)],
        "checkpoints": [],
        "terminal": [
            {"output": f"{i:04d} {line}", "output_type": "stdout", "source": "log:build.log", "timestamp": "x"}
            for i in range(terminal_lines)
        ],
        "files": [],
        "errors": [],
        "documents": [],
        "artifacts": [],
    }
    return {"type": "status", "session_id": "up", "epoch": EPOCH, "seq": STATUS_SEQ, "timestamp": "x", "state": state}


def update_frames(count: int, distinct: int) -> list[str]:
    """`count` feature_update frames (JSON text) over `distinct` features, round robin, each a new status."""
    frames = []
    for k in range(count):
        status = ("in_progress", "completed", "pending")[k % 3]
        body = item(k % distinct, status, float(k % 101))
        message = {"type": "feature_update", "session_id": "up", "epoch": EPOCH, "seq": STATUS_SEQ + 1 + k}
        message |= {"timestamp": "2026-11-25T12:00:00Z", "feature_id": body.pop("id"), **body, "removed": False}
        frames.append(json.dumps(message))
    return frames


def run_apply_child(scenario: Path, code: str, package_root: Path, runs: int, measure: str = "apply") -> dict[str, Any]:
    argv = [sys.executable, str(HERE / "_store_apply.py"), str(scenario), "--code", code, "--runs", str(runs)]
    argv += ["--measure", measure]
    done = subprocess.run(argv, env=child_env(package_root), capture_output=True, text=True, check=True, timeout=150)
    result = json.loads(done.stdout)
    if not result["module"].startswith(str(package_root)):
        raise RuntimeError(f"{code} imported {result['module']}, not the code under {package_root}")
    return result


def measure_apply(tmp: Path, landed: Path, runs: int, landed_runs: int) -> tuple[list[bl.Row], list[str]]:
    scenarios = {
        "10k": (upstream_status(2_000), update_frames(10_000, 2_000)),
        "2k": (upstream_status(0), update_frames(2_000, 2_000)),
        "frame": (upstream_status(2_000, terminal_lines=1_000), update_frames(40, 2_000)),
    }
    paths = {}
    for name, (status, frames) in scenarios.items():
        paths[name] = tmp / f"scenario-{name}.json"
        paths[name].write_text(json.dumps({"status": status, "frames": frames}))
    ms: dict[tuple[str, str], list[float]] = {}
    digests: dict[tuple[str, str], str] = {}
    for name in ("10k", "2k"):
        for code in ("ours-batched", "ours-single", "landed"):
            root, count = (landed, landed_runs if name == "10k" else 5) if code == "landed" else (REPO, runs)
            result = run_apply_child(paths[name], code, root, count)
            ms[name, code] = bl.ns_to_ms(result["samples_ns"])
            digests[name, code] = result["digest"]
    frame = {
        code: run_apply_child(paths["frame"], code, root, 40, "status-frame")
        for code, root in (("ours-batched", REPO), ("landed", landed))
    }

    def row(measure: str, name: str, code: str, target: str, limit: float | None) -> bl.Row:
        own = bl.Summary.of(ms[name, code])
        passed = None if limit is None else own.median < limit and own.p99 < limit
        return bl.timed_row(measure, ms[name, code], target, ms[name, "landed"], bl.verdict(passed))

    rows = [
        row(
            "1. 10,000 feature updates onto a 2,000-feature status, batches of 100",
            "10k",
            "ours-batched",
            "< 100 ms",
            APPLY_TARGET_MS,
        ),
        row("1. (info) same, one frame per publish", "10k", "ours-single", "-", None),
        row("1. (info) 2,000 new features onto an empty status, batches of 100", "2k", "ours-batched", "-", None),
        row("1. (info) same, one frame per publish", "2k", "ours-single", "-", None),
        bl.timed_row(
            f"1. (info) status frame for a client, {frame['ours-batched']['size'] / MIB:.2f} MiB "
            f"(landed {frame['landed']['size'] / MIB:.2f} MiB): ours once per seq, landed per client",
            bl.ns_to_ms(frame["ours-batched"]["samples_ns"]),
            "-",
            bl.ns_to_ms(frame["landed"]["samples_ns"]),
            "info",
        ),
    ]
    notes = [
        f"mirror store, final features identical in all three ({name}): "
        f"{len({digests[name, code] for code in ('ours-batched', 'ours-single', 'landed')}) == 1}"
        for name in ("10k", "2k")
    ]
    return rows, notes


# ---------------------------------------------------------------------------- 2. reconnect waves


async def wait_for_clients(server: ChildServer, count: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while True:
        clients = (await server.command("stats"))["clients"]
        if clients == count or time.monotonic() > deadline:
            return clients
        await asyncio.sleep(0.1)


async def reconnect_run(tmp: Path, name: str, root: Path, waves: int, clients: int, out: dict[str, Any]) -> None:
    """One server of one code, a busy build, `waves` waves of `clients` clients connecting at once."""
    project = make_busy_project(tmp / f"busy-{name}-{time.perf_counter_ns()}")
    server = ChildServer.serve_variant(name, root, project)
    writer = Writer(project, tick_ms=20)
    await server.start()
    try:
        await writer.start()
        await asyncio.sleep(2.0)  # the terminal's last fill reads and a few busy ticks
        await server.command("reset")
        await asyncio.sleep(2.0)
        out["idle_stall"].append((await server.command("stats"))["max_stall_ms"])
        for _ in range(waves):
            await server.command("reset")
            wave = [Reconnector() for _ in range(clients)]
            start = time.perf_counter_ns()
            await asyncio.wait_for(asyncio.gather(*(c.run(server.url, start) for c in wave)), 90)
            all_ms = (time.perf_counter_ns() - start) / 1e6
            await asyncio.sleep(0.3)
            stats = await server.command("stats")
            out["stall"].append(stats["max_stall_ms"])
            out["stall_cpu"].append(stats["max_stall_cpu_ms"])
            out["over_50"].append(stats["stalls_over_50ms"])
            out["all_ms"].append(all_ms)
            out["sizes"] += [c.status_bytes for c in wave if not c.error]
            out["status_ms"] += [c.status_ms for c in wave]
            out["in_order"] += sum(c.in_order for c in wave)
            out["errors"] += [c.error for c in wave if c.error]
            out["max_frame"] += [c.max_frame for c in wave if c.max_frame is not None]
            await asyncio.gather(*(c.close() for c in wave))
            left = await wait_for_clients(server, 0)
            if left:
                out["errors"].append(f"{left} clients still counted after closing")
            await asyncio.sleep(0.5)
    finally:
        out["writer"].append(await writer.stop())
        await server.stop()


def empty_out() -> dict[str, Any]:
    keys = ("idle_stall", "stall", "stall_cpu", "over_50", "all_ms", "sizes", "status_ms", "errors", "max_frame")
    return {**{key: [] for key in keys}, "in_order": 0, "writer": []}


async def measure_reconnects(
    tmp: Path, landed: Path, rounds: int, waves: int, landed_waves: int, clients: int
) -> dict[str, Any]:
    results = {"ours": empty_out(), "landed": empty_out()}
    for _ in range(rounds):  # the two codes alternate, so both see the machine's noise
        for name, root, count in (("ours", REPO, waves), ("landed", landed, landed_waves)):
            load = bl.MachineLoad()
            await reconnect_run(tmp, name, root, count, clients, results[name])
            print(f"[reconnect waves, {name}] {load.report()}", flush=True)
    return results


def reconnect_rows(results: dict[str, Any], clients: int) -> tuple[list[bl.Row], list[str]]:
    ours, landed = results["ours"], results["landed"]
    sizes_mib = [size / MIB for size in ours["sizes"]]
    landed_mib = [size / MIB for size in landed["sizes"]]
    total = len(ours["status_ms"])
    ok = not ours["errors"] and len(ours["sizes"]) == total and ours["in_order"] == total
    rows = [
        series_row(
            f"2. {clients} clients reconnect at once, busy build: GUI loop's longest stall per wave",
            ours["stall"],
            "< 50 ms",
            landed["stall"],
            bool(ours["stall"]) and max(ours["stall"]) < STALL_TARGET_MS,
        ),
        series_row(
            f"2. `status` frame size, every client of every wave ({sum(s > MIB for s in landed['sizes'])} of "
            f"{len(landed['sizes'])} landed over 1 MiB)",
            sizes_mib,
            "<= 1 MiB",
            landed_mib,
            bool(sizes_mib) and max(sizes_mib) <= 1.0 and ok,
            unit="MiB",
        ),
        series_row(
            "2. (info) wave start → a client's `status` received", ours["status_ms"], "-", landed["status_ms"], None
        ),
        series_row(
            "2. (info) wave start → all clients have their `status`", ours["all_ms"], "-", landed["all_ms"], None
        ),
        series_row(
            "2. (info) GUI thread's own CPU in the longest stall", ours["stall_cpu"], "-", landed["stall_cpu"], None
        ),
        series_row(
            "2. (info) longest stall, busy build with no client connecting (2 s)",
            ours["idle_stall"],
            "-",
            landed["idle_stall"],
            None,
        ),
    ]
    notes = [
        f"reconnect {name}: {results[name]['in_order']} of {len(results[name]['status_ms'])} clients got "
        f"`connection` then `status`; errors {results[name]['errors'][:5]}; stalls over 50 ms per wave "
        f"{results[name]['over_50']}; per-wave longest stall {[round(v, 1) for v in results[name]['stall']]} ms; "
        f"connection.max_frame {sorted(set(results[name]['max_frame']))}; writer {results[name]['writer']}"
        for name in ("ours", "landed")
    ]
    return rows, notes


# ---------------------------------------------------------------------------- 3. write -> 100 clients


# Each server of the fan-out: (its code, the topics its clients subscribe to, or None for all). The `-cp` servers'
# clients subscribe to `checkpoints` only, so they get one frame per write, as the minimal pipeline's clients do.
FANOUT_SIDES = {
    "ours": ("ours", None),
    "minimal": ("minimal", None),
    "landed": ("landed", None),
    "ours-cp": ("ours", ["checkpoints"]),
}
MARKERS = {  # how each code's frame for checkpoint write N is recognised: (marker, prefix)
    "ours": ('"phase":"build_live_{:05d}"', '{"type":"checkpoint_update"'),
    "landed": ('"phase":"build_live_{:05d}"', '{"type":"checkpoint_update"'),
    "minimal": ('"phase": "build_live_{:05d}"', '{"id": "live"'),
}


async def fanout_server(tmp: Path, landed: Path, name: str, clients: int) -> tuple[ChildServer, Path, Hub]:
    code, topics = FANOUT_SIDES[name]
    project = make_project(tmp / f"fanout-{name}")
    if code == "minimal":
        server = ChildServer.minimal(project)
    else:
        server = ChildServer.serve_variant(name, REPO if code == "ours" else landed, project)
    hub = Hub()
    await server.start()
    await connect_clients(hub, server.url, clients)
    if topics is not None:
        for client in hub.clients:
            assert client.ws is not None
            await client.ws.send(json.dumps({"type": "subscribe", "topics": topics}))
    return server, project, hub


async def measure_fanout(tmp: Path, landed: Path, writes: int, clients: int) -> dict[str, Series]:
    """All servers run at once, each with its clients; checkpoint writes alternate between them."""
    sides: dict[str, tuple[ChildServer, Path, Hub]] = {}
    try:
        for name in FANOUT_SIDES:
            sides[name] = await fanout_server(tmp, landed, name, clients)
        await asyncio.sleep(0.5)  # the `subscribed` answers
        series = {name: Series() for name in sides}
        for index in range(1, writes + 6):
            for name, (_, project, hub) in sides.items():
                marker, prefix = MARKERS[FANOUT_SIDES[name][0]]
                target = series[name] if index > 5 else Series()  # the first five writes warm up
                await measured_write(
                    hub, marker.format(index), prefix, lambda p=project, i=index: write_checkpoint(p, i), target
                )
                await asyncio.sleep(SETTLE_S)
        return series
    finally:
        for server, _, hub in sides.values():
            await server.stop()
            await close_clients(hub.clients)


def fanout_rows(series: dict[str, Series], clients: int) -> tuple[list[bl.Row], list[str]]:
    summary = {name: bl.Summary.of(values.last_ms) for name, values in series.items()}
    minimal = summary["minimal"]

    def ratios(name: str) -> str:
        return f"{summary[name].median / minimal.median:.2f}x / {summary[name].p99 / minimal.p99:.2f}x"

    limit = RATIO_TARGET * minimal.p99
    rows = [
        series_row(
            f"3. file write → all of {clients} clients (last client), ours; all topics (ratio {ratios('ours')})",
            series["ours"].last_ms,
            f"p99 <= 2x minimal = {limit:.1f} ms",
            series["minimal"].last_ms,
            summary["ours"].p99 <= limit and not series["ours"].lost,
        ),
        series_row(
            f"3. same, landed 88c8a52 (ratio {ratios('landed')})",
            series["landed"].last_ms,
            "-",
            series["minimal"].last_ms,
            None,
        ),
        series_row(
            f"3. (info) ours, subscribed to `checkpoints` only: one frame per write (ratio {ratios('ours-cp')})",
            series["ours-cp"].last_ms,
            "-",
            series["minimal"].last_ms,
            None,
        ),
    ]
    lost = {name: values.lost for name, values in series.items()}
    notes = [f"fan-out: ratios are median / p99 against the minimal pipeline; (write, client) pairs lost {lost}"]
    return rows, notes


# ---------------------------------------------------------------------------- main


def landed_commit(landed: Path) -> str:
    found = subprocess.run(["git", "-C", str(landed), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


async def run_network(args: argparse.Namespace, tmp: Path) -> tuple[list[bl.Row], list[str]]:
    rows: list[bl.Row] = []
    notes: list[str] = []
    if "reconnect" in args.only:
        results = await measure_reconnects(tmp, args.landed, args.rounds, args.waves, args.landed_waves, args.clients)
        more_rows, more_notes = reconnect_rows(results, args.clients)
        rows, notes = rows + more_rows, notes + more_notes
    if "fanout" in args.only:
        load = bl.MachineLoad()
        series = await measure_fanout(tmp, args.landed, args.writes, 100)
        print(f"[fan-out] {load.report()}", flush=True)
        more_rows, more_notes = fanout_rows(series, 100)
        rows, notes = rows + more_rows, notes + more_notes
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landed", type=Path, default=Path("/tmp/landed"), help="worktree of commit 88c8a52")
    parser.add_argument("--only", default="apply,reconnect,fanout", help="comma-separated: apply,reconnect,fanout")
    parser.add_argument("--runs", type=int, default=20, help="runs of ours per mirror-store measure")
    parser.add_argument("--landed-runs", type=int, default=2, help="runs of landed's 10,000 updates (~10 s each)")
    parser.add_argument("--rounds", type=int, default=2, help="reconnect rounds (a fresh server per code each)")
    parser.add_argument("--waves", type=int, default=3, help="reconnect waves per round (ours)")
    parser.add_argument("--landed-waves", type=int, default=1, help="reconnect waves per round (landed: ~15 s each)")
    parser.add_argument("--clients", type=int, default=200, help="clients per reconnect wave")
    parser.add_argument("--writes", type=int, default=200, help="measured writes per server (fan-out)")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    if not (args.landed / "buildrunner_gui" / "model" / "mirror_state.py").exists():
        sys.exit(f"no landed code at {args.landed}: git worktree add {args.landed} 88c8a52")

    raise_fd_limit(4 * args.clients + 1000)
    load = bl.MachineLoad()
    bl.print_header("bench_store", "one state, every sink (issue 8): ours against the landed code")
    print(f"landed: commit {landed_commit(args.landed)} at {args.landed}")
    rows: list[bl.Row] = []
    notes: list[str] = []
    with bl.temp_dir("bench-store-") as tmp:
        if "apply" in args.only:
            step = bl.MachineLoad()
            rows, notes = measure_apply(tmp, args.landed, args.runs, args.landed_runs)
            print(f"[mirror store] {step.report()}", flush=True)
        more_rows, more_notes = asyncio.run(run_network(args, tmp))
    bl.print_table("one state, every sink: ours (baseline: landed 88c8a52, or the minimal pipeline)", rows + more_rows)
    for note in notes + more_notes:
        print(f"  {note}")
    print(load.report())


if __name__ == "__main__":
    main()
