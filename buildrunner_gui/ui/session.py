"""One session inside the window: its source, its view, and what its batches mean for alerts.

The source (a local project or a mirror, `sources/source.py`) publishes batches into its store on the GUI
thread. The session loads the view from the store once the source is ready (and again when a mirror's
store is reloaded), hands each later batch to the view, and turns status changes and silence into alerts.
Status, percent and name are read from the store: nothing here keeps a copy.

A mirror's state is only as good as its connection: while it is not live, the view is marked stale (re-read
every second, so countdowns and "2 min ago" move) and no alert fires from what it shows.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from ..model.alerts import StallWatch, transition_alert
from ..model.liveness import Liveness, liveness
from ..model.messages import Message
from ..model.now import failure_of
from ..model.store import SessionStore
from ..sources.source import SessionSource
from .paced import paced
from .session_view import SessionView

LIVENESS_REFRESH_MS = 1_000


class Session(QObject):
    status_changed = Signal(str)  # session_id
    alert = Signal(str, str, str)  # session_id, kind, text
    loaded_changed = Signal(str)  # session_id: the view now shows the source's state
    liveness_changed = Signal(str)  # session_id: its connection state (or the words for it) changed

    def __init__(self, source: SessionSource, stall_minutes: float = 10.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.view = SessionView()
        self.view.overview.stall_minutes = stall_minutes
        self._floor_seq = -1  # nothing loaded yet
        self._shown = ("pending", 0.0)
        self._failure = ""  # the reason of the last failure seen, for the "recovered" notification
        self._stall = StallWatch(stall_minutes, last_activity=time.monotonic())
        self._liveness = liveness(source.store.source)
        self._shown_liveness = False  # the view has not been told yet
        self._clock = QTimer(self)  # a mirror's words for its connection change with time ("reconnecting in 9 s")
        self._clock.setInterval(LIVENESS_REFRESH_MS)
        self._clock.timeout.connect(self._show_liveness)
        source.batches.connect(self._on_batch)
        source.reloads.connect(self._reloaded)
        source.ready.connect(self._load_in_turn)
        self._show_liveness()  # a mirror waiting for its turn to open says "connecting" from the start

    @property
    def store(self) -> SessionStore:
        return self.source.store

    @property
    def session_id(self) -> str:
        return self.source.session_id

    @property
    def location(self) -> str:
        return self.source.location

    @property
    def name(self) -> str:
        return self.store.project["name"]

    @property
    def status(self) -> str:
        return self.store.status

    @property
    def percent(self) -> float:
        return float(self.store.progress["percent"])

    @property
    def loaded(self) -> bool:
        return self._floor_seq >= 0

    @property
    def liveness(self) -> Liveness:
        """As last shown: re-read on every change of the source, and every second while not live."""
        return self._liveness

    def start(self) -> None:
        if not self.source.is_local:
            self._clock.start()
        self._show_liveness()
        self.source.start()
        if self.source.is_ready:
            self.load()

    def stop(self) -> None:
        self._clock.stop()
        self.source.batches.disconnect(self._on_batch)
        self.source.reloads.disconnect(self._reloaded)
        self.source.ready.disconnect(self._load_in_turn)
        paced().discard(self.load)
        self.source.stop()

    def set_stall_minutes(self, minutes: float) -> None:
        self._stall.minutes = minutes
        self.view.overview.stall_minutes = minutes

    def load(self) -> None:
        """Show the store's whole state (the first state, or a mirror's reload)."""
        first = not self.loaded
        self._floor_seq = self.store.seq
        self.view.load(self.store)
        self._shown_liveness = False  # the overview was refilled: say where it comes from again
        self._show_liveness()
        if first:
            self._shown = (self.status, self.percent)  # opening a project is not news
            self.status_changed.emit(self.session_id)
        else:
            self._announce()  # a mirror back from a gap: what changed meanwhile is news, now that it is live
        self.loaded_changed.emit(self.session_id)

    def _reloaded(self) -> None:
        """A mirror's store was replaced: shown at once, unless it is the first state (that one waits its turn)."""
        if self.loaded:
            self.load()
        else:
            self._load_in_turn()

    def _load_in_turn(self) -> None:
        """The first state, filled in when the loop gets to it: many sessions ready at once load one per pass."""
        if not self.loaded:
            paced().add(self.load)

    def check_stall(self) -> None:
        if not self._liveness.live:
            self._stall.activity(time.monotonic())  # silence we cannot see is not a stall
            return
        if self._stall.check(self.status, time.monotonic()):
            minutes = self._stall.minutes
            self.alert.emit(self.session_id, "stalled", f"{self.name}: no build activity for {minutes:g} minutes")

    def _on_batch(self, batch: list[Message]) -> None:
        if any(message["type"] == "source_update" for message in batch):
            self._show_liveness()  # even before the first state: "refused: token" needs no state to be shown
        if not self.loaded:
            return  # the view loads from the store, which already holds these
        fresh = [m for m in batch if m["seq"] > self._floor_seq]
        if not fresh:
            return
        self._floor_seq = fresh[-1]["seq"]
        self._stall.activity(time.monotonic())
        self.view.apply_batch(fresh, self.store)
        self._announce()

    def _announce(self) -> None:
        before = self._shown
        now = (self.status, self.percent)
        if now == before:
            return
        self._shown = now
        kind = transition_alert(before[0], now[0])
        if kind is not None and self._liveness.live:  # never an alert from stale data
            self.alert.emit(self.session_id, kind, self._alert_text(kind, now[1]))
        if now[0] == "failed":
            self._failure = self._failure_reason()  # "recovered" says from what
        self.status_changed.emit(self.session_id)

    def _failure_reason(self) -> str:
        standing = [row for row in self.store.ordered_checkpoints() if row.get("status") != "rolled_back"]
        failure = failure_of(self.store, standing[-1] if standing else None)
        return failure.reason if failure is not None else ""

    def _alert_text(self, kind: str, percent: float) -> str:
        name = self.name
        if kind == "failed":
            reason = self._failure_reason()
            return f"{name}: build failed at {percent:.0f}%" + (f": {reason}" if reason else "")
        if kind == "fixed":
            return f"{name}: build recovered" + (f" from: {self._failure}" if self._failure else " from a failure")
        return _alert_text(kind, name, percent)

    def _show_liveness(self) -> None:
        current = liveness(self.store.source)
        if current == self._liveness and self._shown_liveness:
            return  # nothing to redraw (a live mirror, every second)
        self._shown_liveness = True
        self.view.show_liveness(current, self.location)
        if current != self._liveness:
            self._liveness = current
            self.liveness_changed.emit(self.session_id)


def _alert_text(kind: str, name: str, percent: float) -> str:
    return {
        "started": f"{name}: build started",
        "completed": f"{name}: build completed ({percent:.0f}%)",
    }.get(kind, f"{name}: {kind}")
