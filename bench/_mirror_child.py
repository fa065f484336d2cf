"""Window process for bench_mirror.py: sessions shown as the app shows them, with a stopwatch on the GUI thread.

Modes (QT_QPA_PLATFORM=offscreen, the app's QApplication and qasync loop; every stamp is `perf_counter_ns`, i.e.
CLOCK_MONOTONIC, comparable with the parent's):

- `session --remote URL` / `session --local FOLDER`: one `Session` (a `RemoteSource`, or a `ProjectWatcher` on the
  folder) whose `SessionView` is shown in a 1200x780 window, Features tab current. Once loaded it prints a `ready`
  line, then one `rows` line for every signal of the features table model that shows rows changing
  (`dataChanged`, `rowsInserted`, `modelReset`), stamped inside the slot, i.e. at the emission, with the rows'
  feature ids and progress (only the first and last row of a range over 64 rows: the slot must stay cheap); a
  mirror's rows also carry when the feature's newest `feature_update` frame reached the client.
  Commands on stdin: `report` prints every gap between two ticks of a 5 ms precise QTimer that exceeded the
  interval by more than 1 ms (the parent picks the spans it wants); `quit` (or stdin closing) ends it.
- `desktop --mirror URL... | --local FOLDER...`: the real window (`DesktopApp`, its own server on port 0, settings
  in a file of the bench's), opening every session in one `start` call. Prints one result line: the longest stall
  from `start` until every session is loaded, and in the `--after` seconds after, and when each one loaded.

`--profile FILE`: a cProfile of the GUI thread, from the ready line to `quit` (session), or from `start` until all
are loaded in FILE and the span after in FILE-after (desktop).

Run (by the bench): .venv/bin/python bench/_mirror_child.py MODE [options]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _window_child import StallMeter, proc_status_kb

FRAME_SEEN: dict[str, int] = {}  # feature id -> when its newest feature_update frame was decoded (mirror)
FULL_ROWS = 64  # ranges up to this many rows are reported row by row
REPORTED_STALL_MS = 1.0  # shorter gaps are left out of `report`: the parent only looks for the longest


def now() -> int:
    return time.perf_counter_ns()


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


# ---------------------------------------------------------------------------- what the table shows


class RowReporter:
    """Stamps every signal of an item table model that makes rows show something new, in the slot itself (Qt
    calls a direct connection inside `emit`), then prints which rows and the progress they show."""

    def __init__(self, model: Any) -> None:
        self.model = model
        model.dataChanged.connect(self._changed)
        model.rowsInserted.connect(self._inserted)
        model.modelReset.connect(self._reset)

    def _changed(self, top_left: Any, bottom_right: Any, *_roles: Any) -> None:
        self._report("changed", now(), top_left.row(), bottom_right.row())

    def _inserted(self, _parent: Any, first: int, last: int) -> None:
        self._report("inserted", now(), first, last)

    def _reset(self) -> None:
        self._report("reset", now(), 0, self.model.rowCount() - 1)

    def _report(self, kind: str, stamp: int, first: int, last: int) -> None:
        if last < first:
            return
        count = last - first + 1
        rows = range(first, last + 1) if count <= FULL_ROWS else (first, last)
        shown = []
        for row in rows:
            key = self.model.key_at(row)
            shown.append([key, self.model.item_at(row)["progress"], FRAME_SEEN.get(key)])
        emit(e="rows", kind=kind, ns=stamp, n=count, rows=shown)


def stamp_frames() -> None:
    """Notes when each feature's `feature_update` frame reached the mirror client, so write → row splits into the
    server and loopback part and the mirror window's own part. Wraps the client's frame decoding, which the
    client looks up by name for every frame; the stamp is taken before decoding, as the frame is handed over."""
    from buildrunner_gui.sources import remote

    decode = remote.read_upstream_frame

    def read(frame: str | bytes) -> Any:
        arrived = now()
        message = decode(frame)
        if message.get("type") == "feature_update":
            FRAME_SEEN[message["feature_id"]] = arrived
        return message

    remote.read_upstream_frame = read


def package_dir() -> str:
    import buildrunner_gui

    return str(Path(buildrunner_gui.__file__).resolve().parent)


# ---------------------------------------------------------------------------- commands from the bench


def read_commands(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str]:
    """Lines of stdin, delivered on the loop; `quit` when stdin closes (the bench went away)."""
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.strip())
        loop.call_soon_threadsafe(lines.put_nowait, "quit")

    threading.Thread(target=read, name="bench-stdin", daemon=True).start()
    return lines


def stall_report(meter: StallMeter) -> dict[str, Any]:
    stamps = meter.stamps
    gaps = meter.stalls(stamps[0], stamps[-1] + 1)
    kept = [[end, round(stall, 3), round(cpu, 3), round(runq, 3)] for end, stall, cpu, runq in gaps]
    return {
        "ticks": len(stamps),
        "first_ns": stamps[0],
        "last_ns": stamps[-1],
        "stalls": [gap for gap in kept if gap[1] > REPORTED_STALL_MS],
    }


async def until_loaded(session: Any, timeout: float) -> bool:
    loaded = asyncio.get_running_loop().create_future()

    def check(_session_id: str = "") -> None:
        if session.loaded and not loaded.done():
            loaded.set_result(None)

    session.loaded_changed.connect(check)
    check()
    try:
        await asyncio.wait_for(loaded, timeout)
    except TimeoutError:
        return False
    finally:
        session.loaded_changed.disconnect(check)
    return True


# ---------------------------------------------------------------------------- modes


def make_session(args: argparse.Namespace) -> Any:
    from buildrunner_gui.sources.remote import RemoteSource
    from buildrunner_gui.sources.watcher import ProjectWatcher
    from buildrunner_gui.ui.session import Session

    if args.remote:
        stamp_frames()
    source = RemoteSource(args.remote) if args.remote else ProjectWatcher(Path(args.local))
    return Session(source)


def show_in_window(view: Any) -> Any:
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    window.setCentralWidget(view)
    window.resize(1200, 780)
    window.show()
    view.tabs.setCurrentWidget(view.features)  # the table under measure is the one on screen
    return window


class Profiles:
    """cProfile of the GUI thread over named spans, one pstats file per span (`--profile FILE`: FILE for the
    first span, FILE with `-NAME` before its suffix for the others)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.spans: dict[str, Any] = {}
        self._current: Any = None

    def begin(self, name: str) -> None:
        if self.path is None:
            return
        import cProfile

        self.end()
        self._current = self.spans[name] = cProfile.Profile()
        self._current.enable()

    def end(self) -> None:
        if self._current is not None:
            self._current.disable()
            self._current = None

    def dump(self) -> None:
        self.end()
        if self.path is None:
            return
        for index, (name, profile) in enumerate(self.spans.items()):
            path = self.path if index == 0 else self.path.with_name(f"{self.path.stem}-{name}{self.path.suffix}")
            profile.dump_stats(str(path))


