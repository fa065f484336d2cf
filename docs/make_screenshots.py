"""Screenshots of the main views for the README, taken from the real app running the demo build: at the
moment its tests fail (why, in red; the failing feature and the failing lines) and at its end.

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
AT_FAILURE = [("overview-failed", 0), ("features", 1), ("terminal", 6)]  # the demo's tests fail midway
AT_END = [("overview", 0), ("components", 2), ("checkpoints", 3), ("documents", 4), ("activity", 7)]
TIMEOUT_SECONDS = 120.0


async def take(desktop: DesktopApp) -> None:
    await desktop.start([], demo=True)
    desktop.window.resize(1280, 800)
    session = next(iter(desktop.sessions.values()))
    await _until(lambda: session.status == "failed")
    await asyncio.sleep(0.5)
    failed = [row for row in range(session.view.features.proxy.rowCount())
              if session.view.features.proxy.index(row, 0).data() and _is_failed(session, row)]  # fmt: skip
    session.view.features.table.selectRow(failed[0] if failed else 0)
    await _shoot(desktop, session, AT_FAILURE)
    runner = desktop.runs.runners[session.session_id]  # the demo's build is a run of its build command
    await _until(lambda: runner.state == "finished" and session.status == "completed")
    await asyncio.sleep(1.0)
    checkpoints = session.view.checkpoints
    checkpoints.tree.setCurrentIndex(checkpoints.tree.model().index(0, 0))
    await _shoot(desktop, session, AT_END)
    await desktop.shutdown()


def _is_failed(session, row: int) -> bool:
    features = session.view.features
    source = features.proxy.mapToSource(features.proxy.index(row, 0))
    item = features.model.item_at(source.row())
    return item is not None and item["status"] == "failed"


async def _shoot(desktop: DesktopApp, session, shots: list[tuple[str, int]]) -> None:
    for name, tab in shots:
        session.view.tabs.setCurrentIndex(tab)
        await asyncio.sleep(0.4)
        desktop.window.grab().save(str(OUT / f"{name}.png"))
        print("saved", OUT / f"{name}.png")


async def _until(condition, timeout: float = TIMEOUT_SECONDS) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.1)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    app = QApplication(sys.argv[:1])
    follow_system_colour_scheme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as settings_dir:
        desktop = DesktopApp(AppSettings(str(Path(settings_dir) / "settings.ini")), server_port=0)
        with loop:
            loop.run_until_complete(take(desktop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
