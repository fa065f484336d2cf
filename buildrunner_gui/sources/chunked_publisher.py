"""Publishing a big batch into the store without one long stall of the GUI thread.

A 10,000-item registry rewrite is one batch of 10,000 events. Publishing it (stamping and reducing every event)
and then letting the panels apply it and repaint would be one uninterrupted stretch of well over 50 ms. Here the
store takes at most `PUBLISH_CHUNK` events per turn of the event loop; the sinks get the whole batch once the
last chunk is in, so they still apply it in one pass and repaint once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from ..model.messages import Message
from ..model.store import SessionStore

PUBLISH_CHUNK = 2_000


class ChunkedPublisher(QObject):
    def __init__(
        self, store: SessionStore, deliver: Callable[[list[Message]], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._deliver = deliver
        self._waiting: deque[Message] = deque()
        self._published: list[Message] = []
        self._after: list[Callable[[], None]] = []
        self._scheduled = False

    @property
    def busy(self) -> bool:
        return bool(self._waiting) or self._scheduled

    def publish(self, events: list[Message], after: Callable[[], None] | None = None) -> None:
        """Publish `events` (in order, after any still waiting), then hand them on; then call `after`."""
        self._waiting.extend(events)
        if after is not None:
            self._after.append(after)
        if not self._scheduled:
            self._publish_some()

    def _publish_some(self) -> None:
        self._scheduled = False
        waiting = self._waiting
        chunk = [waiting.popleft() for _ in range(min(PUBLISH_CHUNK, len(waiting)))]
        self._published.extend(self._store.publish(chunk))
        if waiting:
            self._scheduled = True
            QTimer.singleShot(0, self._publish_some)  # the rest on the next turn: paints and input run between
            return
        batch, self._published = self._published, []
        after, self._after = self._after, []
        if batch:
            self._deliver(batch)
        for callback in after:
            callback()
