"""A session read in one thread: the differ's events published straight into the store.

This is the whole local pipeline when nothing runs concurrently (`status`, the self-test, the tests and the
benchmarks). The watcher splits the same two parts across threads: the differ on its reading thread, the
store on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .clock import utc_now_iso
from .derive import MONITOR_SOURCE, ProjectDiffer
from .inputs import SourceInput
from .messages import Message, Snapshot
from .store import SessionStore

__all__ = ["MONITOR_SOURCE", "Message", "SessionEngine"]


class SessionEngine:
    def __init__(
        self,
        session_id: str,
        project_name: str,
        project_path: str = "",
        alias: str | None = None,
        clock: Callable[[], str] = utc_now_iso,
        epoch: str | None = None,
    ) -> None:
        self.differ = ProjectDiffer(project_name, project_path, alias, clock)
        self.store = SessionStore(session_id, self.differ.project, epoch=epoch, clock=clock)

    def apply(self, inputs: Iterable[SourceInput]) -> list[Message]:
        return self.store.publish(self.differ.apply(inputs))

    @property
    def session_id(self) -> str:
        return self.store.session_id

    @property
    def epoch(self) -> str:
        return self.store.epoch

    @property
    def seq(self) -> int:
        return self.store.seq

    @property
    def project_name(self) -> str:
        return self.store.project["name"]

    def snapshot(self) -> Snapshot:
        return self.store.snapshot()

    def status_message(self) -> Message:
        return self.store.status_message()

    def control(self, message_type: str, **body: object) -> Message:
        return self.store.control(message_type, **body)
