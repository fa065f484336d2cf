"""Qt's own messages on stderr, less the offscreen platform's notices.

Offscreen (`--self-test`, CI, benchmarks), Qt says "This plugin does not support propagateSizeHints()" and the
like whenever a window uses a window-system feature that platform lacks: a fact about the platform, not a
fault of the app, and a clean start prints nothing. Every other message is printed as Qt prints it."""

from __future__ import annotations

import re
import sys

from PySide6.QtCore import QMessageLogContext, QtMsgType, qFormatLogMessage, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication

_OFFSCREEN_NOTICE = re.compile(r"This plugin does not support (\w+\(\)|grabbing the keyboard)")


def quiet_offscreen_notices() -> None:
    """Call once the QGuiApplication exists (its platform is known then); on a real display it changes nothing."""
    if QGuiApplication.platformName() == "offscreen":
        qInstallMessageHandler(_print_message)


def _print_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if _OFFSCREEN_NOTICE.fullmatch(message):
        return
    sys.stderr.write(qFormatLogMessage(kind, context, message) + "\n")
