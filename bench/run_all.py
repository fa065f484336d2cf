"""Run every benchmark script in turn, each in its own process, and print their tables.

Run: .venv/bin/python bench/run_all.py [name ...]   (names: status registry watch_latency burst server store;
     default all; `store` needs the landed worktree, see bench_store.py)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("status", "registry", "watch_latency", "burst", "server", "store")


def run(name: str) -> int:
    script = HERE / f"bench_{name}.py"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    start = time.perf_counter_ns()
    result = subprocess.run([sys.executable, str(script)], env=env, check=False)
    seconds = (time.perf_counter_ns() - start) / 1e9
    print(f"[{script.name}: exit {result.returncode}, {seconds:.1f} s]\n", flush=True)
    return result.returncode


def main() -> int:
    names = sys.argv[1:] or list(SCRIPTS)
    unknown = [name for name in names if name not in SCRIPTS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}", file=sys.stderr)
        return 2
    failures = [name for name in names if run(name) != 0]
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
