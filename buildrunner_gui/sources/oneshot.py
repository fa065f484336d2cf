"""Read a project once, without watching: the engine after one full scan (used by `status`)."""

from __future__ import annotations

from pathlib import Path

from ..model.engine import SessionEngine
from ..model.session_ids import session_id_for
from .reader import ProjectReader


def engine_for(folder: Path, alias: str | None, session_id: str | None = None) -> SessionEngine:
    return SessionEngine(
        session_id or session_id_for(alias, folder.name),
        project_name=folder.name,
        project_path=str(folder),
        alias=alias,
    )


def read_once(folder: Path, alias: str | None = None) -> SessionEngine:
    engine = engine_for(folder, alias)
    engine.apply(ProjectReader(str(folder)).scan())
    return engine
