"""Window process for bench_window.py: the desktop window, wired as `run_window` wires it, with a stopwatch.

Modes (one per process; every stamp is `perf_counter_ns`, i.e. CLOCK_MONOTONIC, comparable with the parent's):

- `startup [PROJECT]`: the real entry point (`buildrunner_gui.__main__.main([PROJECT])`; without PROJECT,
  `main([])`, which reopens the projects remembered in the settings), with `Session.load` wrapped so that once
  the project is loaded and the window is exposed, the window is repainted, the time is printed and the process
  ends.
- `baseline`: `import PySide6.QtWidgets`, an empty QMainWindow (the main window's size) shown and painted.
- `open PROJECT`: like `run_window`, plus a 5 ms precise QTimer started before `DesktopApp.start`; prints the
  load times and the longest gap between ticks from `start` until `--after` seconds after the window showed the
  project.
- `components PROJECT` / `terminal PROJECT`: opens the project, shows the Components / Terminal tab, ticks idle
  for `--idle` seconds (the baseline), then runs `_window_writer.py` for `--seconds` and records every tick, the
  time of every `SessionView.apply_batch`, and (terminal) VmRSS once a second.
- `memory PROJECT`: opens the project, prints the mirror server's URL for the session, then answers stdin lines
  `measure` (VmRSS / VmHWM and the server's client count) and `quit`.

Output: JSON lines on stdout; the last one is the result. Run (by the bench):
.venv/bin/python bench/_window_child.py MODE [PROJECT] [options]
"""

from __future__ import annotations

import time

T_INTERPRETER_NS = time.perf_counter_ns()  # the first statement: the interpreter is up

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from array import array  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent
WRITER = HERE / "_window_writer.py"
TICK_MS = 5


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def proc_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def now() -> int:
    return time.perf_counter_ns()


# ---------------------------------------------------------------------------- painted-and-exposed


