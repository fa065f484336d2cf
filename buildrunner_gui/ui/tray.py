"""Tray icon (the app's icon with the build status on it) and desktop notifications. Without a system tray,
notifications go to the status bar instead."""

from __future__ import annotations

from collections import deque

from PySide6.QtWidgets import QMainWindow, QMenu, QSystemTrayIcon

from .app_icon import tray_icon

SENT_KEPT = 50


class StatusTray:
    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        # (title, text), newest last: what the user was told lately (a week-long session must not grow it)
        self.sent: deque[tuple[str, str]] = deque(maxlen=SENT_KEPT)
        self._tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(tray_icon("pending"), window)
            menu = QMenu(window)
            menu.addAction("Show window", self._raise_window)
            menu.addAction("Quit", window.close)
            self._tray.setContextMenu(menu)
            self._tray.activated.connect(lambda _reason: self._raise_window())
            self._tray.setToolTip("BuildRunner Desktop")
            self._tray.show()

    @property
    def available(self) -> bool:
        return self._tray is not None

    def show_status(self, status: str | None, summary: str) -> None:
        if self._tray is not None:
            self._tray.setIcon(tray_icon(status or "pending"))
            self._tray.setToolTip(f"BuildRunner Desktop\n{summary}")

    def notify(self, title: str, text: str, failed: bool = False) -> None:
        self.sent.append((title, text))
        if self._tray is not None and QSystemTrayIcon.supportsMessages():
            icon = QSystemTrayIcon.MessageIcon.Critical if failed else QSystemTrayIcon.MessageIcon.Information
            self._tray.showMessage(title, text, icon, 8000)
        else:
            self._window.statusBar().showMessage(f"{title}: {text}", 10000)

    def hide(self) -> None:
        if self._tray is not None:
            self._tray.hide()

    def _raise_window(self) -> None:
        self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()
