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
        worst = worst_status([s.status for s in self._sessions.values()])
        self._window.show_worst_status(worst)
        summary = "\n".join(f"{s.name}: {s.status} {s.percent:.0f}%" for s in self._sessions.values())
        self._tray.show_status(worst, summary or "no projects")

    def alert(self, _session_id: str, kind: str, text: str) -> None:
        if kind != "stalled" and not getattr(self._preferences(), f"notify_{kind}", True):
            return
        self._tray.notify(ALERT_TITLES.get(kind, "BuildRunner"), text, failed=kind in ("failed", "stalled"))
