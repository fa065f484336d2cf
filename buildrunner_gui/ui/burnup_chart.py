"""A small burn-up chart (completion % over time) painted with QPainter: no plotting library to bundle."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

Point = tuple[datetime, float]
FAILED_RED = "#D55E00"  # Okabe-Ito vermillion, as the failed status everywhere


@lru_cache(maxsize=4096)  # panels re-read the same stamps from the store on every batch and every paint
def parse_timestamp(text: str | None) -> datetime | None:
    """An ISO-8601 timestamp from a message or snapshot (`...Z` or naive local time), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.astimezone()  # naive = local time (formats.md)


def _seconds(moment: datetime) -> float:
    # .timestamp() treats naive datetimes as local time, so naive and aware points can share one axis.
    return moment.timestamp()


class BurnUpChart(QWidget):
    """Completion (0..100 %) against time: a step line with points, a dashed 100 % line and the current value.

    `set_points` takes the known values; `set_marks` takes moments with no known value (drawn as ticks on
    the time axis) so that the chart never invents a percentage it was not given."""

    MARGIN_LEFT = 44
    MARGIN_RIGHT = 56
    MARGIN_TOP = 12
    MARGIN_BOTTOM = 24

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points: list[tuple[float, float]] = []
        self._marks: list[float] = []
        self._failed: list[float] = []  # failed checkpoints: red crosses on the time axis
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 120)
        self.setAccessibleName("Completion over time")

    def set_points(self, points: list[Point]) -> None:
        self._points = sorted((_seconds(moment), max(0.0, min(100.0, float(value)))) for moment, value in points)
        self._update_tooltip()
        self.update()

    def set_marks(self, moments: list[datetime]) -> None:
        self._marks = sorted(_seconds(moment) for moment in moments)
        self.update()

    def set_failed_marks(self, moments: list[datetime]) -> None:
        self._failed = sorted(_seconds(moment) for moment in moments)
        self.update()

    def points(self) -> list[Point]:
        return [(datetime.fromtimestamp(t, UTC), v) for t, v in self._points]

    def sizeHint(self) -> QSize:
        return QSize(420, 180)

    def _update_tooltip(self) -> None:
        if self._points:
            self.setToolTip(f"{len(self._points)} known value(s); now {self._points[-1][1]:.1f}%")
        else:
            self.setToolTip("No completion values yet")

    # ---------------------------------------------------------------- painting

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        grid = palette.color(QPalette.ColorRole.Mid)
        line = palette.color(QPalette.ColorRole.Highlight)
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
            plot = QRectF(
                self.MARGIN_LEFT,
                self.MARGIN_TOP,
                max(1.0, self.width() - self.MARGIN_LEFT - self.MARGIN_RIGHT),
                max(1.0, self.height() - self.MARGIN_TOP - self.MARGIN_BOTTOM),
            )
            self._paint_axes(painter, plot, text, grid)
            times = [t for t, _ in self._points] + self._marks + self._failed
            if not times:
                painter.setPen(text)
                painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No completion history yet")
                return
            start, end = min(times), max(times)
            latest = end
            if end - start < 1.0:  # one moment: centre it rather than divide by zero
                start, end = start - 1.0, end + 1.0

            def at(t: float, value: float) -> QPointF:
                return QPointF(
                    plot.left() + (t - start) / (end - start) * plot.width(),
                    plot.bottom() - value / 100.0 * plot.height(),
                )

            self._paint_time_labels(painter, plot, start, end, text)
            painter.setPen(QPen(text, 1))
            for t in self._marks:  # moments with no known value (checkpoints): ticks on the time axis
                x = at(t, 0).x()
                painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() - 6))
            painter.setPen(QPen(QColor(FAILED_RED), 2))
            for t in self._failed:  # a cross, not only a colour: a failed checkpoint
                x, y = at(t, 0).x(), plot.bottom() - 8
                painter.drawLine(QPointF(x - 4, y - 4), QPointF(x + 4, y + 4))
                painter.drawLine(QPointF(x - 4, y + 4), QPointF(x + 4, y - 4))
            if self._points:
                points = [at(t, v) for t, v in self._points]
                if self._points[-1][0] < latest:  # the current value holds up to the latest moment shown
                    points.append(at(latest, self._points[-1][1]))
                self._paint_series(painter, points, line, text, len(self._points))
        finally:
            painter.end()

    def _paint_axes(self, painter: QPainter, plot: QRectF, text, grid) -> None:
        metrics = painter.fontMetrics()
        for value in (0, 50, 100):
            y = plot.bottom() - value / 100.0 * plot.height()
            pen = QPen(grid, 1, Qt.PenStyle.DashLine if value == 100 else Qt.PenStyle.DotLine)
            if value == 0:
                pen.setStyle(Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text)
            label = f"{value}%"
            painter.drawText(
                QPointF(plot.left() - metrics.horizontalAdvance(label) - 6, y + metrics.ascent() / 2.5), label
            )
        painter.setPen(QPen(grid, 1))
        painter.drawLine(QPointF(plot.left(), plot.top()), QPointF(plot.left(), plot.bottom()))

    def _paint_time_labels(self, painter: QPainter, plot: QRectF, start: float, end: float, text) -> None:
        fmt = "%H:%M" if end - start < 86_400 else "%Y-%m-%d"
        first = datetime.fromtimestamp(start).strftime(fmt)
        last = datetime.fromtimestamp(end).strftime(fmt)
        metrics = painter.fontMetrics()
        y = plot.bottom() + metrics.ascent() + 4
        painter.setPen(text)
        painter.drawText(QPointF(plot.left(), y), first)
        if last != first:
            painter.drawText(QPointF(plot.right() - metrics.horizontalAdvance(last), y), last)

    def _paint_series(self, painter: QPainter, points: list[QPointF], line, text, known: int) -> None:
        path = QPainterPath(points[0])
        for previous, point in pairwise(points):
            path.lineTo(point.x(), previous.y())  # a step: the value holds until the next known one
            path.lineTo(point)
        painter.setPen(QPen(line, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setBrush(line)
        for point in points[:known]:  # dots only where a value was actually reported
            painter.drawEllipse(point, 3.0, 3.0)
        current = self._points[-1][1]
        painter.setPen(text)
        last = points[-1]
        painter.drawText(QPointF(last.x() + 6, max(last.y(), painter.fontMetrics().ascent()) + 4), f"{current:.1f}%")
