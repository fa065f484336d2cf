"""File → Connect to Server…: mirror one or several sessions of a remote server.

The user gives a server (any address of it, or one session's stream URL) and its token. A session's URL
connects at once; a server's address first lists its sessions (asked by the app off the GUI thread:
`list_requested`, answered by `show_sessions` / `show_error`), and the ones checked are connected. The token
field never echoes, and the dialog logs nothing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..sources.server_sessions import OfferedSession, is_session_url, server_of
from .session_list_model import STATUS_WORDS

URL_ROLE = int(Qt.ItemDataRole.UserRole)


class ConnectDialog(QDialog):
    list_requested = Signal(str, str)  # server address, token
    connect_requested = Signal(list, str)  # stream URLs, token

    def __init__(self, url: str = "", token: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to Server")
        self.url = QLineEdit(url)
        self.url.setPlaceholderText("ws://HOST:8765 or ws://HOST:8765/api/build/stream/SESSION")
        self.url.setClearButtonEnabled(True)
        self.token = QLineEdit(token)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("needed when the server is not on this machine")
        self.sessions = QListWidget()
        self.sessions.setAccessibleName("Sessions on the server")
        self.sessions.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.list_button = QPushButton("&List Sessions")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.list_button, QDialogButtonBox.ButtonRole.ActionRole)

        form = QFormLayout()
        form.addRow("&Server:", self.url)
        form.addRow("&Token:", self.token)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.sessions, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.list_button.clicked.connect(self._ask_list)
        self.buttons.accepted.connect(self._connect)
        self.buttons.rejected.connect(self.reject)
        self.url.textChanged.connect(self._url_changed)
        self.sessions.itemChanged.connect(lambda _item: self._update_buttons())
        self.resize(520, 360)
        self._update_buttons()

    # ---------------------------------------------------------------- answers from the app

    def show_sessions(self, offered: list[OfferedSession]) -> None:
        self.sessions.clear()
        for session in offered:
            live = "" if session.live else " · not live"
            status = STATUS_WORDS.get(session.status, session.status)
            item = QListWidgetItem(f"{session.name} ({session.session_id}) — {session.percent:.1f}% · {status}{live}")
            item.setData(URL_ROLE, session.stream_url)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if len(offered) == 1 else Qt.CheckState.Unchecked)
            self.sessions.addItem(item)
        self.sessions.setVisible(bool(offered))
        self._say("Check the sessions to mirror." if offered else "The server has no sessions.")
        self.list_button.setEnabled(True)
        self._update_buttons()

    def show_error(self, text: str) -> None:
        self._say(text, error=True)
        self.list_button.setEnabled(True)
        self._update_buttons()

    def chosen(self) -> list[str]:
        if is_session_url(self.url.text()):
            return [self.url.text().strip()]
        items = (self.sessions.item(row) for row in range(self.sessions.count()))
        return [item.data(URL_ROLE) for item in items if item.checkState() == Qt.CheckState.Checked]

    # ---------------------------------------------------------------- the user's moves

    def _ask_list(self) -> None:
        try:
            server_of(self.url.text())
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self._say("Asking the server for its sessions…")
        self.list_button.setEnabled(False)
        self.list_requested.emit(self.url.text().strip(), self.token.text())

    def _connect(self) -> None:
        if not is_session_url(self.url.text()) and not self.sessions.count():
            self._ask_list()  # a server's address: its sessions first
            return
        chosen = self.chosen()
        if chosen:
            self.connect_requested.emit(chosen, self.token.text())
            self.accept()

    def _url_changed(self) -> None:
        self.sessions.clear()
        self.sessions.hide()
        self._say("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_url = bool(self.url.text().strip())
        single = is_session_url(self.url.text())
        self.list_button.setVisible(not single)
        listed = self.sessions.count() > 0
        self.connect_button.setEnabled(has_url and (single or not listed or bool(self.chosen())))

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #D55E00;" if error else "")
