"""The alias registry: BuildRunner 3's two files, kept in step, written atomically under a lock, never emptied."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buildrunner_gui.project import registry

from .conftest import snapshot

REPO = Path(__file__).resolve().parents[2]


def read(path: Path):
    return json.loads(path.read_text())


def test_register_writes_both_files_in_buildrunner_3_shape(br_home: Path, tmp_path: Path):
    registry.register("app", tmp_path / "app")
    projects, aliases = read(br_home / "projects.json"), read(br_home / "aliases.json")
    entry = projects["app"]
    # BuildRunner 3 loads each entry as ProjectInfo(**entry): exactly these keys, `alias` included.
    assert set(entry) == {"alias", "path", "created", "editor", "spec_path", "last_accessed"}
    assert entry["alias"] == "app" and entry["path"] == str(tmp_path / "app")
    assert entry["editor"] == "claude" and entry["spec_path"] == ".buildrunner/PROJECT_SPEC.md"
    assert entry["last_accessed"] is None
    assert aliases == {"app": str(tmp_path / "app")}
    assert (br_home / "projects.json").read_text().startswith('{\n  "app": {')  # indent=2, like BuildRunner


def test_unknown_aliases_and_keys_are_preserved(world: Path, br_home: Path):
    before_projects, before_aliases = read(br_home / "projects.json"), read(br_home / "aliases.json")
    registry.register("new", "/somewhere/new", editor="cursor")
    projects, aliases = read(br_home / "projects.json"), read(br_home / "aliases.json")
    assert {k: v for k, v in projects.items() if k != "new"} == before_projects
    assert projects["old"]["color"] == "teal" and projects["stray"] == before_projects["stray"]
    assert projects["new"]["editor"] == "cursor"
    assert {k: v for k, v in aliases.items() if k != "new"} == before_aliases
    registry.unregister("new")
    assert read(br_home / "projects.json") == before_projects
    assert read(br_home / "aliases.json") == before_aliases


def test_registering_a_taken_alias_fails_whichever_file_has_it(world: Path):
    for alias in ("old", "only-here", "stray"):
        with pytest.raises(registry.AliasExistsError, match=alias):
            registry.register(alias, "/elsewhere")


def test_invalid_alias_is_refused():
    with pytest.raises(ValueError):
        registry.register("no spaces", "/x")


def test_list_and_unregister(world: Path):
    entries = {entry.alias: entry for entry in registry.list_aliases()}
    assert set(entries) == {"old", "only-here", "stray"}
    assert entries["old"].in_projects and entries["old"].in_aliases and entries["old"].details["color"] == "teal"
    assert not entries["only-here"].in_projects and entries["only-here"].path == "/x"
    assert registry.unregister("only-here") == "/x"
    with pytest.raises(registry.UnknownAliasError):
        registry.unregister("only-here")
    assert "only-here" not in registry.registered_aliases()


def test_undo_registration_restores_the_exact_bytes(world: Path, br_home: Path):
    before = snapshot(br_home)
    registration = registry.register("new", "/p/new")
    registry.undo_registration(registration)
    assert snapshot(br_home, ignore=(registry.LOCK_FILE,)) == before


def test_undo_registration_removes_files_it_created(br_home: Path):
    registry.undo_registration(registry.register("new", "/p/new"))
    assert sorted(p.name for p in br_home.iterdir()) == [registry.LOCK_FILE]


def test_undo_registration_keeps_what_others_registered_since(world: Path, br_home: Path):
    registration = registry.register("mine", "/p/mine")
    registry.register("theirs", "/p/theirs")
    registry.undo_registration(registration)
    aliases = registry.registered_aliases()
    assert "mine" not in aliases and aliases["theirs"] == "/p/theirs" and aliases["old"]


def test_a_failed_write_changes_nothing(world: Path, br_home: Path, monkeypatch: pytest.MonkeyPatch):
    """A crash before the rename leaves the old file (and no temporary file)."""
    before = snapshot(br_home)
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith("aliases.json"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(registry.RegistryError, match="No space left"):
        registry.register("new", "/p/new")
    # projects.json had already been replaced: register put its old bytes back
    assert snapshot(br_home, ignore=(registry.LOCK_FILE,)) == before


def test_a_symlinked_registry_stays_a_symlink(tmp_path: Path, br_home: Path):
    br_home.mkdir(parents=True)
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "projects.json").write_text("{}")
    (br_home / "projects.json").symlink_to(dotfiles / "projects.json")
    registry.register("app", "/p/app")
    assert (br_home / "projects.json").is_symlink()
    assert "app" in read(dotfiles / "projects.json")


# ------------------------------------------------------------------------------------------------ corruption


@pytest.mark.parametrize("cut", [0.5, 0.0])
def test_a_truncated_registry_is_reported_and_backed_up_never_emptied(world: Path, br_home: Path, cut: float):
    projects = br_home / "projects.json"
    projects.write_bytes(projects.read_bytes()[: int(len(projects.read_bytes()) * cut)])
    truncated, aliases_before = projects.read_bytes(), (br_home / "aliases.json").read_bytes()

    with pytest.raises(registry.CorruptRegistryError) as caught:
        registry.register("new", "/p/new")
    message = str(caught.value)
    assert "\n" not in message and str(projects) in message and "corrupt" in message
    backups = list(br_home.glob("projects.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].name in message
    assert backups[0].read_bytes() == truncated
    assert projects.read_bytes() == truncated  # not emptied, not rewritten
    assert (br_home / "aliases.json").read_bytes() == aliases_before

    # Every other strict operation refuses too, and the same damage is backed up once only.
    with pytest.raises(registry.CorruptRegistryError):
        registry.list_aliases()
    with pytest.raises(registry.CorruptRegistryError):
        registry.unregister("old")
    assert len(list(br_home.glob("projects.json.corrupt-*"))) == 1
    assert projects.read_bytes() == truncated
    # Monitoring stays lenient: aliases.json still resolves.
    assert registry.registered_aliases()["old"] == str(world / "projects" / "old")


def test_a_registry_of_the_wrong_shape_is_corrupt_too(br_home: Path):
    br_home.mkdir(parents=True)
    (br_home / "aliases.json").write_text('["a", "b"]')
    with pytest.raises(registry.CorruptRegistryError, match="expected a JSON object"):
        registry.register("new", "/p/new")
    assert (br_home / "aliases.json").read_text() == '["a", "b"]'


def test_a_registry_caught_mid_write_is_read_again(br_home: Path, monkeypatch: pytest.MonkeyPatch):
    """A non-atomic writer (BuildRunner 3 truncates, then writes) may be caught mid-write: read once more."""
    br_home.mkdir(parents=True)
    projects = br_home / "projects.json"
    projects.write_text('{"a": {"path": "/a"')
    real_sleep = time.sleep

    def writer_finishes(seconds):
        projects.write_text('{"a": {"path": "/a"}}')
        real_sleep(seconds)

    monkeypatch.setattr(registry.time, "sleep", writer_finishes)
    assert [e.alias for e in registry.list_aliases()] == ["a"]
    assert not list(br_home.glob("*.corrupt-*"))


# ------------------------------------------------------------------------------------------------ processes


REGISTER_LOOP = """
import os, sys, time
from buildrunner_gui.project import registry
tag, go, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
while not os.path.exists(go):
    time.sleep(0.005)
