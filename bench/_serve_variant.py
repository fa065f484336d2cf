"""Child process for bench_server.py: one project served by the mirror server, exactly as `serve` wires it.

A ProjectWatcher on PROJECT feeds `MirrorServer` (its sockets on their own thread) from a qasync loop driven
by a QCoreApplication (the wiring of `buildrunner_gui.headless`). Two variants:

- `ours`: MirrorServer as it is (per-client queues, `server/channel.py`);
- `seed`: the baseline, BuildRunner's own broadcast style (`api/websocket_handler.py` in BuildRunner 3:
  `for connection in active_connections[session_id]: await connection.send_json(message)`): `publish` starts one
  task per batch, which sends each message with one sequential `await connection.send(frame)` per client, with no
  per-client queue. (BuildRunner also re-encodes the JSON per client; here each message is encoded once, which
  only flatters the baseline.) Connection handling, the handshake, `connection`/`status` and the replay buffer
  are the same as in `ours`.

A QTimer ticks every `--tick-ms` on the owner's loop (where the watcher and the stores live); the longest gap
between ticks, minus the interval, is the longest event-loop stall (what a window would feel as a frozen GUI).

Protocol with the parent, one JSON object a line on stdout:
- at start: {"port", "session_id", "pid"};
- stdin line `stats`: the counters since the last `reset`; stdin line `reset`: zero the stall counters and the
  peak RSS (VmHWM, through /proc/self/clear_refs), answered with the stats before the reset;
- SIGTERM or SIGINT (or stdin closed): a final stats line with "final": true, then clients get close 1001 and
  the process exits 0.

Run (by the bench): .venv/bin/python bench/_serve_variant.py --mode ours|seed PROJECT [--max-clients N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from websockets.exceptions import ConnectionClosed

from buildrunner_gui.model.engine import Message
from buildrunner_gui.model.snapshot_frame import encode
from buildrunner_gui.os_signals import stop_on_signals
from buildrunner_gui.runtime import tune_garbage_collector
from buildrunner_gui.server.channel import ClientChannel
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.server.stream_server import StreamServer
from buildrunner_gui.sources.watcher import ProjectWatcher


class SeedCore(StreamServer):
    """The baseline: one task per batch, one sequential `await send()` per client and message, no queues."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch_tasks: set[asyncio.Task[None]] = set()

    def publish(self, session_id: str, batch: list[Message]) -> None:
        served = self.sessions.get(session_id)
        if served is None:
            return
        for message in batch:  # keep the position and replay as ours does; only the sending differs
            served.seq = max(served.seq, message["seq"])
        if not served.channels:
            return
        task = asyncio.get_running_loop().create_task(self._send_batch(list(served.channels), batch))
        self._batch_tasks.add(task)
        task.add_done_callback(self._batch_tasks.discard)

    async def _send_batch(self, channels: list[ClientChannel], batch: list[Message]) -> None:
        for message in batch:
            frame = encode(message)
            for channel in channels:
                with contextlib.suppress(ConnectionClosed):
                    await channel.connection.send(frame)


class SeedServer(MirrorServer):
    core_class = SeedCore


class LoopStallMeter:
    """A precise QTimer on the loop: the longest gap between two ticks beyond the interval is the longest stall."""

    def __init__(self, interval_ms: int) -> None:
        self.interval_ns = interval_ms * 1_000_000
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self.reset()

    def reset(self) -> None:
        self._last = time.perf_counter_ns()
        self._last_cpu = time.thread_time_ns()
        self.ticks = 0
        self.max_stall_ns = 0
        self.max_stall_cpu_ns = 0  # CPU time the loop thread itself used during that longest stall
        self.over_20ms = 0
        self.over_50ms = 0

    def start(self) -> None:
        self._last = time.perf_counter_ns()
        self._last_cpu = time.thread_time_ns()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter_ns()
        cpu = time.thread_time_ns()
        stall = now - self._last - self.interval_ns
        if stall > self.max_stall_ns:
            self.max_stall_ns = stall
            self.max_stall_cpu_ns = cpu - self._last_cpu
        self._last = now
        self._last_cpu = cpu
        self.ticks += 1
        if stall > 20_000_000:
            self.over_20ms += 1
        if stall > 50_000_000:
            self.over_50ms += 1


