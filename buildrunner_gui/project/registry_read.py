"""Reading BuildRunner's alias registry (`~/.buildrunner/projects.json` and `aliases.json`).

Kept for existing imports: everything now lives in `registry`, which also writes. These reads are lenient: a
missing or unreadable registry simply means "no aliases".
"""

from __future__ import annotations

from .registry import (
    UnknownProjectError,
    _read_object,
    alias_for_path,
    buildrunner_home,
    registered_aliases,
    resolve_project,
)

__all__ = [
    "UnknownProjectError",
    "_read_object",
    "alias_for_path",
    "buildrunner_home",
    "registered_aliases",
    "resolve_project",
]
