"""Child process for bench_store.py: the least a file-to-clients pipeline can do, as a baseline.

A watchdog observer on PROJECT/.buildrunner; its handler (on the observer's thread) reads a changed `*.json`
file and `json.loads` it; a text that parses and differs from the last one sent crosses to the GUI thread by
a queued Qt signal, where `websockets.broadcast` sends the raw JSON text to every connected client. No engine,
no store, no per-client queues. The loop is qasync on a QCoreApplication, as the app's server runs. A new
client gets two frames, `{"type":"connection"}` and the last text (as the app sends `connection` + `status`).

Protocol with the parent (as `_serve_variant.py`): one JSON line {"port", "session_id", "pid"} on stdout at
start; stops at SIGTERM or when stdin closes.

Run (by the bench): .venv/bin/python bench/_minimal_pipeline.py PROJECT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from websockets.asyncio.server import ServerConnection, broadcast, serve

SESSION = "minimal"


class Broadcaster(QObject):
    """GUI thread: the connected clients and the last text sent."""

    got = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.clients: set[ServerConnection] = set()
        self.last = ""
        self.got.connect(self.send, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def send(self, text: str) -> None:
        if text != self.last:
            self.last = text
            broadcast(self.clients, text)

    async def handle(self, connection: ServerConnection) -> None:
        self.clients.add(connection)
        try:
            await connection.send('{"type":"connection"}')
            await connection.send(self.last or "{}")
            await connection.wait_closed()
        finally:
            self.clients.discard(connection)


class Reader(FileSystemEventHandler):
    """Observer thread: read and parse a changed JSON file, hand its text over."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        self.broadcaster = broadcaster

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in ("created", "modified", "closed", "moved"):
            return
        path = str(event.dest_path or event.src_path)
        if not path.endswith(".json"):
            return
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            json.loads(text)
        except (OSError, ValueError):
            return  # caught mid-write: the close event reads it again
        self.broadcaster.got.emit(text)


async def run(project: Path) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    loop.add_reader(sys.stdin.fileno(), lambda: os.read(sys.stdin.fileno(), 4096) or stop.set())
    broadcaster = Broadcaster()
    observer = Observer()
    observer.schedule(Reader(broadcaster), str(project / ".buildrunner"), recursive=True)
    observer.start()
    server = await serve(broadcaster.handle, "127.0.0.1", 0, compression=None, max_queue=32)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"port": port, "session_id": SESSION, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sys.stdin.fileno())
        server.close()
        await server.wait_closed()
        observer.stop()
        observer.join(5)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="minimal file-to-clients pipeline for bench_store.py")
    parser.add_argument("project", type=Path)
    args = parser.parse_args()
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(run(args.project))


if __name__ == "__main__":
    sys.exit(main())
