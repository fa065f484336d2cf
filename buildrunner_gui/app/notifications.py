"""What the user is told: each session's row, the worst status (title and tray), and alerts as notifications."""

from __future__ import annotations

from collections.abc import Callable

from ..model.alerts import worst_status
from ..settings import Preferences
from ..ui.main_window import MainWindow
from ..ui.session import Session
from ..ui.tray import StatusTray

ALERT_TITLES = {
    "started": "Build started",
    "completed": "Build completed",
    "failed": "Build failed",
    "fixed": "Build recovered",
    "stalled": "Build stalled",
}


class Notifier:
    def __init__(
        self,
        window: MainWindow,
        tray: StatusTray,
        sessions: dict[str, Session],
        preferences: Callable[[], Preferences],
    ) -> None:
        self._window = window
        self._tray = tray
        self._sessions = sessions
        self._preferences = preferences

    def status_changed(self, session_id: str) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._window.update_session(session_id, session.name, session.status, session.percent)
        self._show_overall()

    def liveness_changed(self, session_id: str) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            return
        shown = session.liveness
        tooltip = f"{session.location}\n{shown.detail}" if shown.detail else session.location
        # The row says the state in one word (the countdown and the reason are in its tooltip and the banner).
        self._window.update_connection(session_id, "" if shown.live else shown.state, tooltip)
        self._show_overall()

    def _show_overall(self) -> None:
        sessions = list(self._sessions.values())
        worst = worst_status([s.status for s in sessions])
        not_live = sum(1 for s in sessions if not s.liveness.live)
        self._window.show_worst_status(worst, not_live)
        summary = "\n".join(_tray_line(s) for s in sessions)
        self._tray.show_status(worst, summary or "no projects")

    def alert(self, _session_id: str, kind: str, text: str) -> None:
        if kind != "stalled" and not getattr(self._preferences(), f"notify_{kind}", True):
            return
        self._tray.notify(ALERT_TITLES.get(kind, "BuildRunner"), text, failed=kind in ("failed", "stalled"))


def _tray_line(session: Session) -> str:
    shown = session.liveness
    stale = "" if shown.live else f" (not live: {shown.summary})"
    return f"{session.name}: {session.status} {session.percent:.0f}%{stale}"
