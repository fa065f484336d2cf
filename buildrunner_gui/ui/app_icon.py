"""The app's own icon for the window, the About box and the tray; the tray's carries the build status on it."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPixmap

from ..icons import SIZES, png
from .status_style import status_icon

BADGE = 0.58  # the status badge's share of the icon's side: big enough to read the shape at 16 px


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    """Every generated size, so each place picks a crisp one rather than a scaled one."""
    icon = QIcon()
    for size in SIZES:
        icon.addFile(str(png(size)))
    return icon


def tray_icon(status: str, size: int = 32) -> QIcon:
    """The app icon with the status badge (shape and colour, ui/status_style.py) in its lower right corner."""
    if QGuiApplication.instance() is None:
        return QIcon()  # pixmaps need a GUI application
    return _tray_icon(status, size)


@lru_cache(maxsize=32)
def _tray_icon(status: str, size: int) -> QIcon:
    icon = QIcon()
    for scale in (1, 2):
        side = size * scale
        pixmap = app_icon().pixmap(side, side)
        pixmap.setDevicePixelRatio(1)  # draw in device pixels; the ratio is set once drawn
        badge = round(side * BADGE)
        corner = QRectF(side - badge, side - badge, badge, badge)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # a white disc under the badge: the grey "pending" ring must not vanish into the blue
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("white"))
        painter.drawEllipse(corner)
        painter.drawPixmap(corner.toRect(), _badge(status, badge))
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        icon.addPixmap(pixmap)
    return icon


def _badge(status: str, side: int) -> QPixmap:
    return status_icon(status, side).pixmap(side, side, QIcon.Mode.Normal)
