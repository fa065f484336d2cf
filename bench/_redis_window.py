"""Child of bench_redis.py: the real window (`DesktopApp`, offscreen) on one project, publishing it to a broker
(Settings → "Publish to a broker") and serving it on a free port; a 5 ms precise QTimer on the GUI thread
measures the window's longest stall.

  .venv/bin/python bench/_redis_window.py PROJECT BROKER_URL SETTINGS_FILE

stdout: JSON lines (`ready` with the server's port, `stall` answers). stdin: `stall` prints the longest gap
between two ticks beyond the 5 ms interval since the last `stall` (and starts over); `quit` or EOF ends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

INTERVAL_MS = 5


def emit(**event: Any) -> None:
    print(json.dumps(event), flush=True)


def read_commands(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str]:
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.strip())
        loop.call_soon_threadsafe(lines.put_nowait, "quit")

    threading.Thread(target=read, name="bench-stdin", daemon=True).start()
    return lines


class StallMeter:
    def __init__(self) -> None:
        self.last = time.perf_counter_ns()
        self.worst_ms = 0.0
        self.ticks = 0

    def tick(self) -> None:
        now = time.perf_counter_ns()
        self.worst_ms = max(self.worst_ms, (now - self.last) / 1e6 - INTERVAL_MS)
        self.last = now
        self.ticks += 1

    def report(self) -> dict[str, Any]:
        answer = {"max_ms": round(self.worst_ms, 2), "ticks": self.ticks}
        self.worst_ms, self.ticks = 0.0, 0
        return answer


async def run(project: str, broker: str, settings_file: str) -> None:
    from PySide6.QtCore import Qt, QTimer

    from buildrunner_gui.app import DesktopApp
    from buildrunner_gui.settings import AppSettings

    settings = AppSettings(settings_file)
    preferences = settings.preferences()
    preferences.publish_url = broker
    preferences.server_enabled = True
    settings.save_preferences(preferences)
    desktop = DesktopApp(settings, server_port=0)
    await desktop.start([project])
    await desktop.manager.wait_loaded()
    meter = StallMeter()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(meter.tick)
    timer.start()
    assert desktop.server is not None
    emit(e="ready", port=desktop.server.port, sessions=list(desktop.sessions))
    commands = read_commands(asyncio.get_running_loop())
    while (command := await commands.get()) != "quit":
        if command == "stall":
            emit(e="stall", **meter.report())
    timer.stop()
    await asyncio.wait_for(desktop.shutdown(), 20)


def main() -> None:
    project, broker, settings_file = sys.argv[1:4]
    from buildrunner_gui.app import make_application

    loop = make_application()
    with loop:
        loop.run_until_complete(run(project, broker, settings_file))
    emit(e="bye")
    os._exit(0)


if __name__ == "__main__":
    main()
