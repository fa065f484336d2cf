"""A writer killed at each step of a registry change, exactly there: what the next start finds and repairs.

The writer is a real process that really is SIGKILLed: it kills itself at the moment it is about to rename a
given file into place (or to remove the journal). Then `repair()`, a read, or the CLI completes the change.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from buildrunner_gui.project import registry

REPO = Path(__file__).resolve().parents[2]

KILLED_AT = """
import os, signal, sys
from pathlib import Path
from buildrunner_gui.project import registry
operation, point = sys.argv[1], sys.argv[2]

def die_at(name):
    return lambda path: os.path.basename(str(path)) == name and os.kill(os.getpid(), signal.SIGKILL)

real_replace, real_unlink = os.replace, os.unlink
def replace(src, dst):
    if point != "journal-removal":
        die_at(point)(dst)
    real_replace(src, dst)
def unlink(path, *args, **kwargs):
    if point == "journal-removal":
        die_at(registry.JOURNAL_FILE)(path)
    real_unlink(path, *args, **kwargs)

if operation == "register":
    os.replace, os.unlink = replace, unlink
    registry.register("x", "/p/x")
elif operation == "unregister":
    os.replace, os.unlink = replace, unlink
    registry.unregister("x")
else:
    registration = registry.register("x", "/p/x")
    os.replace, os.unlink = replace, unlink
    registry.undo_registration(registration)
sys.exit("not killed")
"""

POINTS = [registry.JOURNAL_FILE, registry.PROJECTS_FILE, registry.ALIASES_FILE, "journal-removal"]


def killed_writer(operation: str, point: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILLED_AT, operation, point], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -9, result.stderr


def aliases_in(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    def read(name: str) -> dict:
        return json.loads((home / name).read_text()) if (home / name).exists() else {}

    projects = {alias: entry["path"] for alias, entry in read(registry.PROJECTS_FILE).items()}
    return projects, read(registry.ALIASES_FILE)


def leftovers(home: Path) -> list[str]:
    return sorted(
        {p.name for p in home.iterdir()} - {registry.PROJECTS_FILE, registry.ALIASES_FILE, registry.LOCK_FILE}
    )


def seed(home: Path) -> None:
    """Someone else's aliases in both files, which every repair must keep."""
    home.mkdir(parents=True, exist_ok=True)
    entry = {"alias": "old", "path": "/p/old", "created": "2025-11-24T20:00:00", "editor": "cursor"}
    (home / registry.PROJECTS_FILE).write_text(json.dumps({"old": entry}))
    (home / registry.ALIASES_FILE).write_text(json.dumps({"old": "/p/old"}))


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("operation", ["register", "unregister", "undo"])
def test_a_writer_killed_at_each_step_is_repaired_at_the_next_start(br_home: Path, operation: str, point: str):
    seed(br_home)
    if operation == "unregister":
        registry.register("x", "/p/x")
    killed_writer(operation, point)
    assert leftovers(br_home), "the kill left nothing behind: it did not land where this test means"

    notices = registry.repair()

    projects, aliases = aliases_in(br_home)
    assert projects == aliases and projects["old"] == "/p/old"
    assert not leftovers(br_home)
    # Killed before the change was journaled: it never happened (undo: the registration before it stands).
    # Journaled: it is completed, whatever the kill left undone.
    never_happened = point == registry.JOURNAL_FILE
    assert ("x" in projects) == (operation != "register" if never_happened else operation == "register")
    # A notice (one line) exactly when a file had to be written to finish the change.
    completed_something = point in (registry.PROJECTS_FILE, registry.ALIASES_FILE)
    assert len(notices) == (1 if completed_something else 0) and all("\n" not in n for n in notices)
    assert registry.repair() == []  # nothing left to repair


def test_a_change_completed_on_a_file_someone_else_changed_since_keeps_their_change(br_home: Path):
    seed(br_home)
    killed_writer("register", registry.ALIASES_FILE)  # projects.json has "x"; aliases.json not yet
    aliases_file = br_home / registry.ALIASES_FILE
    aliases_file.write_text(json.dumps({**json.loads(aliases_file.read_text()), "theirs": "/p/theirs"}))

    assert len(registry.repair()) == 1
    projects, aliases = aliases_in(br_home)
    assert aliases == {"old": "/p/old", "theirs": "/p/theirs", "x": "/p/x"} and projects["x"] == "/p/x"


def test_the_cli_repairs_with_one_notice_on_stderr(br_home: Path):
    seed(br_home)
    killed_writer("register", registry.ALIASES_FILE)
    result = subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", "aliases", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "repaired the alias registry" in result.stderr
    assert "alias 'x'" in result.stderr and "Traceback" not in result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["old", "x"]
    assert not leftovers(br_home)


@pytest.mark.parametrize(
    "start",
    [registry.registered_aliases, registry.list_aliases, registry.read_snapshot, lambda: registry.register("y", "/y")],
    ids=["registered_aliases", "list_aliases", "read_snapshot", "register"],
)
def test_every_read_and_write_repairs_first(br_home: Path, start, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger=registry.__name__)
    seed(br_home)
    killed_writer("register", registry.PROJECTS_FILE)
    start()
    projects, aliases = aliases_in(br_home)
    assert projects == aliases and "x" in projects
    assert not leftovers(br_home)
    assert [r.getMessage() for r in caplog.records if "repaired" in r.getMessage()]


def test_only_our_own_stale_temporary_files_are_removed(br_home: Path):
    seed(br_home)
    ours = [".projects.json.ab_cd123.tmp", ".aliases.json.zzzzzzzz.tmp", "..registry-journal.json.0a1b2c3d.tmp"]
    theirs = [".projects.json.abc.tmp", "projects.json.tmp", ".other.json.abcdefgh.tmp", ".projects.json.ABCDEFGH.tmp"]
    for name in ours + theirs:
        (br_home / name).write_text("{")
    registry.registered_aliases()
    assert sorted(leftovers(br_home)) == sorted(theirs)


def test_an_unreadable_journal_is_discarded_with_a_notice(br_home: Path):
    seed(br_home)
    before = aliases_in(br_home)
    (br_home / registry.JOURNAL_FILE).write_text("[" * 100_000 + "]" * 100_000)
    notices = registry.repair()
    assert len(notices) == 1 and "journal" in notices[0] and "deeper than" in notices[0]
    assert not leftovers(br_home) and aliases_in(br_home) == before


def test_a_reader_never_waits_for_a_writer_nor_removes_its_temporary_file(br_home: Path):
    """While another process holds the lock, a temporary file may be a live writer's: readers leave it be."""
    seed(br_home)
    temp = br_home / ".projects.json.live1234.tmp"
    temp.write_text("{")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            str(br_home / registry.LOCK_FILE),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert registry.registered_aliases() == {"old": "/p/old"}
        assert registry.read_snapshot().lookup("old") == "/p/old"
        assert temp.exists()
    finally:
        holder.communicate(input="", timeout=30)  # end of stdin: the holder exits and the lock is released
    registry.registered_aliases()
    assert not temp.exists()
