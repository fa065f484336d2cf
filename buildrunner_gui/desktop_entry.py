"""`buildrunner-gui install-desktop [--uninstall]`: the app in the user's launcher, with its own icon.

Writes (or removes) the XDG desktop entry and the hicolor icons under `$XDG_DATA_HOME` (default
`~/.local/share`). The entry starts whatever is running now: the bundle's binary, or the installed
`buildrunner-gui` command. `%F` lets a file manager's "Open with" hand it folders; no MIME type is claimed.
Running it again rewrites the same files, so it is safe to repeat (after moving the bundle, say)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .icons import ICON_NAME, SIZES, png

ENTRY_FILE = f"{ICON_NAME}.desktop"
# The Exec rules of the Desktop Entry Specification: an argument holding any of these is quoted
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home() -> Path:
    given = os.environ.get("XDG_DATA_HOME", "").strip()
    return Path(given) if given and Path(given).is_absolute() else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """What starts this app as it runs now: the bundle's binary, the `buildrunner-gui` script installed beside
    this Python (a venv or pipx), the one on PATH, else this Python with `-m`."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    beside = Path(sys.executable).with_name(ICON_NAME)
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside.absolute())]  # not resolved: a venv's python is a symlink to the system one
    found = shutil.which(ICON_NAME)
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "buildrunner_gui"]


def exec_argument(argument: str) -> str:
    if argument and not _RESERVED.intersection(argument):
        return argument.replace("%", "%%")
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in argument)
    return f'"{escaped}"'.replace("%", "%%")


def entry_text(command: list[str]) -> str:
    """The desktop entry for `command`. resources/buildrunner-gui.desktop is this for the plain command."""
    exec_line = " ".join(exec_argument(part) for part in command) + " %F"
    # In a desktop file's string values a backslash is itself escaped (spec: "Exec key", second pass)
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Name=BuildRunner Desktop",
        "GenericName=Build Monitor",
        "Comment=Watch BuildRunner builds live",
        f"Exec={exec_line.replace(chr(92), chr(92) * 2)}",
        *([f"TryExec={command[0]}"] if Path(command[0]).is_absolute() else []),  # hidden once the app is gone
        f"Icon={ICON_NAME}",
        "Terminal=false",
        "StartupNotify=true",
        "Categories=Development;",
        "Keywords=BuildRunner;build;monitor;",
    ]
    return "\n".join(lines) + "\n"


def planned_files(home: Path, command: list[str]) -> dict[Path, bytes]:
    files = {home / "applications" / ENTRY_FILE: entry_text(command).encode()}
    for size in SIZES:
        files[home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"] = png(size).read_bytes()
    return files


def install(home: Path, command: list[str]) -> list[str]:
    """Write every file (an unchanged one is left as it is); one line per file, saying what was done."""
    report = []
    for path, data in planned_files(home, command).items():
        if path.is_file() and path.read_bytes() == data:
            report.append(f"unchanged {path}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)  # a launcher watching the folder never reads half a file
        report.append(f"wrote {path}")
    return report


def uninstall(home: Path) -> list[str]:
    """Remove the files `install` writes (and only those); one line per file removed."""
    report = []
    for path in planned_files(home, [ICON_NAME]):
        if path.is_file() or path.is_symlink():
            path.unlink()
            report.append(f"removed {path}")
    return report or [f"nothing to remove under {home}"]


def run(remove: bool) -> int:
    home = data_home()
    lines = uninstall(home) if remove else install(home, launch_command())
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
