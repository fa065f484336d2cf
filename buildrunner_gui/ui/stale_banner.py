"""The bar over every panel of a mirrored session that is not live: what it shows is as of its last contact.

Hidden while the session is live (always, for a local project). Its text is the one line `model/liveness.py`
derives: the state, the reason or what to fix, and the last contact.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from ..model.liveness import Liveness

# Amber for "stale, may recover", vermillion for "refused: needs you" (Okabe-Ito, as the status colours).
_COLOURS = {"refused": (213, 94, 0)}
_DEFAULT_COLOUR = (230, 159, 0)


class StaleBanner(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setContentsMargins(8, 4, 8, 4)
        self.setAccessibleName("Connection")
        self.hide()

    def show_liveness(self, shown: Liveness) -> None:
        if shown.live:
            self.hide()
            return
        red, green, blue = _COLOURS.get(shown.state, _DEFAULT_COLOUR)
        self.setStyleSheet(
            f"QLabel {{ border-left: 4px solid rgb({red}, {green}, {blue}); "
            f"background: rgba({red}, {green}, {blue}, 0.2); }}"
        )
        self.setText(f"Not live: {shown.detail}. What is shown may be out of date.")
        self.show()
