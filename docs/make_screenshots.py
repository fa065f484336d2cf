"""Screenshots of the main views for the README, taken from the real app running the demo build.

Run under a real X server (Xvfb):  xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from buildrunner_gui.app import DesktopApp, follow_system_colour_scheme
from buildrunner_gui.settings import AppSettings

OUT = Path(__file__).resolve().parent / "screenshots"
SHOTS = [
    ("overview", 0),
    ("features", 1),
    ("components", 2),
    ("checkpoints", 3),
    ("documents", 4),
    ("terminal", 6),
    ("activity", 7),
]


async def take(desktop: DesktopApp, seconds: float) -> None:
    await desktop.start([], demo=True)
    desktop.window.resize(1280, 800)
    await asyncio.sleep(seconds)  # let the simulated build run into its interesting middle
    session = next(iter(desktop.sessions.values()))
    session.view.features.table.selectRow(0)
    session.view.checkpoints.tree.setCurrentItem(session.view.checkpoints.tree.topLevelItem(0))
    for name, tab in SHOTS:
        session.view.tabs.setCurrentIndex(tab)
        await asyncio.sleep(0.3)
        desktop.window.grab().save(str(OUT / f"{name}.png"))
        print("saved", OUT / f"{name}.png")
    await desktop.shutdown()


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 25.0
    OUT.mkdir(exist_ok=True)
    app = QApplication(sys.argv[:1])
    follow_system_colour_scheme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as settings_dir:
        desktop = DesktopApp(AppSettings(str(Path(settings_dir) / "settings.ini")), server_port=0)
        with loop:
            loop.run_until_complete(take(desktop, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
