"""`buildrunner-gui install-desktop [--uninstall]` from source, run as a real process into a throw-away
XDG data folder. (tests/test_bundle.py runs it from the unpacked bundle.)"""

from __future__ import annotations

import os
import shlex
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from buildrunner_gui.desktop_entry import entry_text, exec_argument, launch_command
from buildrunner_gui.icons import SIZES

REPO = Path(__file__).resolve().parents[1]


def run(share: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", "install-desktop", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_DATA_HOME": str(share)},
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def installed(share: Path) -> list[Path]:
    return sorted(path for path in share.rglob("*") if path.is_file())


def test_install_writes_the_entry_and_every_icon_size_and_says_so(tmp_path: Path):
    share = tmp_path / "share"
    result = run(share)
    assert result.returncode == 0, result.stderr
    entry = share / "applications" / "buildrunner-gui.desktop"
    icons = [share / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "buildrunner-gui.png" for n in SIZES]
    assert result.stdout.splitlines() == [f"wrote {path}" for path in [entry, *icons]]
    assert installed(share) == sorted([entry, *icons])
    for size, icon in zip(SIZES, icons, strict=True):
        assert png_size(icon) == (size, size)
    lines = entry.read_text().splitlines()
    assert "Icon=buildrunner-gui" in lines and "Type=Application" in lines


def test_the_entry_starts_the_installed_command_with_the_folders_it_is_given(tmp_path: Path):
    share = tmp_path / "share"
    assert run(share).returncode == 0
    keys = dict(
        line.split("=", 1) for line in (share / "applications" / "buildrunner-gui.desktop").read_text().splitlines()[1:]
    )
    command = shlex.split(keys["Exec"])
    assert command[-1] == "%F"  # "open with" hands it folders; no MIME type is claimed
    assert "MimeType" not in keys
    assert command[:-1] == launch_command() == [str(Path(sys.executable).with_name("buildrunner-gui"))]
    started = subprocess.run([*command[:-1], "--version"], capture_output=True, text=True, timeout=60)
    assert started.stdout.startswith("buildrunner-gui ")  # the Exec line really starts this app
    assert keys["TryExec"] == command[0]


def test_install_is_idempotent(tmp_path: Path):
    share = tmp_path / "share"
    run(share)
    before = {path: path.read_bytes() for path in installed(share)}
    again = run(share)
    assert again.returncode == 0
    assert sorted(again.stdout.splitlines()) == sorted(f"unchanged {path}" for path in before)
    assert {path: path.read_bytes() for path in installed(share)} == before


def test_install_rewrites_an_entry_that_points_elsewhere(tmp_path: Path):
    share = tmp_path / "share"
    run(share)
    entry = share / "applications" / "buildrunner-gui.desktop"
    entry.write_text(entry_text(["/old/place/buildrunner-gui"]))  # the bundle was moved since
    result = run(share)
    assert f"wrote {entry}" in result.stdout.splitlines()
    assert "/old/place" not in entry.read_text()


def test_uninstall_removes_only_what_install_wrote(tmp_path: Path):
    share = tmp_path / "share"
    run(share)
    other = share / "applications" / "someone-else.desktop"
    other.write_text("[Desktop Entry]\n")
    result = run(share, "--uninstall")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1 + len(SIZES)
    assert all(line.startswith("removed ") for line in result.stdout.splitlines())
    assert installed(share) == [other]
    assert run(share, "--uninstall").stdout.startswith("nothing to remove under ")


@pytest.mark.parametrize(
    ("argument", "written"),
    [
        ("/opt/buildrunner-gui/buildrunner-gui", "/opt/buildrunner-gui/buildrunner-gui"),
        ("/home/a b/app", '"/home/a b/app"'),
        ('/x/say "hi"$', '"/x/say \\"hi\\"\\$"'),
        ("/x/100%", "/x/100%%"),
    ],
)
def test_exec_arguments_are_quoted_as_the_desktop_entry_spec_says(argument: str, written: str):
    assert exec_argument(argument) == written


def test_a_backslash_in_exec_is_escaped_twice():
    """Quoting rules first (`\\` -> `\\\\`), then the string value's own escape: four backslashes in the file."""
    line = next(line for line in entry_text(["/a\\b"]).splitlines() if line.startswith("Exec="))
    assert line == 'Exec="/a\\\\\\\\b" %F'


def test_the_shipped_desktop_file_is_the_entry_for_the_plain_command():
    assert (REPO / "resources" / "buildrunner-gui.desktop").read_text() == entry_text(["buildrunner-gui"])
