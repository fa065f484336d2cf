"""A clean start: `--self-test` from source prints nothing on stderr, and the filter that keeps it so drops only
the offscreen platform's notices, never a real Qt warning. (tests/test_bundle.py checks the bundle, and a plain
start under a real X server.)"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
from PySide6.QtCore import qWarning
from PySide6.QtWidgets import QApplication
from buildrunner_gui.app.qt_messages import quiet_offscreen_notices
app = QApplication([])
quiet_offscreen_notices()
qWarning("This plugin does not support propagateSizeHints()")
qWarning("This plugin does not support grabbing the keyboard")
qWarning("QPainter::begin: Paint device returned engine == 0")
"""


def run(*args: str, platform: str = "offscreen") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BUILDRUNNER_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env={**env, "QT_QPA_PLATFORM": platform}
    )


def test_the_self_test_from_source_prints_nothing_on_stderr():
    result = run("-m", "buildrunner_gui", "--self-test")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_only_the_offscreen_notices_are_dropped():
    result = run("-c", PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["QPainter::begin: Paint device returned engine == 0"]


def test_on_another_platform_every_message_is_left_to_qt():
    result = run("-c", PROBE, platform="minimal")
    assert "This plugin does not support propagateSizeHints()" in result.stderr.splitlines()
