"""`buildrunner-gui [PROJECT ...]`: the window on one qasync loop, until it closes."""

from __future__ import annotations

import logging
import time

from ..os_signals import stop_on_signals
from ..settings import AppSettings
from .desktop import DesktopApp
from .qt_application import make_application

log = logging.getLogger(__name__)


def run_window(projects: list[str], demo: bool, mirrors: list[tuple[str, str | None]] | None = None) -> int:
    loop = make_application()
    desktop = DesktopApp(AppSettings())

    async def main() -> int:
        started = time.perf_counter()
        # Ctrl+C in the terminal (or SIGTERM) closes the window the orderly way: settings saved, threads stopped,
        # running builds cancelled. A signal asks no question (the quit confirmation is for the window's own close).
        restore = stop_on_signals(desktop.quit_now)
        try:
            await desktop.start(projects, demo, mirrors)
            log.info("window shown in %.0f ms", (time.perf_counter() - started) * 1000)
            await desktop.closed.wait()
        finally:
            restore()
        return 0

    with loop:
        return loop.run_until_complete(main())
