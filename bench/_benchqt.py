"""Qt and watchdog helpers shared by the live benchmarks (file write -> GUI thread).

Import `_benchlib` and call `use_offscreen_qt()` before importing this module.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QTimer, Signal, Slot
from watchdog import events as wd_events
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

CHECKPOINTS = ".buildrunner/checkpoints"


def qt_app() -> QCoreApplication:
    return QCoreApplication.instance() or QCoreApplication([])


class Waiter:
    """Runs the Qt event loop until `finish()` is called (from a slot on the GUI thread) or a timeout passes."""

    def __init__(self) -> None:
        self._loop = QEventLoop()
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._loop.quit)
        self._finished = False

    def finish(self) -> None:
        self._finished = True
        self._loop.quit()

    def wait(self, timeout_ms: int) -> bool:
        """True when `finish()` was called before the timeout."""
        if not self._finished:
            self._timer.start(timeout_ms)
            self._loop.exec()
            self._timer.stop()
        finished, self._finished = self._finished, False
        return finished


def pump(milliseconds: float) -> None:
    """Process Qt events for this long (slots keep running; nothing quits early)."""
    loop = QEventLoop()
    QTimer.singleShot(max(0, round(milliseconds)), loop.quit)
    loop.exec()


def wait_ready(source: Any, timeout_ms: int) -> bool:
    """Run the Qt loop until `source.is_ready` (a watcher is ready once its first scan reached the GUI thread)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not source.is_ready and time.monotonic() < deadline:
        pump(10)
    return bool(source.is_ready)


def make_project(root: Path) -> Path:
    """An empty BuildRunner project: `.buildrunner/` with the usual folders."""
    for folder in ("checkpoints", "logs", "context"):
        (root / ".buildrunner" / folder).mkdir(parents=True, exist_ok=True)
    return root


def checkpoint_body(index: int, base_epoch: float = 1_763_400_000.0) -> dict[str, Any]:
    """A checkpoint as BuildRunner 3 writes it; write `index` is identifiable by its phase and its completion."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(base_epoch + index // 1000))
    return {
        "id": "live",
        "timestamp": f"{stamp}.{index % 1000:03d}000",
        "phase": f"build_live_{index:05d}",
        "tasks_completed": [f"task-{index}"],
        "files_created": [],
        "status": "active",
        "metadata": {"name": f"build_live_{index:05d}", "description": "benchmark write", "created_by": "cli"},
        "completion": (index % 1000) / 10,
    }


def write_plain(path: Path, data: bytes) -> None:
    """How BuildRunner writes: open with truncation, write, close (a reader may see it half written)."""
    with open(path, "wb") as handle:
        handle.write(data)


def write_replace(path: Path, data: bytes) -> None:
    """How careful writers do it: a temporary file, then os.replace."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


WRITERS: dict[str, Callable[[Path, bytes], None]] = {"plain": write_plain, "replace": write_replace}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


# ---------------------------------------------------------------------------- a proposed fix, prototyped

# Every event kind ChangeForwarder acts on; opened / closed_no_write are left out, so inotify is not even asked for
# IN_OPEN / IN_CLOSE_NOWRITE (which the reader's own reads of each changed file would otherwise generate).
USEFUL_EVENTS: list[type[FileSystemEvent]] = [
    wd_events.FileCreatedEvent,
    wd_events.FileModifiedEvent,
    wd_events.FileDeletedEvent,
    wd_events.FileMovedEvent,
    wd_events.FileClosedEvent,
    wd_events.DirCreatedEvent,
    wd_events.DirDeletedEvent,
    wd_events.DirMovedEvent,
    wd_events.DirModifiedEvent,
]


class FilteredObserver(Observer):
    """An Observer that schedules every watch with `event_filter=USEFUL_EVENTS` (for ProjectWatcher's public
    `observer_factory` parameter): measures the proposed fix without touching the package."""

    def schedule(
        self,
        event_handler: FileSystemEventHandler,
        path: str,
        recursive: bool = False,
        **options: Any,
    ) -> ObservedWatch:
        options.setdefault("event_filter", USEFUL_EVENTS)
        return super().schedule(event_handler, path, recursive=recursive, **options)


# ---------------------------------------------------------------------------- the bare baseline


class _Bridge(QObject):
    fired = Signal()  # no argument: the GUI-thread slot stamps its own arrival time


class BareReceiver(QObject):
    """GUI-thread end of the baseline: stamps each queued signal as it is delivered."""

    def __init__(self, on_event: Callable[[int], None]) -> None:
        super().__init__()
        self._on_event = on_event

    @Slot()
    def take(self) -> None:
        self._on_event(time.perf_counter_ns())


class BareHandler(FileSystemEventHandler):
    """watchdog thread end of the baseline: one queued Qt signal per event, no reading, no parsing."""

    def __init__(self, bridge: _Bridge) -> None:
        self._bridge = bridge
        self._lock = threading.Lock()
        self.emitted = 0

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        with self._lock:
            self.emitted += 1
        self._bridge.fired.emit()


class BareWatch:
    """A watchdog Observer on a folder, its events delivered to a GUI-thread slot by a queued signal."""

    def __init__(self, folder: Path, on_event: Callable[[int], None]) -> None:
        self._bridge = _Bridge()
        self.receiver = BareReceiver(on_event)
        self._bridge.fired.connect(self.receiver.take, Qt.ConnectionType.QueuedConnection)
        self.handler = BareHandler(self._bridge)
        self._observer: BaseObserver = Observer()
        self._observer.schedule(self.handler, str(folder), recursive=True)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(5)
