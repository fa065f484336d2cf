"""GUI work that may wait its turn: one piece per pass of the event loop, so many at once never freeze it.

Thirty mirrored sessions that get their first state together would each fill their views in the same pass of
Qt's event processing (every due timer and ready callback runs in one pass). Queued here, each runs from a
zero-interval timer of its own turn: paints, input and other timers run between two of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class Paced(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._waiting: deque[Callable[[], None]] = deque()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_one)

    def add(self, work: Callable[[], None]) -> None:
        """Queue `work` (once: work already waiting keeps its place)."""
        if work in self._waiting:
            return
        self._waiting.append(work)
        if not self._timer.isActive():
            self._timer.start()

    def discard(self, work: Callable[[], None]) -> None:
        if work in self._waiting:
            self._waiting.remove(work)

    def _run_one(self) -> None:
        if self._waiting:
            self._waiting.popleft()()
        if self._waiting:
            self._timer.start()  # the next one in a later pass


_shared: Paced | None = None


def paced() -> Paced:
    """The app's one queue (created on first use, on the GUI thread)."""
    global _shared
    if _shared is None:
        _shared = Paced()
    return _shared
