"""Reading BuildRunner's alias registry (`~/.buildrunner/projects.json` and `aliases.json`).

Only reads: a monitored project is named by its alias when it has one, and every command that takes a
PROJECT accepts an alias. A missing or unreadable registry simply means "no aliases".
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def buildrunner_home() -> Path:
    """`BUILDRUNNER_HOME`, else `~/.buildrunner`."""
    override = os.environ.get("BUILDRUNNER_HOME")
    return Path(override).expanduser() if override else Path.home() / ".buildrunner"


def _read_object(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def registered_aliases() -> dict[str, str]:
    """alias -> project path, from both files (`projects.json` wins where they disagree)."""
    home = buildrunner_home()
    aliases = {k: v for k, v in _read_object(home / "aliases.json").items() if isinstance(v, str)}
    for alias, entry in _read_object(home / "projects.json").items():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            aliases[alias] = entry["path"]
    return aliases


def alias_for_path(project: Path) -> str | None:
    """The alias registered for this folder, if any."""
    target = os.path.realpath(project)
    for alias, path in sorted(registered_aliases().items()):
        if os.path.realpath(os.path.expanduser(path)) == target:
            return alias
    return None


class UnknownProjectError(ValueError):
    pass


def resolve_project(argument: str) -> tuple[Path, str | None]:
    """A PROJECT argument (a folder, or a registered alias) -> (folder, alias or None)."""
    candidate = Path(argument).expanduser()
    if candidate.is_dir():
        return candidate.resolve(), alias_for_path(candidate)
    aliases = registered_aliases()
    if argument in aliases:
        folder = Path(aliases[argument]).expanduser()
        if not folder.is_dir():
            raise UnknownProjectError(f"alias '{argument}' points to {folder}, which is not a folder")
        return folder.resolve(), argument
    raise UnknownProjectError(f"'{argument}' is neither a project folder nor a registered alias")
