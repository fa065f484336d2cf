"""The Qt face of a monitored project: messages arrive on the GUI thread as one signal per batch.

The bridge is a lock, a list and one signal (the pattern of Anki's task manager): the reader thread
appends messages and emits `_wake` only when the list was empty, so however fast files change, the GUI
thread gets one queued call per batch and never a backlog of signals.

The batch itself is handed to subscribers as a plain Python call, not as a Qt signal argument:
PySide6 6.12.0 corrupts reference counts of Python objects passed through `Signal(object)` (emitting
`[{"removed": False}]` ten thousand times aborts the interpreter with "deallocating True or False"),
which is why the project pins 6.11; a plain call is also cheaper than marshalling through Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from watchdog.observers import Observer

from ..model.engine import Message, SessionEngine
from .oneshot import engine_for
from .project_worker import RESCAN_INTERVAL, RETRY_DELAY, ObserverFactory, ProjectWorker


class BatchSubscribers:
    """`connect(callback)` / `disconnect(callback)` / `emit(batch)`, called on the GUI thread only."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[list[Message]], None]] = []

    def connect(self, callback: Callable[[list[Message]], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[list[Message]], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, batch: list[Message]) -> None:
        for callback in list(self._callbacks):
            callback(batch)


class ProjectWatcher(QObject):
    """Watches one project folder. Connect to `messages` (a list of protocol messages, in seq order),
    call `start()`, and take `status_message()` for the state so far; drop messages whose seq is not
    above that status's seq."""

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
        self.messages = BatchSubscribers()
        self._outbox: list[Message] = []
        self._outbox_lock = threading.Lock()
        self._worker = ProjectWorker(
            engine_for(Path(folder), alias, session_id),
            str(folder),
            self._post,
            rescan_interval=rescan_interval,
            retry_delay=retry_delay,
            observer_factory=observer_factory,
        )
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._started = False

    @property
    def session_id(self) -> str:
        return self._worker.engine.session_id

    @property
    def folder(self) -> str:
        return self._worker.reader.root

    @property
    def polling(self) -> bool:
        return self._worker.polling

    @property
    def loaded(self) -> threading.Event:
        return self._worker.loaded

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._worker.start()

    def stop(self) -> None:
        """Stops the observers and the reader thread; no thread of this watcher is left running."""
        self._worker.stop()

    def call(self, function: Callable[[SessionEngine], Any]) -> Any:
        return self._worker.call(function)

    def snapshot(self) -> dict[str, Any]:
        return self._worker.call(SessionEngine.snapshot)

    def status_message(self) -> Message:
        return self._worker.call(SessionEngine.status_message)

    # ---------------------------------------------------------------- the bridge

    def _post(self, batch: list[Message]) -> None:
        """Reader thread: queue messages; wake the GUI thread only if it is not already due to drain."""
        with self._outbox_lock:
            was_empty = not self._outbox
            self._outbox.extend(batch)
        if was_empty:
            self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        with self._outbox_lock:
            batch, self._outbox = self._outbox, []
        if batch:
            self.messages.emit(batch)
