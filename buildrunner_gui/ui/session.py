"""One monitored project inside the window: its source, its view, and what its messages mean for alerts.

The source (a `ProjectWatcher`) delivers batches of protocol messages on the GUI thread. The session loads the
view from one snapshot and then applies only messages newer than that snapshot, forwards every batch to the
mirror server, and turns status changes and silence into alerts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..model.alerts import StallWatch, transition_alert
from ..sources.remote import RemoteSource
from ..sources.watcher import ProjectWatcher
from .session_view import SessionView

Message = dict[str, Any]


class Session(QObject):
    status_changed = Signal(str)  # session_id
    alert = Signal(str, str, str)  # session_id, kind, text

    def __init__(
        self,
        watcher: ProjectWatcher | RemoteSource,
        stall_minutes: float = 10.0,
        publish: Callable[[str, list[Message]], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.watcher = watcher
        self.view = SessionView()
        self.status: str = "pending"
        self.percent: float = 0.0
        self.name: str = watcher.session_id
        self.last_update: float = time.time()
        self._publish = publish
        self._floor_seq = -1  # nothing loaded yet
        self._stall = StallWatch(stall_minutes, last_activity=time.monotonic())
        self._had_status = False
        watcher.messages.connect(self._on_batch)
        reloads = getattr(watcher, "reloads", None)  # a remote source can replace its whole state
        if reloads is not None:
            reloads.connect(lambda _status: self.load())

    @property
    def session_id(self) -> str:
        return self.watcher.session_id

    @property
    def folder(self) -> str:
        return self.watcher.folder

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.messages.disconnect(self._on_batch)
        self.watcher.stop()

    def set_stall_minutes(self, minutes: float) -> None:
        self._stall.minutes = minutes

    def load(self) -> None:
        """Load the view from a snapshot once the first scan is done (takes the engine lock briefly)."""
        status = self.watcher.status_message()
        self._floor_seq = status["seq"]
        state = status["state"]
        self.name = state["project"]["name"]
        self.view.load(state)
        self._set_status(state["status"], state["progress"]["percent"], announce=False)

    @property
    def loaded(self) -> bool:
        return self._floor_seq >= 0

    def check_stall(self) -> None:
        if self._stall.check(self.status, time.monotonic()):
            minutes = self._stall.minutes
            self.alert.emit(self.session_id, "stalled", f"{self.name}: no build activity for {minutes:g} minutes")

    def _on_batch(self, batch: list[Message]) -> None:
        if self._publish is not None:
            self._publish(self.session_id, batch)
        if not self.loaded:
            return  # the view will load from a snapshot that already contains these
        fresh = [m for m in batch if m["seq"] > self._floor_seq]
        if not fresh:
            return
        self._floor_seq = fresh[-1]["seq"]
        self.last_update = time.time()
        self._stall.activity(time.monotonic())
        self.view.apply_batch(fresh)
        for message in fresh:
            if message["type"] == "build_progress":
                self._set_status(message["status"], message["percent"], announce=True)

    def _set_status(self, status: str, percent: float, announce: bool) -> None:
        before = self.status if self._had_status else None
        self._had_status = True
        changed = (status, percent) != (self.status, self.percent)
        self.status, self.percent = status, percent
        if announce:
            kind = transition_alert(before, status)
            if kind is not None:
                self.alert.emit(self.session_id, kind, _alert_text(kind, self.name, percent))
        if changed or not announce:
            self.status_changed.emit(self.session_id)


def _alert_text(kind: str, name: str, percent: float) -> str:
    return {
        "started": f"{name}: build started",
        "completed": f"{name}: build completed ({percent:.0f}%)",
        "failed": f"{name}: build failed at {percent:.0f}%",
        "fixed": f"{name}: build recovered from a failure",
    }.get(kind, f"{name}: {kind}")
