"""Issue measure 1: `status --json` on the full real `.buildrunner/` tree.

Whole process: `.venv/bin/buildrunner-gui status <proj> --json > /dev/null` (target < 1.5 s), against the start of a
bare interpreter (`.venv/bin/python -c pass`). In process: `read_once(Path)` + `.snapshot()` + `json.dumps`
(target < 300 ms), against a plain `os.walk` + `json.loads` of every `*.json` in the tree.

Run: .venv/bin/python bench/bench_status.py [--process-runs 20] [--inprocess-runs 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import _benchlib as bl

bl.use_offscreen_qt()

from buildrunner_gui.model.engine import SessionEngine  # noqa: E402
from buildrunner_gui.sources.oneshot import read_once  # noqa: E402
from buildrunner_gui.sources.reader import ProjectReader  # noqa: E402

PROCESS_TARGET_MS = 1500.0
INPROCESS_TARGET_MS = 300.0


def run_process_ns(argv: Sequence[str]) -> int:
    start = time.perf_counter_ns()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter_ns() - start


def time_process_ms(argv: Sequence[str], runs: int) -> list[float]:
    run_process_ns(argv)  # warm the page cache and the .pyc files
    return bl.ns_to_ms([run_process_ns(argv) for _ in range(runs)])


def status_json_in_process(project: Path) -> str:
    return json.dumps(read_once(project).snapshot(), ensure_ascii=False)


def walk_and_load_every_json(project: Path) -> int:
    """The baseline: the least any reader of this tree's JSON must do (no classification, no model)."""
    loaded = 0
    for folder, _dirs, files in os.walk(project):
        for name in files:
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    json.loads(handle.read())
                loaded += 1
            except (OSError, ValueError):
                continue
    return loaded


def breakdown_ms(project: Path, runs: int) -> dict[str, list[float]]:
    """Where the in-process time goes: the scan (I/O + parsing), engine.apply, snapshot + dumps."""
    parts: dict[str, list[int]] = {"scan": [], "apply": [], "snapshot": []}
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        inputs = ProjectReader(str(project)).scan()
        t1 = time.perf_counter_ns()
        engine = SessionEngine(project.name, project.name, str(project))  # as read_once builds it
        engine.apply(inputs)
        t2 = time.perf_counter_ns()
        json.dumps(engine.snapshot(), ensure_ascii=False)
        t3 = time.perf_counter_ns()
        parts["scan"].append(t1 - t0)
        parts["apply"].append(t2 - t1)
        parts["snapshot"].append(t3 - t2)
    return {name: bl.ns_to_ms(samples) for name, samples in parts.items()}


def describe_tree(project: Path) -> str:
    files = sum(len(names) for _folder, _dirs, names in os.walk(project))
    size = sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _dirs, names in os.walk(project)
        for name in names
        if not os.path.islink(os.path.join(folder, name))
    )
    snapshot = read_once(project).snapshot()
    counts = ", ".join(
        f"{key}={len(snapshot[key])}"
        for key in ("checkpoints", "features", "components", "documents", "artifacts", "terminal", "errors")
    )
    return f"tree: {files} files, {size / 1e6:.1f} MB; snapshot: {counts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process-runs", type=int, default=20)
    parser.add_argument("--inprocess-runs", type=int, default=50)
    args = parser.parse_args()

    load = bl.MachineLoad()
    bl.print_header("bench_status", "status --json on the real tree (issue measure 1)")
    with bl.temp_dir("bench-status-") as tmp:
        project = bl.unpack_real_tree(tmp)
        print(describe_tree(project))
        cli = [str(bl.VENV_BIN / "buildrunner-gui"), "status", str(project), "--json"]
        python = str(bl.VENV_BIN / "python")
        print("command:", " ".join(cli), "> /dev/null")

        process_ms = time_process_ms(cli, args.process_runs)
        bare_ms = time_process_ms([python, "-c", "pass"], args.process_runs)
        import_ms = time_process_ms(
            [python, "-c", "import buildrunner_gui.commands, buildrunner_gui.sources.oneshot"], args.process_runs
        )

        inproc_ms = bl.ns_to_ms(bl.time_calls_ns(lambda: status_json_in_process(project), args.inprocess_runs))
        walk_ms = bl.ns_to_ms(bl.time_calls_ns(lambda: walk_and_load_every_json(project), args.inprocess_runs))
        parts = breakdown_ms(project, max(10, args.inprocess_runs // 5))

    process = bl.Summary.of(process_ms)
    inproc = bl.Summary.of(inproc_ms)
    rows = [
        bl.timed_row(
            "status --json, whole process",
            process_ms,
            "< 1.5 s",
            bare_ms,
            bl.verdict(process.median < PROCESS_TARGET_MS and process.p99 < PROCESS_TARGET_MS),
        ),
        bl.timed_row("  (info) python -c 'import the status path'", import_ms, "-", bare_ms, "info"),
        bl.timed_row(
            "read_once + snapshot + json.dumps, in process",
            inproc_ms,
            "< 300 ms",
            walk_ms,
            bl.verdict(inproc.median < INPROCESS_TARGET_MS and inproc.p99 < INPROCESS_TARGET_MS),
        ),
    ]
    rows += [bl.timed_row(f"  (info) of which {name}", samples, "-", None, "info") for name, samples in parts.items()]
    bl.print_table("status --json on the real tree", rows)
    print("baselines: row 1-2 `.venv/bin/python -c pass`; row 3 os.walk + json.loads of every *.json in the tree")
    print(load.report())


if __name__ == "__main__":
    main()