for i in range(count):
    registry.register(f"{tag}-{i}", f"/projects/{tag}/{i}")
"""


def test_two_processes_registering_at_once_lose_nothing(world: Path, br_home: Path, tmp_path: Path):
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", REGISTER_LOOP, tag, str(go), "100"], cwd=REPO, stderr=subprocess.PIPE, text=True
        )
        for tag in ("a", "b")
    ]
    time.sleep(0.3)  # both are importing and waiting
    go.touch()
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    expected = {f"{tag}-{i}": f"/projects/{tag}/{i}" for tag in "ab" for i in range(100)}
    projects, aliases = read(br_home / "projects.json"), read(br_home / "aliases.json")
    assert {alias: entry["path"] for alias, entry in projects.items() if alias in expected} == expected
    assert {alias: path for alias, path in aliases.items() if alias in expected} == expected
    assert {"old", "stray"} <= set(projects) and {"old", "only-here"} <= set(aliases)
    assert not list(br_home.glob(".*.tmp"))


def test_a_process_killed_mid_write_never_corrupts_the_registry(br_home: Path, tmp_path: Path):
    go = tmp_path / "go"
    go.touch()
    rng = random.Random(7)
    for round_number in range(6):
        process = subprocess.Popen(
            [sys.executable, "-c", REGISTER_LOOP, f"r{round_number}", str(go), "100000"],
            cwd=REPO,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.4 + rng.random() * 0.3)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        projects, aliases = read(br_home / "projects.json"), read(br_home / "aliases.json")  # both parse
        prefix = f"r{round_number}-"
        mine = {a for a in projects if a.startswith(prefix)}
        assert mine, "the process registered nothing before it was killed: test too short"
        # killed between the two renames at worst: the files differ by the one alias being written
        assert len({a for a in set(projects) ^ set(aliases) if a.startswith(prefix)}) <= 1