def when_exposed(window: Any, callback: Callable[[], None]) -> None:
    """Calls `callback` from the event loop once the window's native window is exposed (now, or at its Expose)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    handle = window.windowHandle()
    if handle is not None and handle.isExposed():
        QTimer.singleShot(0, callback)
        return

    class ExposeFilter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Expose and watched.isExposed():  # type: ignore[attr-defined]
                watched.removeEventFilter(self)
                QTimer.singleShot(0, callback)
            return False

    when_exposed.filter = ExposeFilter()  # type: ignore[attr-defined]  # keep it alive
    if handle is None:
        window.winId()  # creates the native window
        handle = window.windowHandle()
    handle.installEventFilter(when_exposed.filter)  # type: ignore[attr-defined]


def paint_now(window: Any) -> int:
    """Paints the whole window synchronously (the first paint with the project in it) and returns the time."""
    window.repaint()
    return now()


# ---------------------------------------------------------------------------- the stall meter


class StallMeter:
    """A 5 ms precise QTimer on the GUI thread. Every tick keeps its time, the GUI thread's CPU time and the GUI
    thread's run-queue wait (/proc/thread-self/schedstat: time it was runnable but had no CPU), so any gap splits
    into the GUI thread's own work, waiting for a CPU (the machine), and the rest: blocked, i.e. waiting for the
    GIL while another thread of the process runs (or idle, for a gap no longer than the interval)."""

    def __init__(self, interval_ms: int = TICK_MS) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_ns = interval_ms * 1_000_000
        self.stamps = array("q")
        self.cpu = array("q")
        self.runq = array("q")
        self._schedstat = os.open("/proc/thread-self/schedstat", os.O_RDONLY)  # this (the GUI) thread's
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._tick()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    def _tick(self) -> None:
        self.stamps.append(time.perf_counter_ns())
        cpu, runq = os.pread(self._schedstat, 100, 0).split()[:2]
        self.cpu.append(int(cpu))
        self.runq.append(int(runq))

    def stalls(self, begin: int, end: int) -> list[tuple[int, float, float, float]]:
        """(end stamp, stall ms = gap beyond the interval, GUI-thread CPU ms, GUI-thread run-queue wait ms) for
        the gaps ending in [begin, end)."""
        out = []
        for i in range(1, len(self.stamps)):
            if begin <= self.stamps[i] < end:
                gap = self.stamps[i] - self.stamps[i - 1]
                cpu = self.cpu[i] - self.cpu[i - 1]
                runq = self.runq[i] - self.runq[i - 1]
                out.append((self.stamps[i], max(0, gap - self.interval_ns) / 1e6, cpu / 1e6, runq / 1e6))
        return out

    def summary(self, begin: int, end: int, slice_s: float = 1.0) -> dict[str, Any]:
        stalls = self.stalls(begin, end)
        if not stalls:
            return {
                "ticks": 0,
                "max_ms": float("nan"),
                "max_cpu_ms": float("nan"),
                "max_runq_ms": float("nan"),
                "max_app_ms": float("nan"),
                "per_slice_ms": [],
                "per_slice_app_ms": [],
                "over_20": 0,
                "over_50": 0,
                "worst": [],
            }
        worst = max(stalls, key=lambda s: s[1])
        slices: dict[int, float] = {}
        app_slices: dict[int, float] = {}
        for stamp, stall, _cpu, runq in stalls:
            key = int((stamp - begin) / (slice_s * 1e9))
            slices[key] = max(slices.get(key, 0.0), stall)
            app_slices[key] = max(app_slices.get(key, 0.0), max(0.0, stall - runq))
        top = sorted(stalls, key=lambda s: -s[1])[:5]
        keys = range(max(slices) + 1)
        return {
            "ticks": len(stalls),
            "max_ms": worst[1],
            "max_cpu_ms": worst[2],
            "max_runq_ms": worst[3],
            "max_app_ms": max(max(0.0, s[1] - s[3]) for s in stalls),
            "max_at_s": (worst[0] - begin) / 1e9,
            "per_slice_ms": [slices.get(k, 0.0) for k in keys],
            "per_slice_app_ms": [app_slices.get(k, 0.0) for k in keys],
            "over_20": sum(1 for s in stalls if s[1] > 20),
            "over_50": sum(1 for s in stalls if s[1] > 50),
            "worst": [[round((s[0] - begin) / 1e9, 3), round(s[1], 2), round(s[2], 2), round(s[3], 2)] for s in top],
        }


# ---------------------------------------------------------------------------- hooks


class LoadHook:
    """Wraps `Session.load` (the moment the view gets the project) to stamp it and then the first full paint."""

    def __init__(self) -> None:
        from buildrunner_gui.ui.session import Session

        self.loaded_ns = 0
        self.load_begin_ns = 0
        self.painted_ns = 0
        self.on_painted: Callable[[], None] = lambda: None
        original = Session.load
        hook = self

        def load(session: Session) -> None:
            hook.load_begin_ns = now()
            original(session)
            hook.loaded_ns = now()
            window = session.view.window()
            when_exposed(window, lambda: hook._painted(window))

        Session.load = load  # type: ignore[method-assign]

    def _painted(self, window: Any) -> None:
        self.painted_ns = paint_now(window)
        self.on_painted()


# ---------------------------------------------------------------------------- modes


def mode_baseline() -> None:
    from PySide6.QtWidgets import QApplication, QMainWindow

    imported = now()
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.resize(1200, 780)
    window.show()

    def done() -> None:
        painted = paint_now(window)
        emit(
            mode="baseline",
            interpreter_ns=T_INTERPRETER_NS,
            imported_ns=imported,
            painted_ns=painted,
            rss_kb=proc_status_kb("VmRSS"),
        )
        os._exit(0)

    when_exposed(window, done)
    app.exec()


def mode_startup(project: str | None) -> None:
    from buildrunner_gui import app as app_module

    hook = LoadHook()
    stamps: dict[str, int] = {}
    original_start = app_module.DesktopApp.start

    async def start(self: Any, *args: Any, **kwargs: Any) -> None:
        stamps["start_begin_ns"] = now()
        await original_start(self, *args, **kwargs)
        stamps["start_end_ns"] = now()

    app_module.DesktopApp.start = start  # type: ignore[method-assign]

    def done() -> None:
        emit(
            mode="startup",
            interpreter_ns=T_INTERPRETER_NS,
            load_begin_ns=hook.load_begin_ns,
            loaded_ns=hook.loaded_ns,
            painted_ns=hook.painted_ns,
            rss_kb=proc_status_kb("VmRSS"),
            **stamps,
        )
        os._exit(0)

    hook.on_painted = done
    from buildrunner_gui.__main__ import main

    sys.exit(main([project] if project else []))


def make_desktop() -> tuple[Any, Any]:
    """What `run_window` and `main` do before the loop runs (GC tuning, logging, the app, the loop, DesktopApp)."""
    import logging

    from buildrunner_gui.app import DesktopApp, make_application
    from buildrunner_gui.runtime import tune_garbage_collector
    from buildrunner_gui.settings import AppSettings

    tune_garbage_collector()
    logging.basicConfig(
        level=os.environ.get("BUILDRUNNER_LOG_LEVEL", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    loop = make_application()  # exactly as run_window builds it
    return loop, DesktopApp(AppSettings())


async def open_and_show(desktop: Any, hook: LoadHook, project: str) -> dict[str, int]:
    painted = asyncio.get_running_loop().create_future()
    hook.on_painted = lambda: painted.done() or painted.set_result(None)
    begin = now()
    await desktop.start([project])
    start_end = now()
    await asyncio.wait_for(painted, 60)
    return {
        "start_begin_ns": begin,
        "start_end_ns": start_end,
        "load_begin_ns": hook.load_begin_ns,
        "loaded_ns": hook.loaded_ns,
        "painted_ns": hook.painted_ns,
    }


class BatchTimer:
    """Replaces a SessionView's `apply_batch(batch, store)` with a timed call (the Session calls it through the
    instance; the store has applied the batch before, on the same thread, untimed here). Also takes the landed
    code's `apply_batch(batch)`, so `PYTHONPATH=<checkout of 88c8a52>` measures that code the same way."""

    def __init__(self, view: Any) -> None:
        self.samples: list[tuple[int, float, int]] = []  # (end stamp, ms, messages)
        original = view.apply_batch

        def timed(batch: list[dict[str, Any]], *store: Any) -> None:  # the landed code's took no store
            start = now()
            original(batch, *store)
            end = now()
            self.samples.append((end, (end - start) / 1e6, len(batch)))

        view.apply_batch = timed


