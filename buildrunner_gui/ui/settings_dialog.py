"""The settings dialog: mirror server, publishing to a broker, notifications and the stall alert."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..settings import Preferences


class SettingsDialog(QDialog):
    saved = Signal()

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._preferences = preferences
        self.server_enabled = QCheckBox("Serve this window to mirror clients")
        self.server_enabled.setChecked(preferences.server_enabled)
        self.host = QLineEdit(preferences.host)
        self.host.setToolTip("127.0.0.1 keeps the mirror on this machine; any other address requires a token")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(preferences.port)
        self.token = QLineEdit(preferences.token)
        self.token.setPlaceholderText("generated when binding beyond 127.0.0.1")
        self.token.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        server = QGroupBox("Mirror server")
        server_form = QFormLayout(server)
        server_form.addRow(self.server_enabled)
        server_form.addRow("Host:", self.host)
        server_form.addRow("Port:", self.port)
        server_form.addRow("Token:", self.token)
        self.serve_br3 = QCheckBox("Serve BuildRunner 3 web clients (its own field names and words)")
        self.serve_br3.setToolTip(
            "BuildRunner 3's build monitor page reads its own dialect; this app's page and mirrors still get theirs"
        )
        self.serve_br3.setChecked(preferences.serve_br3)
        server_form.addRow(self.serve_br3)
        self.allowed_origins = QLineEdit(preferences.allowed_origins)
        self.allowed_origins.setPlaceholderText("e.g. http://localhost:3001 (BuildRunner 3's web UI)")
        self.allowed_origins.setToolTip("Web pages on these origins may read this server (CORS); separate with spaces")
        server_form.addRow("Allowed origins:", self.allowed_origins)
        self.control_token = QLineEdit(preferences.control_token)
        self.control_token.setPlaceholderText("empty: viewers cannot start or stop builds")
        self.control_token.setToolTip("Clients with this token (never the access token) may start, pause, resume "
                                      "and cancel builds")  # fmt: skip
        self.control_token.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        server_form.addRow("Control token:", self.control_token)

        self.publish_url = QLineEdit(preferences.publish_url)
        self.publish_url.setPlaceholderText("redis://HOST:PORT/DB (empty: not published)")
        self.publish_url.setToolTip(
            "Every session is also published to this Redis server, for dashboard servers (serve redis://…) to show "
            "to many people; a password goes in the URL: redis://:PASSWORD@HOST:PORT/DB"
        )
        publishing = QGroupBox("Publish to a broker")
        QFormLayout(publishing).addRow("Broker:", self.publish_url)

        self.notify = {
            kind: QCheckBox(label)
            for kind, label in (
                ("started", "Build started"),
                ("completed", "Build completed"),
                ("failed", "Build failed"),
                ("fixed", "Build recovered after a failure"),
            )
        }
        for kind, box in self.notify.items():
            box.setChecked(getattr(preferences, f"notify_{kind}"))
        self.stall_minutes = QSpinBox()
        self.stall_minutes.setRange(0, 24 * 60)
        self.stall_minutes.setSuffix(" min")
        self.stall_minutes.setSpecialValueText("never")
        self.stall_minutes.setValue(preferences.stall_minutes)
        notifications = QGroupBox("Notifications")
        notify_form = QFormLayout(notifications)
        for box in self.notify.values():
            notify_form.addRow(box)
        notify_form.addRow("Stall alert after:", self.stall_minutes)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(server)
        layout.addWidget(publishing)
        layout.addWidget(notifications)
        layout.addWidget(buttons)
        self.accepted.connect(self.saved.emit)

    def result_preferences(self) -> Preferences:
        return replace(
            self._preferences,
            server_enabled=self.server_enabled.isChecked(),
            serve_br3=self.serve_br3.isChecked(),
            allowed_origins=self.allowed_origins.text().strip(),
            host=self.host.text().strip() or "127.0.0.1",
            port=self.port.value(),
            token=self.token.text().strip(),
            control_token=self.control_token.text().strip(),
            publish_url=self.publish_url.text().strip(),
            notify_started=self.notify["started"].isChecked(),
            notify_completed=self.notify["completed"].isChecked(),
            notify_failed=self.notify["failed"].isChecked(),
            notify_fixed=self.notify["fixed"].isChecked(),
            stall_minutes=self.stall_minutes.value(),
        )
