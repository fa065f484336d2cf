"""Attack: a process registering aliases is killed with SIGKILL at random points, again and again.

Each round starts a writer (a real process registering aliases in a loop, and now and then removing one), kills it
at a random moment within its registrations, and then starts the program the way a user next would — alternately
`buildrunner-gui aliases list` as a real process and `registry.list_aliases()` in this process. After that start,
`projects.json` and `aliases.json` must be valid JSON listing the same aliases with the same paths, and no
temporary file or journal may be left. The table says what the kills left behind and what the starts repaired.
Exit status 1 on any inconsistency or leftover, else 0. Everything happens in a temporary BUILDRUNNER_HOME.

Run: .venv/bin/python bench/attack_registry.py [--kills 200] [--seed 1] [--max-delay-ms 30]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import _benchlib as bl

from buildrunner_gui.project import registry

WRITER = """
import sys
from buildrunner_gui.project import registry
tag = sys.argv[1]
print("ready", flush=True)
i = 0
while True:
    registry.register(f"{tag}-{i}", f"/projects/{tag}/{i}")
    if i % 3 == 2:
        registry.unregister(f"{tag}-{i - 1}")
    i += 1
"""
OURS = {registry.PROJECTS_FILE, registry.ALIASES_FILE, registry.LOCK_FILE}


@dataclass
class Tally:
    kills: int = 0
    out_of_step_before: int = 0  # the kill left one file with an alias the other lacks
    journal_before: int = 0
    temps_before: int = 0  # temporary files the kills left
    consistent_after: int = 0
    temps_after: int = 0
    journal_after: int = 0
    notices: int = 0  # one-line repair notices the starts gave
    failures: int = 0


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def start_writer(tag: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, tag], cwd=bl.REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    if not ready or process.stdout.readline().strip() != "ready":
        process.kill()
        raise SystemExit(f"the writer did not start: {process.communicate(timeout=30)[1]}")
    return process


def read_state(home: Path) -> tuple[dict[str, str] | None, dict[str, str] | None, set[str]]:
    """(alias -> path per file, None if it does not parse), and the names beyond ours in the folder."""

    def parse(name: str, paths_of: object) -> dict[str, str] | None:
        path = home / name
        if not path.exists():
            return {}
        try:
            value = json.loads(path.read_text())
            return {alias: paths_of(entry) for alias, entry in value.items()}  # type: ignore[operator]
        except (ValueError, AttributeError, TypeError, KeyError):
            return None

    projects = parse(registry.PROJECTS_FILE, lambda entry: entry["path"])
    aliases = parse(registry.ALIASES_FILE, lambda entry: entry)
    extra = {path.name for path in home.iterdir()} - OURS if home.exists() else set()
    return projects, aliases, extra


def next_start(home: Path, number: int, counter: Counter) -> int:
    """Start the program once; returns how many repair notices it gave."""
    if number % 2 == 0:
        result = subprocess.run(
            [sys.executable, "-m", "buildrunner_gui", "aliases", "list"],
            cwd=bl.REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "BUILDRUNNER_HOME": str(home)},
        )
        if result.returncode != 0 or "Traceback" in result.stderr:
            print(f"kill {number}: aliases list failed ({result.returncode}): {result.stderr.strip()}")
            return -1
        return sum("repaired the alias registry" in line for line in result.stderr.splitlines())
    counter.lines.clear()
    registry.list_aliases()
    return sum("repaired the alias registry" in line for line in counter.lines)


def attack(home: Path, kills: int, rng: random.Random, max_delay: float) -> Tally:
    tally = Tally()
    counter = Counter()
    logging.getLogger(registry.__name__).addHandler(counter)
    for number in range(kills):
        process = start_writer(f"k{number}")
        select.select([], [], [], rng.uniform(0, max_delay))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        tally.kills += 1
        projects, aliases, extra = read_state(home)
        tally.out_of_step_before += projects != aliases
        tally.journal_before += registry.JOURNAL_FILE in extra
        tally.temps_before += sum(name.endswith(".tmp") for name in extra)
        notices = next_start(home, number, counter)
        tally.notices += max(notices, 0)
        projects, aliases, extra = read_state(home)
        consistent = projects is not None and projects == aliases and notices >= 0
        tally.consistent_after += consistent
        tally.temps_after += sum(name.endswith(".tmp") for name in extra)
        tally.journal_after += registry.JOURNAL_FILE in extra
        if not consistent or extra:
            tally.failures += 1
            print(f"kill {number}: consistent={consistent} left={sorted(extra)}")
    return tally


def print_tally(tally: Tally, aliases_left: int) -> None:
    rows = [
        ("kills", tally.kills),
        ("kills that left the files out of step", tally.out_of_step_before),
        ("kills that left a journal", tally.journal_before),
        ("temporary files the kills left", tally.temps_before),
        ("consistent after the next start", tally.consistent_after),
        ("temporary files left after the next start", tally.temps_after),
        ("journals left after the next start", tally.journal_after),
        ("repair notices given", tally.notices),
        ("aliases registered at the end", aliases_left),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\n| {'what'.ljust(width)} | count |\n|{'-' * (width + 2)}|-------|")
    for name, count in rows:
        print(f"| {name.ljust(width)} | {count:>5} |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay-ms", type=float, default=30.0, help="kill within this long after the start")
    args = parser.parse_args()
    bl.print_header("attack_registry", f"{args.kills} SIGKILLs of a registering process (seed {args.seed})")
    load = bl.MachineLoad()
    with bl.temp_dir("attack-registry-") as root:
        home = root / "brhome"
        os.environ["BUILDRUNNER_HOME"] = str(home)
        tally = attack(home, args.kills, random.Random(args.seed), args.max_delay_ms / 1000)
        projects, _, _ = read_state(home)
        print_tally(tally, len(projects or {}))
    print(load.report())
    bad = tally.failures or tally.consistent_after != tally.kills
    print(
        "FAIL: the registry was left inconsistent or with leftovers" if bad else "OK: every start found it consistent"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