async def run_writer(args: argparse.Namespace, mode: str, path: Path) -> dict[str, Any]:
    command = [sys.executable, str(WRITER), mode, str(path), "--seconds", str(args.seconds)]
    writer = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    while writer.poll() is None:
        await asyncio.sleep(0.05)
    out = writer.stdout.read() if writer.stdout else ""
    return json.loads(out.strip().splitlines()[-1])


async def live_scenario(desktop: Any, hook: LoadHook, args: argparse.Namespace) -> dict[str, Any]:
    meter = StallMeter()
    meter.start()
    stamps = await open_and_show(desktop, hook, args.project)
    session = next(iter(desktop.sessions.values()))
    view = session.view
    view.tabs.setCurrentWidget(view.components if args.mode == "components" else view.terminal)
    await asyncio.sleep(0.3)  # the tab's first paint and the watcher's post-scan re-check
    timer = BatchTimer(view)
    idle_begin = now()
    await asyncio.sleep(args.idle)
    idle_end = now()
    rss: list[tuple[float, int]] = [(0.0, proc_status_kb("VmRSS"))]
    sampling = True

    async def sample_rss() -> None:
        while sampling:
            await asyncio.sleep(1.0)
            rss.append(((now() - idle_end) / 1e9, proc_status_kb("VmRSS")))

    sampler = asyncio.get_running_loop().create_task(sample_rss())
    if args.mode == "components":
        target = Path(args.project) / ".buildrunner/checkpoints/live.json"
        writer = await run_writer(args, "components", target)
    else:
        target = Path(args.project) / ".buildrunner/logs/x.log"
        writer = await run_writer(args, "log", target)
    await asyncio.sleep(args.settle)
    sampling = False
    await sampler
    rss.append(((now() - idle_end) / 1e9, proc_status_kb("VmRSS")))
    meter.stop()
    busy_begin, busy_end = writer["start_ns"], writer["end_ns"] + int(args.settle * 1e9)
    result: dict[str, Any] = {
        "mode": args.mode,
        **stamps,
        "writer": writer,
        "idle": meter.summary(idle_begin, idle_end),
        "busy": meter.summary(busy_begin, busy_end),
        "batches": [
            [round((end - busy_begin) / 1e9, 3), round(ms, 3), n]
            for end, ms, n in timer.samples
            if busy_begin <= end < busy_end
        ],
        "rss_kb": rss,
        "hwm_kb": proc_status_kb("VmHWM"),
    }
    if args.mode == "components":
        result["exact"] = components_exact(view, args.seconds)
    else:
        terminal = view.terminal
        result["terminal"] = {
            "shown": terminal.line_count(),
            "dropped": terminal.dropped_count(),
            "blocks": terminal.text_edit().document().blockCount(),
        }
    return result


