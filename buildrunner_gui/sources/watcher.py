"""A local project as a session source: files read on a thread of their own, the store on the GUI thread.

The bridge is a lock, a list and one signal (the pattern of Anki's task manager): the reading thread
appends the differ's events and emits `_wake` only when the list was empty, so however fast files change,
the GUI thread gets one queued call per batch and never a backlog of signals. There the store publishes
the batch (a big one over a few turns of the loop, `chunked_publisher.py`) and the sinks get it
(`sources/source.py`).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from watchdog.observers import Observer

from ..model.derive import ProjectDiffer
from ..model.messages import Message
from ..model.session_ids import session_id_for
from ..model.store import SessionStore
from .chunked_publisher import ChunkedPublisher
from .project_worker import RESCAN_INTERVAL, RETRY_DELAY, ObserverFactory, ProjectWorker
from .source import BatchCallback, Notify
from .subscribers import Subscribers
from .watch_log import quiet_stopped_watch_notice

quiet_stopped_watch_notice()


class ProjectWatcher(QObject):
    """Watches one project folder. Subscribe to `batches` / `ready`, call `start()`, read `store`."""

    _wake = Signal()

    def __init__(
        self,
        folder: Path,
        alias: str | None = None,
        session_id: str | None = None,
        rescan_interval: float = RESCAN_INTERVAL,
        retry_delay: float = RETRY_DELAY,
        observer_factory: ObserverFactory = Observer,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        folder = Path(folder)
        differ = ProjectDiffer(folder.name, str(folder), alias)
        self.store = SessionStore(session_id or session_id_for(alias, folder.name), differ.project)
        self.batches: Subscribers[BatchCallback] = Subscribers()
        self.reloads: Subscribers[Notify] = Subscribers()  # a local store is never replaced
        self.ready: Subscribers[Notify] = Subscribers()
        self._ready = False
        self._outbox: list[Message] = []
        self._outbox_first = False
        self._outbox_lock = threading.Lock()
        self._worker = ProjectWorker(
            differ,
            str(folder),
            self._post,
            name=self.store.session_id,
            rescan_interval=rescan_interval,
            retry_delay=retry_delay,
            observer_factory=observer_factory,
        )
        self._publisher = ChunkedPublisher(self.store, self.batches.emit, self)
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._started = False

    @property
    def session_id(self) -> str:
        return self.store.session_id

    @property
    def folder(self) -> str:
        return self._worker.reader.root

    @property
    def location(self) -> str:
        return self.folder

    @property
    def is_local(self) -> bool:
        return True

    @property
    def polling(self) -> bool:
        return self._worker.polling

    @property
    def is_ready(self) -> bool:
        return self._ready

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._worker.start()

    def stop(self) -> None:
        """Stops the observers and the reader thread; no thread of this watcher is left running."""
        self._worker.stop()

    def publish(self, events: list[Message]) -> None:
        """GUI thread: events of this session from elsewhere (its build runs), in order with the files' own."""
        self._publisher.publish(events)

    # ---------------------------------------------------------------- the bridge

    def _post(self, batch: list[Message], first: bool) -> None:
        """Reader thread: queue events; wake the GUI thread only if it is not already due to drain."""
        with self._outbox_lock:
            was_empty = not self._outbox and not self._outbox_first
            self._outbox.extend(batch)
            self._outbox_first |= first
        if was_empty:
            self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        with self._outbox_lock:
            batch, self._outbox = self._outbox, []
            first, self._outbox_first = self._outbox_first, False
        self._publisher.publish(batch, after=self._mark_ready if first else None)

    def _mark_ready(self) -> None:
        if not self._ready:
            self._ready = True
            self.ready.emit()
