"""`buildrunner-gui PROJECT` as a real process: the window opens the project, and Ctrl+C closes it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QSettings


def test_window_process_opens_the_project_and_stops_on_ctrl_c(sample_project: Path, tmp_path: Path):
    settings = tmp_path / "settings.ini"
    settings.write_text("[preferences]\nport=0\n")
    env = {
        **os.environ,
        "DISPLAY": os.environ.get("DISPLAY", ":0"),
        "QT_QPA_PLATFORM": "offscreen",
        "BUILDRUNNER_GUI_SETTINGS": str(settings),
        "BUILDRUNNER_LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", str(sample_project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        seen = ""
        while "window shown" not in seen and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            seen += line
        assert "window shown" in seen, seen
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    remembered = QSettings(str(settings), QSettings.Format.IniFormat).value("session/open_projects")
    remembered = [remembered] if isinstance(remembered, str) else list(remembered or [])
    assert remembered == [str(sample_project.resolve())]