def components_exact(view: Any, seconds: float) -> dict[str, Any]:
    """Does the Components table show exactly what the last write said (every changed id, status and progress)?"""
    import _window_writer as ww

    from buildrunner_gui.model.formats import Item

    writes = max(1, round(seconds * 10))
    expected = ww.final_components(10_000, 10, writes)
    model = view.components.model
    wrong = 0
    for raw in expected:
        item = Item.from_raw(raw, raw["id"])
        row = model.row_of(item.id)
        shown = None if row is None else model.item_at(row)
        if shown is None or shown["status"] != item.status or shown["progress"] != item.progress:
            wrong += 1
    return {"rows": model.rowCount(), "wrong": wrong}


async def open_scenario(desktop: Any, hook: LoadHook, args: argparse.Namespace) -> dict[str, Any]:
    meter = StallMeter()
    meter.start()
    stamps = await open_and_show(desktop, hook, args.project)
    await asyncio.sleep(args.after)
    meter.stop()
    end = now()
    return {
        "mode": "open",
        "interpreter_ns": T_INTERPRETER_NS,
        **stamps,
        "until_painted": meter.summary(stamps["start_begin_ns"], stamps["painted_ns"] + 1),
        "whole": meter.summary(stamps["start_begin_ns"], end),
        "rss_kb": proc_status_kb("VmRSS"),
    }


async def memory_scenario(desktop: Any, hook: LoadHook, args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.strip())
        loop.call_soon_threadsafe(lines.put_nowait, "quit")

    threading.Thread(target=read_stdin, daemon=True).start()
    await open_and_show(desktop, hook, args.project)
    await asyncio.sleep(args.after)
    session = next(iter(desktop.sessions.values()))
    assert desktop.server is not None, desktop.server_error
    emit(event="ready", url=desktop.server.url_for(session.session_id), rss_kb=proc_status_kb("VmRSS"))
    result: dict[str, Any] = {"mode": "memory"}
    while (line := await lines.get()) != "quit":
        if line == "measure":
            await asyncio.sleep(args.after)
            result = {
                "mode": "memory",
                "rss_kb": proc_status_kb("VmRSS"),
                "hwm_kb": proc_status_kb("VmHWM"),
                "clients": desktop.server.client_count(),
            }
            emit(event="measured", **result)
    return result


# ---------------------------------------------------------------------------- prototypes of proposed fixes


