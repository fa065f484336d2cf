"""Build runs in the window: a line the build prints -> the same line at a mirror client; a flood of output; cancel.

The real window (`DesktopApp`, offscreen, its own server on port 0) opens a project and runs build commands that
are small Python scripts (real child processes in their own process group), as Start does:

1. latency: the child prints `L <i> <CLOCK_MONOTONIC ns>` every 10 ms (flushed); a real websockets client in
   its own process, connected to the window's server, stamps each `terminal_output` with that line on arrival
   (CLOCK_MONOTONIC is one clock for every process of the machine). Target p50 < 5 ms, p99 < 20 ms.
2. flood: the child writes 200,000 lines as fast as it can. Counted: the lines in the run's output log (the
   run history; target: none lost); the GUI thread's longest stall (a 5 ms precise QTimer: the longest gap
   beyond its interval, from Start until the run's end; target < 50 ms); the window's memory (VmRSS before,
   after, and its peak VmHWM; target: bounded). The mirror client's count of the lines it received is shown.
3. cancel: the child ignores SIGTERM and starts a grandchild that ignores it too; the time from Cancel until no
   process of the run's group is left (zombies aside; /proc scanned every 20 ms). Target < 6 s (SIGKILL comes
   5 s after SIGTERM).

Run: .venv/bin/python bench/bench_runs.py [--lines 1000] [--flood 200000] [--cancels 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import _benchlib as bl

bl.use_offscreen_qt()

LATENCY_P50_MS, LATENCY_P99_MS = 5.0, 20.0
STALL_TARGET_MS = 50.0
CANCEL_TARGET_S = 6.0
TICK_MS = 5

LATENCY_CHILD = """
import sys, time
for i in range(int(sys.argv[1])):
    print(f"L {i} {time.monotonic_ns()}", flush=True)
    time.sleep(0.01)
print("END", flush=True)
"""

FLOOD_CHILD = """
import sys
write = sys.stdout.write
for i in range(int(sys.argv[1])):
    write(f"F {i} of the flood, a line about as long as a compiler's\\n")
sys.stdout.flush()
print("FEND", flush=True)
"""

STUBBORN_CHILD = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
subprocess.Popen([sys.executable, "-c", code])
print("ready", flush=True)
time.sleep(600)
"""

# The mirror client: its own process, a real websockets client. Prints one JSON line per phase.
CLIENT = """
import json, sys, time
from websockets.sync.client import connect
latencies, flood = [], 0
with connect(sys.argv[1], max_size=None) as client:
    print(json.dumps({"ready": True}), flush=True)
    for frame in client:
        arrived = time.monotonic_ns()
        message = json.loads(frame)
        if message.get("type") != "terminal_output" or message.get("source") != "build":
            continue
        output = message["output"]
        if output.startswith("L "):
            latencies.append(arrived - int(output.split()[2]))
        elif output == "END":
            print(json.dumps({"latencies_ns": latencies}), flush=True)
        elif output.startswith("F "):
            flood += 1
        elif output == "FEND":
            print(json.dumps({"flood": flood}), flush=True)
"""


def proc_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def group_alive(pgid: int) -> int:
    """Processes of the group that are not zombies."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            count += 1
    return count


class Ticks:
    """A 5 ms precise QTimer on the GUI thread: its tick times."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.stamps = array("q")
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(lambda: self.stamps.append(time.perf_counter_ns()))

    def start(self) -> None:
        self.stamps.append(time.perf_counter_ns())
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.stamps.append(time.perf_counter_ns())

    def stalls_ms(self, begin: int, end: int) -> list[float]:
        stamps = self.stamps
        return [
            max(0, stamps[i] - stamps[i - 1] - TICK_MS * 1_000_000) / 1e6
            for i in range(1, len(stamps))
            if begin <= stamps[i] <= end
        ]


