"""Paints a progress value (0-100, DisplayRole) as a native progress bar, coloured by the row's status."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
)

from .item_model import STATUS_ROLE
from .status_style import status_color


def percent_text(value: float) -> str:
    # Whole numbers without a decimal point; 9.5 stays 9.5 so it is not shown as 10.
    return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"


class ProgressBarDelegate(QStyledItemDelegate):
    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        value = index.data(Qt.ItemDataRole.DisplayRole)
        if not isinstance(value, int | float):
            super().paint(painter, option, index)
            return
        value = min(100.0, max(0.0, float(value)))
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        # The cell background first (selection, alternating rows), without the number as text.
        item.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)

        bar = QStyleOptionProgressBar()
        bar.rect = item.rect.adjusted(3, 3, -3, -3)
        bar.direction = item.direction
        bar.fontMetrics = item.fontMetrics
        bar.palette = QPalette(item.palette)
        status = index.data(STATUS_ROLE)
        if isinstance(status, str):
            bar.palette.setColor(QPalette.ColorRole.Highlight, status_color(status))
            bar.palette.setColor(QPalette.ColorRole.HighlightedText, Qt.GlobalColor.white)
        bar.state = QStyle.StateFlag.State_Horizontal
        if item.state & QStyle.StateFlag.State_Enabled:
            bar.state |= QStyle.StateFlag.State_Enabled
        bar.minimum, bar.maximum = 0, 1000  # tenths of a percent, so 9.5 % draws as such
        bar.progress = round(value * 10)
        bar.text = percent_text(value)
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)