def proto_chunk_lines(limit: int) -> None:
    """The terminal applies at most `limit` lines per event-loop turn; the rest of a batch waits its turn."""
    from collections import deque

    from PySide6.QtCore import QTimer

    from buildrunner_gui.ui.terminal_view import TerminalPanel

    original = TerminalPanel.apply_batch

    def apply_batch(self: Any, batch: Any, store: Any) -> None:
        output = [m for m in batch if m.get("type") == "terminal_output"]
        if not output:
            return
        queue = getattr(self, "_proto_queue", None)
        if queue is None:
            queue = self._proto_queue = deque()
            timer = self._proto_timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(0)

            def drain() -> None:
                if queue:
                    original(self, [queue.popleft()], store)
                if queue:
                    timer.start()

            timer.timeout.connect(drain)
        was_empty = not queue
        for message in output:
            lines = str(message.get("output", "")).split("\n")
            for at in range(0, len(lines), limit):
                queue.append({**message, "output": "\n".join(lines[at : at + limit])})
        if was_empty:
            original(self, [queue.popleft()], store)
            if queue:
                self._proto_timer.start()

    TerminalPanel.apply_batch = apply_batch  # type: ignore[method-assign]


def proto_row_signals(limit: int) -> None:
    """Table models report changed rows as one `dataChanged` per run of consecutive rows when there are at most
    `limit` runs (else one spanning them all, as now): Qt repaints the whole viewport for any multi-row range,
    even one wholly outside it, so ten scattered rows cost a repaint of every visible row."""
    from buildrunner_gui.ui import keyed_model

    original = keyed_model.KeyedTableModel.report_changed

    def report_changed(self: Any, keys: Any) -> None:
        row_of = self._index()
        rows = sorted(row for row in map(row_of.get, keys) if row is not None)
        spans = keyed_model.runs(rows)
        if len(spans) > limit:
            original(self, (self._keys[row] for row in rows))
            return
        last = self.columnCount() - 1
        for first, end in spans:
            self.dataChanged.emit(self.index(first, 0), self.index(end, last))

    keyed_model.KeyedTableModel.report_changed = report_changed  # type: ignore[method-assign]


SCENARIOS = {"open": open_scenario, "components": live_scenario, "terminal": live_scenario, "memory": memory_scenario}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("baseline", "startup", *SCENARIOS))
    parser.add_argument("project", nargs="?")
    parser.add_argument("--after", type=float, default=1.0, help="seconds to keep measuring after the first paint")
    parser.add_argument("--idle", type=float, default=3.0, help="live modes: idle seconds before the writer")
    parser.add_argument("--seconds", type=float, default=10.0, help="live modes: how long the writer writes")
    parser.add_argument("--settle", type=float, default=1.0, help="live modes: seconds after the writer ends")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the GUI thread here (pstats file)")
    parser.add_argument("--proto-chunk-lines", type=int, help="prototype: terminal applies <= N lines a turn")
    parser.add_argument("--proto-switch-ms", type=float, help="prototype: sys.setswitchinterval (default 5 ms)")
    parser.add_argument("--proto-row-signals", type=int, help="prototype: one dataChanged per row run, <= N runs")
    args = parser.parse_args()
    if args.proto_switch_ms:
        sys.setswitchinterval(args.proto_switch_ms / 1000)
    if args.proto_chunk_lines:
        proto_chunk_lines(args.proto_chunk_lines)
    if args.proto_row_signals:
        proto_row_signals(args.proto_row_signals)
    if args.mode == "baseline":
        mode_baseline()
        return
    if args.mode == "startup":
        mode_startup(args.project)
        return
    hook = LoadHook()
    loop, desktop = make_desktop()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    async def scenario() -> dict[str, Any]:
        try:
            return await SCENARIOS[args.mode](desktop, hook, args)
        finally:
            await asyncio.wait_for(desktop.shutdown(), 10)

    with loop:
        result = loop.run_until_complete(scenario())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    emit(**result)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
