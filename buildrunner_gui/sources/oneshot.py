"""Read a project once, without watching: the engine after one full scan (used by `status`)."""

from __future__ import annotations

from pathlib import Path

from ..model.engine import SessionEngine
from ..model.session_ids import session_id_for
from .reader import ProjectReader


def read_once(folder: Path, alias: str | None = None) -> SessionEngine:
    engine = SessionEngine(session_id_for(alias, folder.name), folder.name, str(folder), alias)
    engine.apply(ProjectReader(str(folder)).scan())
    return engine
