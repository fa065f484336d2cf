"""A screenshot of the app on a desktop: its window (icon in the title bar and the task bar) and its tray icon
(the app's icon with the build's status on it), running the demo build.

It starts its own X server (Xvfb), a window manager (openbox) and a panel with a system tray (tint2), then the
app, and grabs the whole screen. Needs `apt-get install openbox tint2` besides what scripts/setup installs.

Run:  .venv/bin/python docs/make_desktop_screenshot.py [--app dist/buildrunner-gui/buildrunner-gui]
(default: the installed command, .venv/bin/buildrunner-gui)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots" / "desktop.png"
TRAY = OUT.with_name("desktop-tray.png")  # the panel's right end, three times as large
SCREEN = "1280x840"
GRAB = """
import sys
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
shot = app.primaryScreen().grabWindow(0)
shot.save(sys.argv[1])
corner = shot.copy(shot.width() - 200, shot.height() - 32, 200, 32)
corner.scaled(600, 96, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation).save(sys.argv[2])
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default=str(REPO / ".venv" / "bin" / "buildrunner-gui"), help="the app to start")
    parser.add_argument("--after", type=float, default=8.0, help="seconds of the demo build before the shot")
    args = parser.parse_args()
    started: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="desktop-shot-") as folder:
        try:
            xvfb = subprocess.Popen(
                ["Xvfb", "-displayfd", "1", "-screen", "0", f"{SCREEN}x24", "-nolisten", "tcp"],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            started.append(xvfb)
            assert xvfb.stdout is not None
            env = {
                **os.environ,
                "DISPLAY": f":{xvfb.stdout.readline().strip()}",
                "QT_QPA_PLATFORM": "xcb",
                "BUILDRUNNER_GUI_SETTINGS": f"{folder}/settings.json",
                "BUILDRUNNER_HOME": f"{folder}/home",
                "XDG_DATA_HOME": f"{folder}/share",
                "BUILDRUNNER_LOG_LEVEL": "INFO",
            }
            started.append(subprocess.Popen(["openbox"], env=env, stderr=subprocess.DEVNULL))
            started.append(subprocess.Popen(["tint2"], env=env, stderr=subprocess.DEVNULL))
            time.sleep(1.5)  # the tray exists before the app looks for one
            log = Path(folder) / "app.log"
            with log.open("w") as errors:
                started.append(subprocess.Popen([args.app, "--demo"], env=env, stderr=errors))
                deadline = time.monotonic() + 60
                while "window shown" not in log.read_text() and time.monotonic() < deadline:
                    time.sleep(0.2)
                time.sleep(args.after)
                OUT.parent.mkdir(exist_ok=True)
                subprocess.run([sys.executable, "-c", GRAB, str(OUT), str(TRAY)], env=env, check=True, timeout=60)
            print(f"saved {OUT} and {TRAY}")
        finally:
            for process in reversed(started):
                process.terminate()
                process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
