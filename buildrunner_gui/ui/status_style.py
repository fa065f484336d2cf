"""How an item status looks: label, colour and icon.

Colours come from the Okabe-Ito palette (safe for the common colour-vision deficiencies), and every status
also has its own SHAPE, so the icon reads correctly in greyscale too. The coloured parts are mid-tone and
the marks drawn on them are white, so icons work on light and dark palettes alike.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap, QPolygonF


class StatusStyle(NamedTuple):
    label: str
    color: str  # Okabe-Ito hex
    rank: int  # sort order: problems first


STATUSES: tuple[str, ...] = ("completed", "in_progress", "pending", "failed")

_STYLES: dict[str, StatusStyle] = {
    "failed": StatusStyle("Failed", "#D55E00", 0),  # vermillion
    "in_progress": StatusStyle("In progress", "#0072B2", 1),  # blue
    "pending": StatusStyle("Pending", "#999999", 2),  # grey: readable on light and dark backgrounds
    "completed": StatusStyle("Completed", "#009E73", 3),  # bluish green
}


def _style(status: str) -> StatusStyle:
    # Unknown statuses are shown as pending rather than crashing a view on odd input.
    return _STYLES.get(status, _STYLES["pending"])


def status_label(status: str) -> str:
    return _style(status).label


def status_rank(status: str) -> int:
    return _style(status).rank


def status_color(status: str) -> QColor:
    return QColor(_style(status).color)


def _dark_palette() -> bool:
    app = QGuiApplication.instance()
    return isinstance(app, QGuiApplication) and app.palette().color(QPalette.ColorRole.Base).lightness() < 128


def failure_text_color() -> QColor:
    """Text of a failed row or line: a red readable on the palette's base (the status colour is for icons and
    bars; as text on white it is too light to read)."""
    return QColor("#ff6b6b" if _dark_palette() else "#c62828")


def failure_background_color() -> QColor:
    """The background of a failing terminal line: a red tint the palette's text stays readable on."""
    return QColor("#4a1c1c" if _dark_palette() else "#fde4e1")


def status_icon(status: str, size: int = 16) -> QIcon:
    """The status icon, drawn once per (status, size) at 1x and 2x for high-DPI screens."""
    if QGuiApplication.instance() is None:
        return QIcon()  # pixmaps need a GUI application; without one Qt would abort, not raise
    return _icon(status if status in _STYLES else "pending", size)


@lru_cache(maxsize=64)
def _icon(key: str, size: int) -> QIcon:
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(size * scale, size * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _DRAW[key](painter, float(size), QColor(_STYLES[key].color))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def _circle_rect(size: float, pen_width: float = 0.0) -> QRectF:
    margin = size * 0.08 + pen_width / 2
    return QRectF(margin, margin, size - 2 * margin, size - 2 * margin)


def _draw_completed(painter: QPainter, size: float, color: QColor) -> None:
    # Filled disc with a white check mark.
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(_circle_rect(size))
    pen = QPen(QColor("white"), max(1.5, size * 0.12))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    path = QPainterPath(QPointF(size * 0.30, size * 0.52))
    path.lineTo(size * 0.44, size * 0.66)
    path.lineTo(size * 0.70, size * 0.36)
    painter.drawPath(path)


def _draw_in_progress(painter: QPainter, size: float, color: QColor) -> None:
    # Ring with its right half filled: "half done".
    width = max(1.5, size * 0.12)
    rect = _circle_rect(size, width)
    painter.setPen(QPen(color, width))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawEllipse(rect)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPie(rect, 90 * 16, -180 * 16)


def _draw_pending(painter: QPainter, size: float, color: QColor) -> None:
    # Hollow ring: not started.
    width = max(1.5, size * 0.12)
    painter.setPen(QPen(color, width))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawEllipse(_circle_rect(size, width))


def _draw_failed(painter: QPainter, size: float, color: QColor) -> None:
    # Filled warning triangle with a white exclamation mark.
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPolygon(
        QPolygonF(
            [
                QPointF(size * 0.5, size * 0.06),
                QPointF(size * 0.96, size * 0.92),
                QPointF(size * 0.04, size * 0.92),
            ]
        )
    )
    pen = QPen(QColor("white"), max(1.5, size * 0.12))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.drawLine(QPointF(size * 0.5, size * 0.38), QPointF(size * 0.5, size * 0.62))
    painter.drawPoint(QPointF(size * 0.5, size * 0.78))


_DRAW = {
    "completed": _draw_completed,
    "in_progress": _draw_in_progress,
    "pending": _draw_pending,
    "failed": _draw_failed,
}
