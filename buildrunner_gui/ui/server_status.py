"""Status-bar widget: where the mirror server listens, how many clients watch, and a copy button."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class ServerStatus(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._address = ""
        self.label = QLabel("mirror server off")
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the browser address of the mirror server")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_address)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.copy_button)

    def show_server(self, address: str | None, clients: int = 0, note: str = "") -> None:
        self._address = address or ""
        self.copy_button.setEnabled(bool(address))
        if not address:
            self.label.setText(note or "mirror server off")
            return
        plural = "" if clients == 1 else "s"
        aside = f"  ·  {note}" if note else ""  # e.g. the default port was taken and another one serves
        self.label.setText(f"mirror: {address}  ·  {clients} client{plural}{aside}")

    @property
    def address(self) -> str:
        """The browser address of the mirror server ("" when it is off)."""
        return self._address

    def copy_address(self) -> None:
        if self._address:
            QGuiApplication.clipboard().setText(self._address)
