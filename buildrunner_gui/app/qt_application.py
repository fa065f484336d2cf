"""The QApplication as the window wants it (name, icon, light or dark scheme) and the qasync loop."""

from __future__ import annotations

import asyncio
import sys

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from ..icons import ICON_NAME
from ..ui.app_icon import app_icon
from .qt_messages import quiet_offscreen_notices


def follow_system_colour_scheme(app: QApplication) -> None:
    """Fusion with a dark palette when the system asks for dark, and back when it changes."""
    app.setStyle(QStyleFactory.create("Fusion"))

    def apply(scheme: Qt.ColorScheme) -> None:
        app.setPalette(_dark_palette() if scheme == Qt.ColorScheme.Dark else app.style().standardPalette())

    hints = QGuiApplication.styleHints()
    apply(hints.colorScheme())
    hints.colorSchemeChanged.connect(apply)


def _dark_palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#333333",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d6fb4",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#333333",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
        QPalette.ColorRole.Link: "#6ea8fe",
    }
    for role, value in colors.items():
        palette.setColor(role, value)
    return palette


def make_application() -> qasync.QEventLoop:
    """The QApplication as the window wants it, and the qasync loop that runs Qt and asyncio together."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("BuildRunner Desktop")
    app.setOrganizationName("BuildRunner")
    app.setWindowIcon(app_icon())
    # Wayland docks find the window's desktop entry (and so its icon) by this name (`install-desktop`)
    app.setDesktopFileName(ICON_NAME)
    quiet_offscreen_notices()
    follow_system_colour_scheme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop
