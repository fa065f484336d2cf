"""Issue 15: the feeds for other tools, `/metrics` and `/cctray.xml`, answered by a real `serve` with 30 sessions.

Each request is a new HTTP connection (the server answers `Connection: close`), timed from connect to the last
byte, against `/healthz` on the same server (the cost of a connection and a trivial answer).

Run: .venv/bin/python bench/bench_feeds.py [--sessions 30] [--runs 200]
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _benchlib as bl

bl.use_offscreen_qt()

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "fixtures" / "br3-sample"
TARGET_MS = 100.0  # a tenth of the shortest scrape timeout a config is likely to set (1 s)


def fetch_ns(port: int, path: str) -> int:
    start = time.perf_counter_ns()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    connection.close()
    elapsed = time.perf_counter_ns() - start
    assert answer.status == 200, (path, answer.status)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    load = bl.MachineLoad()
    bl.print_header("bench_feeds", f"/metrics and /cctray.xml with {args.sessions} sessions (issue 15)")
    with bl.temp_dir("bench-feeds-") as root:
        projects = []
        for index in range(args.sessions):
            target = root / f"project-{index:02d}"
            shutil.copytree(SAMPLE, target, symlinks=True)
            projects.append(str(target))
        serve = subprocess.Popen(
            [sys.executable, "-m", "buildrunner_gui", "serve", *projects, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert serve.stdout is not None
            lines = [serve.stdout.readline() for _ in range(args.sessions)]
            port = int(lines[0].split(":")[2].split("/")[0])
            samples = {}
            for path in ("/healthz", "/metrics", "/cctray.xml"):
                for _ in range(10):
                    fetch_ns(port, path)  # warm-up
                samples[path] = bl.ns_to_ms([fetch_ns(port, path) for _ in range(args.runs)])
        finally:
            serve.terminate()
            serve.wait(timeout=15)
    rows = [
        bl.timed_row(
            f"GET {path}, {args.sessions} sessions",
            samples[path],
            f"< {TARGET_MS:.0f} ms",
            samples["/healthz"],
            bl.verdict(bl.Summary.of(samples[path]).p99 < TARGET_MS),
        )
        for path in ("/metrics", "/cctray.xml")
    ]
    bl.print_table("feeds for other tools", rows)
    print(load.report())


if __name__ == "__main__":
    main()
