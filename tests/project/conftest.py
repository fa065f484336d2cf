"""Project creation tests: every test gets its own BUILDRUNNER_HOME (the real ~/.buildrunner is never touched)."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def br_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BUILDRUNNER_HOME in a tmp folder (inherited by subprocesses); not created, like a first run."""
    home = tmp_path / "world" / "brhome"
    monkeypatch.setenv("BUILDRUNNER_HOME", str(home))
    monkeypatch.delenv("BUILDRUNNER_PIPX_SPEC", raising=False)
    return home


@pytest.fixture
def world(tmp_path: Path, br_home: Path) -> Path:
    """A small world to compare before/after: a BuildRunner 3 registry with another tool's aliases and keys, and a
    parent folder already holding another project."""
    root = tmp_path / "world"
    br_home.mkdir(parents=True)
    (br_home / "projects.json").write_text(
        json.dumps(
            {
                "old": {
                    "alias": "old",
                    "path": str(root / "projects" / "old"),
                    "created": "2025-11-24T20:00:00",
                    "editor": "cursor",
                    "spec_path": ".buildrunner/PROJECT_SPEC.md",
                    "last_accessed": None,
                    "color": "teal",
                },
                "stray": "not an object, written by some other tool",
            },
            indent=2,
        )
    )
    (br_home / "aliases.json").write_text(
        json.dumps({"old": str(root / "projects" / "old"), "only-here": "/x"}, indent=2)
    )
    (br_home / "settings.yaml").write_text("theme: dark\n")
    old = root / "projects" / "old"
    (old / ".buildrunner").mkdir(parents=True)
    (old / ".buildrunner" / "features.json").write_text('{"features": []}')
    (old / "README.md").write_text("# old\n")
    return root


def snapshot(root: Path, ignore: tuple[str, ...] = ()) -> dict[str, tuple]:
    """Every entry under root: kind, permission bits, and a file's bytes or a link's target."""
    result: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if name in ignore:
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                result[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                result[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                result[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return result


FAKE_PIPX = textwrap.dedent('''\
    #!{python}
    """A stand-in for pipx: FAKE_PIPX_MODE = ok | network | fail | hang; "installs" into FAKE_PIPX_HOME/venvs."""
    import os, pathlib, shutil, sys, time
    home = pathlib.Path(os.environ["FAKE_PIPX_HOME"]) / "venvs"
    mode = os.environ.get("FAKE_PIPX_MODE", "ok")
    with open(os.environ["FAKE_PIPX_LOG"], "a") as log:
        log.write(" ".join(sys.argv[1:]) + f" pid={{os.getpid()}}\\n")
    command = sys.argv[1]
    if command == "list":
        for venv in sorted(home.iterdir()):
            print(f"{{venv.name}} 1.0.0")
    elif command == "install":
        if mode == "hang":
            time.sleep(60)
        elif mode == "network":
            print("ERROR: Could not find a version that satisfies the requirement", file=sys.stderr)
            print("WARNING: Retrying after connection broken by 'NewConnectionError: Failed to establish a new "
                  "connection: [Errno 101] Network is unreachable'", file=sys.stderr)
            sys.exit(1)
        elif mode == "fail":
            print("error: something odd happened", file=sys.stderr)
            sys.exit(1)
        else:
            (home / "buildrunner").mkdir(parents=True)
            (home / "buildrunner" / "installed-from").write_text(sys.argv[2])
            print("installed package buildrunner 3.1.0")
    elif command == "uninstall":
        if not (home / sys.argv[2]).exists():
            print(f"Nothing to uninstall for {{sys.argv[2]}}", file=sys.stderr)
            sys.exit(1)
        shutil.rmtree(home / sys.argv[2])
        print(f"uninstalled {{sys.argv[2]}}")
''')


class FakePipx:
    def __init__(self, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = tmp_path / "fakebin"
        self.bin.mkdir()
        self.home = root / "pipxhome"
        (self.home / "venvs" / "httpie").mkdir(parents=True)  # something installed before, never touched
        self.log = tmp_path / "pipx.log"
        script = self.bin / "pipx"
        script.write_text(FAKE_PIPX.format(python=sys.executable))
        script.chmod(0o755)
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.setenv("FAKE_PIPX_HOME", str(self.home))
        monkeypatch.setenv("FAKE_PIPX_LOG", str(self.log))
        self.mode("ok")

    def mode(self, mode: str) -> None:
        self.monkeypatch.setenv("FAKE_PIPX_MODE", mode)

    def calls(self) -> list[str]:
        if not self.log.exists():
            return []
        return [line.rsplit(" pid=", 1)[0] for line in self.log.read_text().splitlines()]

    def pids(self) -> list[int]:
        return [int(line.rsplit(" pid=", 1)[1]) for line in self.log.read_text().splitlines()]

    def installed(self) -> list[str]:
        return sorted(p.name for p in (self.home / "venvs").iterdir())


@pytest.fixture
def fake_pipx(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePipx:
    return FakePipx(world, tmp_path, monkeypatch)
