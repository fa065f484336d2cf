"""The user's settings and remembered state, kept with QSettings.

`BUILDRUNNER_GUI_SETTINGS` names an INI file to use instead of the platform's default place (tests, portable use).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


@dataclass
class Preferences:
    """What the settings dialog edits."""

    server_enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8765
    token: str = ""
    serve_br3: bool = False  # the br3 dialect for BuildRunner 3's own web client (protocol.md, Dialects)
    allowed_origins: str = ""  # browser origins besides the server's own, separated by spaces or commas
    control_token: str = ""  # remote control of build runs (protocol.md): off while empty
    publish_url: str = ""  # a broker every session is published to (protocol.md, "Past one machine"): off while empty
    notify_started: bool = True
    notify_completed: bool = True
    notify_failed: bool = True
    notify_fixed: bool = True
    stall_minutes: int = 10


class AppSettings:
    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get("BUILDRUNNER_GUI_SETTINGS")
        if path:
            self._store = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._store = QSettings("BuildRunner", "BuildRunner Desktop")

    def preferences(self) -> Preferences:
        defaults = Preferences()
        values = {}
        for spec in fields(Preferences):
            default = getattr(defaults, spec.name)
            raw = self._store.value(f"preferences/{spec.name}", default)
            values[spec.name] = _coerce(raw, default)
        return Preferences(**values)

    def save_preferences(self, preferences: Preferences) -> None:
        for spec in fields(Preferences):
            self._store.setValue(f"preferences/{spec.name}", getattr(preferences, spec.name))
        self._store.sync()

    def open_projects(self) -> list[str]:
        return _string_list(self._store.value("session/open_projects", []))

    def set_open_projects(self, folders: list[str]) -> None:
        self._store.setValue("session/open_projects", list(folders))

    def open_mirrors(self) -> list[tuple[str, str | None]]:
        """The mirrored sessions open at the last exit: (stream URL, token or None)."""
        try:
            rows = json.loads(str(self._store.value("session/open_mirrors", "[]") or "[]"))
        except ValueError:
            return []
        if not isinstance(rows, list):
            return []
        return [
            (row["url"], row.get("token") or None)
            for row in rows
            if isinstance(row, dict) and isinstance(row.get("url"), str)
        ]

    def set_open_mirrors(self, mirrors: list[tuple[str, str | None]]) -> None:
        self._store.setValue("session/open_mirrors", json.dumps([{"url": u, "token": t} for u, t in mirrors]))

    def last_server(self) -> tuple[str, str]:
        """What File → Connect to Server… offers: the last server address and its token."""
        return str(self._store.value("connect/url", "") or ""), str(self._store.value("connect/token", "") or "")

    def set_last_server(self, url: str, token: str) -> None:
        self._store.setValue("connect/url", url)
        self._store.setValue("connect/token", token)

    def recent_projects(self) -> list[str]:
        return _string_list(self._store.value("session/recent_projects", []))

    def add_recent(self, folder: str) -> None:
        recent = [folder, *(f for f in self.recent_projects() if f != folder)][:MAX_RECENT]
        self._store.setValue("session/recent_projects", recent)

    def build_command(self, folder: str, default: str) -> str:
        """The build command of the project in `folder` (the window's Start runs it)."""
        return self._build_commands().get(folder) or default

    def set_build_command(self, folder: str, command: str) -> None:
        commands = self._build_commands()
        commands[folder] = command
        self._store.setValue("runs/build_commands", json.dumps(commands))

    def _build_commands(self) -> dict[str, str]:
        try:
            rows = json.loads(str(self._store.value("runs/build_commands", "{}") or "{}"))
        except ValueError:
            return {}
        if not isinstance(rows, dict):
            return {}
        return {str(k): v for k, v in rows.items() if isinstance(v, str)}

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self._store.value("window/geometry"), self._store.value("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self._store.setValue("window/geometry", geometry)
        self._store.setValue("window/state", state)

    def sync(self) -> None:
        self._store.sync()


def _coerce(raw: object, default: object) -> object:
    """INI files give strings back; turn them into the default's type (bad values fall back to it)."""
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
    if isinstance(default, int):
        try:
            return int(raw)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return default
    return "" if raw is None else str(raw)


def _string_list(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw] if raw else []
    return [str(item) for item in raw]  # type: ignore[union-attr]
