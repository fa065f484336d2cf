"""Session ids (protocol.md, "Sessions"): the alias, else the folder name, reduced and made unique."""

from __future__ import annotations

import re
from collections.abc import Collection

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
MAX_LENGTH = 64


def session_id_for(alias: str | None, folder_name: str, taken: Collection[str] = ()) -> str:
    base = _UNSAFE.sub("", alias or folder_name)[:MAX_LENGTH] or "project"
    candidate, number = base, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = base[: MAX_LENGTH - len(suffix)] + suffix
        number += 1
    return candidate
