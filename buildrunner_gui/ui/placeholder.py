"""A line of text over an empty view saying what will appear there and where it comes from.

`Placeholder` is a label laid over a scroll area's viewport (a table, a list, a text view), shown only while
the view has nothing to show. Over an item view it follows the view's model by itself: empty says `text`; a
filter that hides every row of a model that has some says `filtered_text`. Other views say when they are empty
with `set_empty`.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView, QAbstractScrollArea, QLabel

FILTERED_TEXT = "No rows match the filter"


class Placeholder(QLabel):
    def __init__(self, view: QAbstractScrollArea, text: str, filtered_text: str = FILTERED_TEXT) -> None:
        super().__init__(text, view.viewport())
        self._text, self._filtered_text = text, filtered_text
        self.setObjectName("placeholder")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMargin(24)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        palette = self.palette()
        text, base = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
        mixed = (t + (b - t) * 0.45 for t, b in zip(text.getRgbF()[:3], base.getRgbF()[:3], strict=True))
        dim = QColor.fromRgbF(*mixed)
        palette.setColor(QPalette.ColorRole.WindowText, dim)  # the view's text, halfway to its background
        self.setPalette(palette)
        self._viewport = view.viewport()
        self._viewport.installEventFilter(self)
        self.setGeometry(self._viewport.rect())
        self._model: QAbstractItemModel | None = None
        if isinstance(view, QAbstractItemView) and view.model() is not None:
            self._follow(view.model())

    def _follow(self, model: QAbstractItemModel) -> None:
        self._model = model
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.layoutChanged):
            signal.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        """Shown while the followed model has no rows; says so when a filter hid them all."""
        model = self._model
        if model is None:
            return
        if model.rowCount() > 0:
            self.set_empty(False)
            return
        source = model.sourceModel() if isinstance(model, QSortFilterProxyModel) else None
        filtered = source is not None and source.rowCount() > 0
        self.setText(self._filtered_text if filtered else self._text)
        self.set_empty(True)

    def set_empty(self, empty: bool) -> None:
        if empty == self.isHidden():
            self.setVisible(empty)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._viewport and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._viewport.rect())
        return False