def proc_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def reset_peak_rss() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def server_side(server: MirrorServer) -> tuple[list[ClientChannel], list[Any]]:
    """The channels and connections, read from this thread while the server's thread may change them."""
    core = server._core
    for _ in range(100):
        try:
            channels = [c for served in list(core.sessions.values()) for c in list(served.channels)] if core else []
            live = core._server if core else None
            return channels, list(live.connections) if live is not None else []
        except RuntimeError:  # changed size while being copied: read again
            continue
    return [], []


class Child:
    def __init__(self, server: MirrorServer, watcher: ProjectWatcher, meter: LoopStallMeter) -> None:
        self.server = server
        self.watcher = watcher
        self.meter = meter
        self.stop = asyncio.Event()
        self._pending = b""

    def stats(self, **extra: Any) -> dict[str, Any]:
        channels, connections = server_side(self.server)
        write_buffered = 0
        for connection in connections:
            with contextlib.suppress(Exception):
                write_buffered += connection.transport.get_write_buffer_size()
        return {
            "max_stall_ms": self.meter.max_stall_ns / 1e6,
            "max_stall_cpu_ms": self.meter.max_stall_cpu_ns / 1e6,
            "cpu_s": time.process_time(),
            "loop_thread_cpu_s": time.thread_time(),
            "involuntary_switches": resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw,
            "ticks": self.meter.ticks,
            "stalls_over_20ms": self.meter.over_20ms,
            "stalls_over_50ms": self.meter.over_50ms,
            "rss_kb": proc_status_kb("VmRSS"),
            "hwm_kb": proc_status_kb("VmHWM"),
            "clients": self.server.client_count(),
            "connections": len(connections),
            "tasks": len(asyncio.all_tasks()),
            "queued_bytes": sum(c.queued_bytes for c in channels),
            "lagging": sum(1 for c in channels if c.lagging),
            "write_buffer_bytes": write_buffered,
            **extra,
        }

    def emit(self, payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    def on_stdin(self) -> None:
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except BlockingIOError:
            return
        if not data:
            asyncio.get_event_loop().remove_reader(sys.stdin.fileno())
            self.stop.set()
            return
        self._pending += data
        while b"\n" in self._pending:
            line, self._pending = self._pending.split(b"\n", 1)
            command = line.strip().decode()
            if command == "stats":
                self.emit(self.stats())
            elif command == "reset":
                self.emit(self.stats())
                self.meter.reset()
                reset_peak_rss()
            elif command == "quit":
                self.stop.set()


async def serve(child: Child) -> int:
    server, watcher = child.server, child.watcher
    restore = stop_on_signals(child.stop.set)
    loop = asyncio.get_running_loop()
    os.set_blocking(sys.stdin.fileno(), False)
    loop.add_reader(sys.stdin.fileno(), child.on_stdin)
    try:
        await server.start()
        server.add_session(watcher)
        watcher.start()
        while not watcher.is_ready:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # the post-scan re-check of the tree
        child.meter.start()
        child.emit({"port": server.port, "session_id": watcher.session_id, "pid": os.getpid()})
        await child.stop.wait()
        child.emit(child.stats(final=True))
        child.meter.stop()
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sys.stdin.fileno())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.stop(), 15)
        restore()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="mirror server variant for bench_server.py")
    parser.add_argument("project", type=Path)
    parser.add_argument("--mode", choices=("ours", "seed"), required=True)
    parser.add_argument("--max-clients", type=int, default=200)
    parser.add_argument("--tick-ms", type=int, default=5)
    args = parser.parse_args()

    tune_garbage_collector()
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    server_class = SeedServer if args.mode == "seed" else MirrorServer
    server = server_class("127.0.0.1", 0, None, (), args.max_clients)
    watcher = ProjectWatcher(args.project, session_id=f"bench-{args.mode}")
    child = Child(server, watcher, LoopStallMeter(args.tick_ms))
    try:
        with loop:
            return loop.run_until_complete(serve(child))
    finally:
        watcher.stop()


if __name__ == "__main__":
    sys.exit(main())
