"""The open sessions: opening and closing them, one path for a local project and a mirrored one.

Resolving what the user typed (a folder or an alias, which means reading BuildRunner's registry) runs on the
background-task runner, never on the GUI thread. Sinks learn of sessions through `added` / `removed`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..model.session_ids import session_id_for
from ..project.registry import UnknownProjectError, alias_for_path, resolve_project
from ..sources.broker import BrokerSource
from ..sources.broker_directory import BrokerDirectory
from ..sources.remote import RemoteSource
from ..sources.source import SessionSource
from ..sources.watcher import ProjectWatcher
from ..ui.session import Session
from ..ui.task_runner import TaskRunner
from .background import in_background
from .opening_gate import OpeningGate


def _resolve(project: str) -> tuple[Path, str | None]:
    folder, alias = resolve_project(project)
    return folder, alias or alias_for_path(folder)


class SessionManager(QObject):
    added = Signal(str)  # session_id
    removed = Signal(str)  # session_id
    status_changed = Signal(str)  # session_id ("" when one was removed)
    liveness_changed = Signal(str)  # session_id: a mirror's connection state (or its words) changed
    alert = Signal(str, str, str)  # session_id, kind, text
    opened_folder = Signal(str)  # a local project the user opened (for the recent list)
    notice = Signal(str)  # one line for the status bar

    def __init__(self, tasks: TaskRunner, stall_minutes: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sessions: dict[str, Session] = {}
        self._mirror_tokens: dict[str, str | None] = {}  # the token each mirrored session was opened with
        self.brokers: dict[str, BrokerDirectory] = {}  # by the URL given (with its password: never shown)
        self._tasks = tasks
        self._stall_minutes = stall_minutes
        self._opening = OpeningGate()  # mirrors and broker sessions start a few at a time

    def find_local(self, folder: str) -> Session | None:
        return next((s for s in self.sessions.values() if s.source.is_local and s.location == folder), None)

    async def open_project(self, project: str, remember: bool = True) -> Session | None:
        try:
            folder, alias = await in_background(self._tasks, lambda: _resolve(project))
        except UnknownProjectError as exc:
            self.notice.emit(str(exc))
            return None
        existing = self.find_local(str(folder))
        if existing is not None:
            return existing
        session_id = session_id_for(alias, folder.name, self.sessions.keys())
        session = self._add(ProjectWatcher(folder, alias=alias, session_id=session_id))
        if remember:
            self.opened_folder.emit(str(folder))
        return session

    def open_remote(self, url: str, token: str | None = None) -> Session | None:
        try:
            source = RemoteSource(url, token)
        except ValueError as exc:
            self.notice.emit(str(exc))
            return None
        source.store.session_id = session_id_for(None, source.upstream_id, self.sessions.keys())
        self._mirror_tokens[source.session_id] = token
        return self._add(source)

    def open_broker(self, url: str) -> None:
        """Every session published to the broker at `url`, each opened as it appears (protocol.md)."""
        if url in self.brokers:
            return
        try:
            directory = BrokerDirectory(url, lambda upstream_id: session_id_for(None, upstream_id, self.sessions))
        except ValueError as exc:
            self.notice.emit(str(exc))
            return
        self.brokers[url] = directory
        directory.added.connect(self._add)
        directory.notices.connect(self.notice.emit)
        directory.start()

    async def close_brokers(self) -> None:
        """Stop reading the brokers (their sessions are closed with the others) and close their connections."""
        directories, self.brokers = list(self.brokers.values()), {}
        for directory in directories:
            await directory.aclose()

    def mirrors(self) -> list[tuple[str, str | None]]:
        """The open mirrored sessions, as (stream URL without its token, token): what is restored next time."""
        return [
            (session.source.url, self._mirror_tokens.get(session_id))  # type: ignore[attr-defined]
            for session_id, session in self.sessions.items()
            if not session.source.is_local and not isinstance(session.source, BrokerSource)
        ]

    def _add(self, source: SessionSource) -> Session:
        session = Session(source, self._stall_minutes)
        session.status_changed.connect(self.status_changed)
        session.liveness_changed.connect(self.liveness_changed)
        session.alert.connect(self.alert)
        self.sessions[source.session_id] = session
        self.added.emit(source.session_id)
        if source.is_local:
            session.start()
        else:
            self._opening.admit(session)
        return session

    def close(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        self._mirror_tokens.pop(session_id, None)
        if session is None:
            return
        self._opening.discard(session)
        session.stop()
        self.removed.emit(session_id)
        session.deleteLater()
        self.status_changed.emit("")

    def close_all(self) -> None:
        for session_id in list(self.sessions):
            self.close(session_id)

    def set_stall_minutes(self, minutes: float) -> None:
        self._stall_minutes = minutes
        for session in self.sessions.values():
            session.set_stall_minutes(minutes)

    def check_stalls(self) -> None:
        for session in self.sessions.values():
            session.check_stall()

    async def wait_loaded(self) -> None:
        """Until every open session shows its first state (signals, not polling)."""
        waiting = [s for s in self.sessions.values() if not s.loaded]
        if not waiting:
            return
        done = asyncio.get_running_loop().create_future()

        def check(_session_id: str) -> None:
            if all(s.loaded for s in waiting) and not done.done():
                done.set_result(None)

        for session in waiting:
            session.loaded_changed.connect(check)
        try:
            check("")
            await done
        finally:
            for session in waiting:
                session.loaded_changed.disconnect(check)
