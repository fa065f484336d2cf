"""Sessions fed from elsewhere (mirrors, broker sessions) start a few at a time, so their first states come in turn.

A mirror's first `status` is the largest frame it ever gets, and handling it (parse, store, catch-up, the view)
takes the GUI thread some milliseconds. Thirty mirrors started together get thirty first states at once, and the
event loop handles every socket that is ready in one pass: the window would freeze for as long as all of them
take. Through the gate at most `AT_ONCE` are opening at any time; the next starts when one has loaded its state,
stopped connecting (unreachable, refused) or been closed. A session waiting its turn shows "connecting", which it
is.
"""

from __future__ import annotations

from collections import deque

from ..ui.session import Session

AT_ONCE = 3


class OpeningGate:
    def __init__(self, at_once: int | None = None) -> None:
        self.at_once = AT_ONCE if at_once is None else at_once
        self._waiting: deque[Session] = deque()
        self._opening: dict[str, Session] = {}

    def admit(self, session: Session) -> None:
        """Start `session` now if few are opening, else when its turn comes."""
        self._waiting.append(session)
        self._start_next()

    def discard(self, session: Session) -> None:
        """A session closed before or while opening: it no longer holds a place (the next one takes it)."""
        if session in self._waiting:
            self._waiting.remove(session)
        if self._release(session):
            self._start_next()

    def _start_next(self) -> None:
        while self._waiting and len(self._opening) < self.at_once:
            session = self._waiting.popleft()
            self._opening[session.session_id] = session
            session.loaded_changed.connect(self._changed)
            session.liveness_changed.connect(self._changed)
            session.start()
            self._changed(session.session_id)  # a source that was ready at once

    def _changed(self, session_id: str) -> None:
        session = self._opening.get(session_id)
        if session is not None and (session.loaded or session.liveness.state != "connecting"):
            self._release(session)
            self._start_next()

    def _release(self, session: Session) -> bool:
        if self._opening.get(session.session_id) is not session:
            return False
        del self._opening[session.session_id]
        session.loaded_changed.disconnect(self._changed)
        session.liveness_changed.disconnect(self._changed)
        return True