async def run_session(args: argparse.Namespace, profiles: Profiles) -> None:
    session = make_session(args)
    window = show_in_window(session.view)
    commands = read_commands(asyncio.get_running_loop())
    meter = StallMeter()
    meter.start()
    begin = now()
    session.start()
    if not await until_loaded(session, args.timeout):
        emit(e="failed", reason=f"not loaded within {args.timeout} s", source=dict(session.store.source))
        return
    reporter = RowReporter(session.view.features.model)  # after the load: its reset is no change of ours
    emit(e="ready", load_ms=(now() - begin) / 1e6, rows=session.view.features.model.rowCount(), package=package_dir())
    profiles.begin("changes")
    while (command := await commands.get()) != "quit":
        if command == "report":
            emit(e="report", **stall_report(meter), rss_kb=proc_status_kb("VmRSS"))
    profiles.end()
    meter.stop()
    del reporter  # kept until here: its slots live as long as it does
    session.stop()
    window.close()


async def run_desktop(args: argparse.Namespace, profiles: Profiles) -> None:
    from buildrunner_gui.app import DesktopApp
    from buildrunner_gui.settings import AppSettings

    desktop = DesktopApp(AppSettings(str(args.settings)), server_port=0)
    loaded_at: dict[str, int] = {}

    def added(session_id: str) -> None:
        desktop.sessions[session_id].loaded_changed.connect(lambda sid: loaded_at.setdefault(sid, now()))

    desktop.manager.added.connect(added)
    meter = StallMeter()
    meter.start()
    await asyncio.sleep(args.idle)  # the loop's own noise before anything opens
    begin = now()
    profiles.begin("opening")
    await desktop.start(args.local, mirrors=[(url, None) for url in args.mirror])
    started = now()
    try:
        await asyncio.wait_for(desktop.manager.wait_loaded(), args.timeout)
        loaded = now()
    except TimeoutError:
        loaded = 0  # reported as not loaded; the stalls until now still count
    after = now()
    profiles.begin("after")
    await asyncio.sleep(args.after)
    end = now()
    profiles.end()
    meter.stop()
    until = loaded or after
    emit(
        e="result",
        package=package_dir(),
        sessions=len(desktop.sessions),
        loaded=len(loaded_at),
        live=sum(1 for s in desktop.sessions.values() if s.liveness.live),
        rows=sum(s.view.features.model.rowCount() for s in desktop.sessions.values()),
        start_ms=(started - begin) / 1e6,
        loaded_ms=(loaded - begin) / 1e6 if loaded else None,
        each_loaded_ms=sorted(round((stamp - begin) / 1e6, 1) for stamp in loaded_at.values()),
        idle=meter.summary(begin - int(args.idle * 1e9), begin),
        opening=meter.summary(begin, until + 1),
        after=meter.summary(until, end),
        rss_kb=proc_status_kb("VmRSS"),
    )
    await asyncio.wait_for(desktop.shutdown(), 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("session", "desktop"))
    parser.add_argument("--remote", help="session: the stream URL to mirror")
    parser.add_argument("--local", nargs="*", default=[], help="session: one folder; desktop: local projects")
    parser.add_argument("--mirror", nargs="*", default=[], help="desktop: stream URLs to mirror")
    parser.add_argument("--settings", type=Path, help="desktop: the settings file (INI) to use")
    parser.add_argument("--idle", type=float, default=1.0, help="desktop: seconds ticking before start")
    parser.add_argument("--after", type=float, default=5.0, help="desktop: seconds measured after all loaded")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the sessions to load")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the GUI thread here (pstats file)")
    args = parser.parse_args()
    if args.mode == "session":
        if bool(args.remote) == bool(args.local):
            parser.error("session: give --remote URL or --local FOLDER")
        args.local = args.local[0] if args.local else None

    from buildrunner_gui import runtime
    from buildrunner_gui.app import make_application

    runtime.tune_garbage_collector()  # as the app's entry point does
    if hasattr(runtime, "pin_mmap_threshold"):  # (a checkout from before it: `--tree`)
        runtime.pin_mmap_threshold()
    loop = make_application()  # the app's QApplication (Fusion, palette) and its qasync loop
    profiles = Profiles(args.profile)
    mode = run_session if args.mode == "session" else run_desktop
    with loop:
        loop.run_until_complete(mode(args, profiles))
    profiles.dump()
    emit(e="bye")
    os._exit(0)  # no teardown of thousands of rows' widgets to wait for


if __name__ == "__main__":
    main()