async def until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def scenario(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from buildrunner_gui.app import DesktopApp
    from buildrunner_gui.settings import AppSettings

    project = tmp / "proj"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    scripts = {}
    for name, text in (("latency", LATENCY_CHILD), ("flood", FLOOD_CHILD), ("stubborn", STUBBORN_CHILD)):
        path = tmp / f"{name}.py"
        path.write_text(text)
        scripts[name] = f"{shlex.quote(sys.executable)} -u {shlex.quote(str(path))}"
    desktop = DesktopApp(AppSettings(str(tmp / "settings.ini")), server_port=0)
    await desktop.start([str(project)])
    results: dict[str, Any] = {}
    client = None
    try:
        await asyncio.wait_for(desktop.manager.wait_loaded(), 30)
        session = next(iter(desktop.sessions.values()))
        sid = session.session_id
        runner = desktop.runs.runners[sid]
        assert desktop.server is not None, desktop.server_error
        client = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENT, desktop.server.url_for(sid), stdout=asyncio.subprocess.PIPE, limit=1 << 26
        )
        assert client.stdout is not None
        await asyncio.wait_for(client.stdout.readline(), 30)  # connected

        # 1. latency
        desktop.runs.use_command(sid, f"{scripts['latency']} {args.lines}")
        desktop.runs.start(sid)
        answer = json.loads(await asyncio.wait_for(client.stdout.readline(), 60 + args.lines * 0.05))
        results["latency_ms"] = bl.ns_to_ms(answer["latencies_ns"])
        await until(lambda: runner.state == "finished", 30)

        # 2. flood, the terminal on screen (as for a user watching the build's output)
        session.view.tabs.setCurrentWidget(session.view.terminal)
        ticks = Ticks()
        ticks.start()
        await asyncio.sleep(0.5)
        rss_before, hwm_before = proc_kb("VmRSS"), proc_kb("VmHWM")
        desktop.runs.use_command(sid, f"{scripts['flood']} {args.flood}")
        begin = time.perf_counter_ns()
        desktop.runs.start(sid)
        run_id = runner.run["run_id"] if runner.run else ""
        await until(lambda: runner.state == "finished", 300)
        end = time.perf_counter_ns()
        await asyncio.sleep(0.5)
        ticks.stop()
        log_path = desktop.runs.history.log_path(str(project), run_id)
        with open(log_path, "rb") as stream:
            flood_lines = sum(1 for line in stream if line.startswith(b"F "))
        try:
            received = json.loads(await asyncio.wait_for(client.stdout.readline(), 60))["flood"]
        except TimeoutError:
            received = None
        results.update(
            flood_lines=flood_lines,
            flood_seconds=(end - begin) / 1e9,
            flood_exit=runner.run["exit_code"] if runner.run else None,
            stalls_ms=ticks.stalls_ms(begin, end),
            rss_before_mb=rss_before / 1024,
            rss_after_mb=proc_kb("VmRSS") / 1024,
            hwm_growth_mb=(proc_kb("VmHWM") - hwm_before) / 1024,
            client_flood=received,
            terminal_lines=session.view.terminal.line_count(),
        )

        # 3. cancel
        cancels = []
        desktop.runs.use_command(sid, scripts["stubborn"])
        for _ in range(args.cancels):
            desktop.runs.start(sid)
            seen = runner.lines_published
            await until(lambda seen=seen: runner.lines_published > seen and runner.pgid > 0, 30)
            await asyncio.sleep(0.2)  # the grandchild has started by now
            pgid = runner.pgid
            before = group_alive(pgid)
            started = time.perf_counter_ns()
            desktop.runs.cancel(sid)
            await until(lambda pgid=pgid: group_alive(pgid) == 0, 20)
            cancels.append(((time.perf_counter_ns() - started) / 1e9, before))
            await until(lambda: runner.state == "finished", 20)
        results["cancel_s"] = [seconds for seconds, _ in cancels]
        results["cancel_group"] = [count for _, count in cancels]
    finally:
        if client is not None and client.returncode is None:
            client.kill()
            await client.wait()
        await asyncio.wait_for(desktop.shutdown(), 30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000, help="lines timed one by one (10 ms apart)")
    parser.add_argument("--flood", type=int, default=200_000, help="lines of the flood")
    parser.add_argument("--cancels", type=int, default=3, help="cancels of a child that ignores SIGTERM")
    args = parser.parse_args()
    bl.print_header("bench_runs.py", __doc__.splitlines()[0])
    load = bl.MachineLoad()
    with bl.temp_dir("bench-runs-") as tmp:
        os.environ["BUILDRUNNER_GUI_DATA"] = str(tmp / "data")
        from buildrunner_gui.app import make_application

        loop = make_application()
        with loop:
            results = loop.run_until_complete(scenario(args, tmp))

    latency = results["latency_ms"]
    own = bl.Summary.of(latency)
    passed = len(latency) == args.lines and own.median < LATENCY_P50_MS and own.p99 < LATENCY_P99_MS
    bl.print_table(
        "1. A line the build prints -> that line at a mirror client (the window's server)",
        [
            bl.timed_row(
                f"line -> mirror client ({len(latency)} of {args.lines} lines)",
                latency,
                f"p50 < {LATENCY_P50_MS:g} ms, p99 < {LATENCY_P99_MS:g} ms",
                None,
                bl.verdict(passed),
            )
        ],
    )
    stalls = results["stalls_ms"]
    longest = max(stalls) if stalls else float("nan")
    rows = [
        bl.Row(
            "lines in the run's log",
            1,
            f"{results['flood_lines']:,}",
            "-",
            f"{args.flood:,} (none lost)",
            "-",
            bl.verdict(results["flood_lines"] == args.flood),
        ),
        bl.timed_row(
            f"GUI stall beyond the 5 ms tick (longest {bl.fmt_ms(longest)})",
            stalls,
            f"longest < {STALL_TARGET_MS:g} ms",
            None,
            bl.verdict(longest < STALL_TARGET_MS),
        ),
        bl.Row(
            "window memory: VmRSS before -> after; peak growth",
            1,
            f"{results['rss_before_mb']:.0f} -> {results['rss_after_mb']:.0f} MB",
            f"+{results['hwm_growth_mb']:.0f} MB",
            "bounded",
            "-",
            "info",
        ),
        bl.Row(
            "flood: start -> run ended",
            1,
            f"{results['flood_seconds']:.2f} s",
            "-",
            "-",
            "-",
            "info",
        ),
        bl.Row(
            "lines at the mirror client; terminal panel lines",
            1,
            f"{results['client_flood']}",
            f"{results['terminal_lines']:,}",
            "-",
            "-",
            "info",
        ),
    ]
    bl.print_table(f"2. The child prints {args.flood:,} lines as fast as it can (exit {results['flood_exit']})", rows)
    cancels = results["cancel_s"]
    bl.print_table(
        "3. Cancel -> no process of the run left (child and grandchild ignore SIGTERM)",
        [
            bl.timed_row(
                f"cancel -> group empty (group of {max(results['cancel_group'], default=0)} processes)",
                cancels,
                f"< {CANCEL_TARGET_S:g} s",
                None,
                bl.verdict(bool(cancels) and max(cancels) < CANCEL_TARGET_S),
                unit="s",
            )
        ],
    )
    print()
    print(load.report())


if __name__ == "__main__":
    main()
