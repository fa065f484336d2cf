"""A writer killed with SIGKILL at random points: the next start finds both registry files in step, no temp files.

A real process registers (and now and then unregisters) aliases in a loop and is killed at a random moment; then
the next reader — the CLI, or one of the registry's read functions — must leave `projects.json` and
`aliases.json` listing the same aliases with the same paths, both valid JSON, and nothing else of ours behind.
"""

from __future__ import annotations

import json
import logging
import os
import random
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from buildrunner_gui.project import registry

REPO = Path(__file__).resolve().parents[2]
KILLS = 40
MAX_DELAY = 0.03  # seconds after the writer says it is ready: a few registrations, killed anywhere within them
OURS = {registry.PROJECTS_FILE, registry.ALIASES_FILE, registry.LOCK_FILE}  # what may stay in the folder

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


def start_writer(tag: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, tag], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    if not ready or process.stdout.readline().strip() != "ready":
        process.kill()
        _, stderr = process.communicate(timeout=30)
        pytest.fail(f"the writer did not start: {stderr}")
    return process


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the writer stopped before it was killed"


def folder_state(home: Path) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(alias -> path in projects.json, alias -> path in aliases.json, names beyond ours), read as raw JSON."""
    projects = json.loads((home / registry.PROJECTS_FILE).read_text()) if (home / "projects.json").exists() else {}
    aliases = json.loads((home / registry.ALIASES_FILE).read_text()) if (home / "aliases.json").exists() else {}
    return (
        {alias: entry["path"] for alias, entry in projects.items()},
        dict(aliases),
        {path.name for path in home.iterdir()} - OURS,
    )


def is_clean(home: Path) -> bool:
    projects, aliases, extra = folder_state(home)
    return projects == aliases and not extra


def cli_start(home: Path) -> None:
    """The next start as the user meets it: `aliases list`, a real process; one notice line at most."""
    result = subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", "aliases", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BUILDRUNNER_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 1, result.stderr


STARTS: list[Callable[[Path], object]] = [
    lambda home: registry.list_aliases(),
    lambda home: registry.registered_aliases(),
    lambda home: registry.read_snapshot(),
    lambda home: registry.alias_for_path(home),
]


def test_a_writer_killed_anywhere_leaves_a_consistent_registry_after_the_next_start(
    br_home: Path, caplog: pytest.LogCaptureFixture
):
    rng = random.Random(20240611)
    caplog.set_level(logging.WARNING, logger=registry.__name__)
    interrupted = 0  # kills that left the folder mid-change (proof that the test hits the window it is about)
    written = 0
    for number in range(KILLS):
        process = start_writer(f"k{number}")
        # Wait for a random moment within the writer's registrations, then kill it there.
        select.select([], [], [], rng.uniform(0, MAX_DELAY))
        kill(process)
        if not br_home.exists():
            continue
        before_projects, before_aliases, _ = folder_state(br_home)
        out_of_step = before_projects != before_aliases
        dirty = out_of_step or not is_clean(br_home)
        interrupted += dirty
        caplog.clear()
        if number % 10 == 9:
            cli_start(br_home)
        else:
            STARTS[number % len(STARTS)](br_home)
        projects, aliases, extra = folder_state(br_home)  # both must parse
        context = f"kill {number} (dirty before: {dirty})"
        assert set(projects) == set(aliases), f"{context}: {set(projects) ^ set(aliases)} in one file only"
        assert projects == aliases, f"{context}: the files disagree about paths"
        assert not extra, f"{context}: left behind {sorted(extra)}"
        if out_of_step and number % 10 != 9:  # a repair says so, in one line
            notices = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
            assert len(notices) == 1 and "\n" not in notices[0], f"{context}: notices {notices}"
        written = len(projects)
    assert written > 0, "nothing was ever registered: the writer never got going"
    assert interrupted > 0, "no kill landed mid-change: the test did not exercise what it is about"
