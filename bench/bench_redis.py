"""Issue 16, "Past one machine": builds published to Redis Streams and served by dashboard servers, against the
direct `serve` path in the same run. Every server is a real `serve` process, the broker Debian's `redis-server`
on a free loopback port (nothing kept on disk), every project a small BuildRunner folder written as BuildRunner
writes it.

1. File write on the build machine → a client of a dashboard server, via Redis on loopback. One publisher
   (`serve PROJECT --publish redis://…`) and one dashboard (`serve redis://…`); a v1 client on each. Each write
   appends one marked line to the project's log; the time is from just before the write to the arrival of the
   `terminal_output` carrying it, at the publisher's client (the direct path, the baseline) and at the
   dashboard's. Writes 30-60 ms apart. Target: dashboard p99 < 3x the direct p99.
2. 3 publishing build machines (processes, one project each), 2 dashboard servers, `--clients` clients on each
   (two client processes, spread over the three sessions). A busy build writes into all three projects (a log line
   each every 40 ms, a checkpoint rewrite every 400 ms). The dashboards' CPU is measured over `--busy` seconds
   before the clients connect and as long again with them: the difference per 100 clients. Then the build stops:
   every client must have the last event of its session (its last seq = the seq of a fresh `status`), and every
   dashboard must serve every publisher's snapshot exactly (field by field, but `source`).
3. Broker down for `--outage` seconds during a busy build: the real window (`_redis_window.py`, offscreen,
   publishing through its Settings and serving) on one project, a dashboard, a build writing a log line every 20 ms
   and a checkpoint every 200 ms. Redis is killed (SIGKILL) after 5 s, started again (empty) after the outage, and
   the build stops as it returns. Measured: the window's longest stall over the whole span (target < 50 ms), and
   the time from Redis's return until the dashboard serves exactly the window's snapshot (target < 5 s).

Run: .venv/bin/python bench/bench_redis.py [--writes 200] [--clients 500] [--busy 8] [--outage 30]
     [--only latency,scale,outage]   (about 2.5 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _benchlib as bl
from _mirror_procs import PYTHON, REPO, Child, Children, children, die_with_parent

LATENCY_FACTOR = 3.0
STALL_TARGET_MS = 50.0
CONVERGE_TARGET_S = 5.0
SUBPROTOCOL = "buildrunner.v1"
SEQ = re.compile(r'"seq":(\d+)')


def now() -> int:
    return time.perf_counter_ns()


# ---------------------------------------------------------------------------- the broker and the projects


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Redis:
    """Debian's redis-server on a free loopback port, nothing kept on disk; killed and started again at will."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server not found: run scripts/setup --dev")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, *options, "--dir", str(self.folder)], stdout=log, stderr=log, preexec_fn=die_with_parent
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        sys.exit("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def make_project(root: Path, name: str) -> Path:
    project = root / name
    state = project / ".buildrunner"
    for folder in ("checkpoints", "logs", "context"):
        (state / folder).mkdir(parents=True)
    features = [
        {"id": f"feat-{i:03d}", "name": f"Feature {i}", "status": "planned", "progress": 0, "components": []}
        for i in range(40)
    ]
    replace(state / "features.json", {"project": name, "features": features})
    (state / "context" / "current-work.md").write_text("# Current work\n\nStarting\n")
    (state / "logs" / "build.log").write_text("")
    return project


def replace(path: Path, value: Any) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value))
    os.replace(temporary, path)


class BusyBuild:
    """Writes into projects as a busy build does: a log line every `tick` seconds, a checkpoint every tenth."""

    def __init__(self, projects: list[Path], tick: float) -> None:
        self.projects, self.tick, self.steps = projects, tick, 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self.steps += 1
            for project in self.projects:
                state = project / ".buildrunner"
                with (state / "logs" / "build.log").open("a") as log:
                    log.write(f"step {self.steps}: compiling module {self.steps % 97}\n")
                if self.steps % 10 == 0:
                    number = (self.steps // 10) % 30
                    body = {
                        "id": f"cp-{number:02d}",
                        "timestamp": f"2030-01-01T00:{number:02d}:00Z",
                        "phase": f"phase {self.steps}",
                        "status": "completed",
                        "tasks_completed": [f"task-{self.steps}"],
                        "files_created": [],
                    }
                    replace(state / "checkpoints" / f"cp-{number:02d}.json", body)
            await asyncio.sleep(self.tick)


# ---------------------------------------------------------------------------- servers


async def serve(kids: Children, name: str, args: list[str], sessions: int) -> tuple[Child, list[str]]:
    """A `serve` process on a free port, once it printed `sessions` stream URLs."""
    child = await kids.start(name, [PYTHON, "-m", "buildrunner_gui", "serve", *args, "--port", "0"])
    urls: list[str] = []
    while len(urls) < sessions:
        event = await child.event("text", 60)
        if event["text"].startswith("serving "):
            urls.append(event["text"].split(" ", 1)[1])
    return child, urls


async def listed(broker: Redis, sessions: set[str], timeout: float = 30) -> None:
    """Until every session is listed on the broker (a dashboard started then serves them at once)."""
    import redis.asyncio as client_module

    client = client_module.from_url(broker.url)
    try:
        async with asyncio.timeout(timeout):
            while not sessions <= {key.decode() for key in await client.hkeys("buildrunner:sessions")}:
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


async def http_json(port: int, path: str) -> Any:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        length = next(int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:"))
        return json.loads(await reader.readexactly(length))
    finally:
        writer.close()


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key != "source"}


async def same_state(port_a: int, port_b: int, session: str, session_b: str | None = None) -> bool:
    a = await http_json(port_a, f"/api/build/status/{session}")
    b = await http_json(port_b, f"/api/build/status/{session_b or session}")
    return comparable(a) == comparable(b)


async def eventually_same(port_a: int, port_b: int, session: str, timeout: float = 10.0) -> bool:
    """Whether both serve the same snapshot within `timeout` (what is in flight arrives meanwhile)."""
    deadline = time.monotonic() + timeout
    while not await same_state(port_a, port_b, session):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- 1. latency


async def latency(kids: Children, root: Path, writes: int) -> list[bl.Row]:
    from websockets.asyncio.client import connect

    broker = Redis(root)
    broker.start()
    try:
        project = make_project(root, "lat")
        _, direct_urls = await serve(kids, "publisher", [str(project), "--publish", broker.url], 1)
        await listed(broker, {"lat"})
        _, dashboard_urls = await serve(kids, "dashboard", [broker.url], 1)
        arrivals: dict[str, dict[int, int]] = {"direct": {}, "broker": {}}

        async def read(side: str, url: str, ready: asyncio.Event) -> None:
            async with connect(url, subprotocols=[SUBPROTOCOL], compression=None, max_size=None) as client:  # type: ignore[list-item]
                ready.set()
                async for frame in client:
                    stamp = now()
                    if '"terminal_output"' in frame and "mark-" in frame:
                        for match in re.finditer(r"mark-(\d+)", str(frame)):
                            arrivals[side].setdefault(int(match.group(1)), stamp)

        readies = [asyncio.Event(), asyncio.Event()]
        readers = [
            asyncio.create_task(read("direct", direct_urls[0], readies[0])),
            asyncio.create_task(read("broker", dashboard_urls[0], readies[1])),
        ]
        await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(1.0)
        log = project / ".buildrunner" / "logs" / "build.log"
        written: dict[int, int] = {}
        for number in range(writes):
            written[number] = now()
            with log.open("a") as out:
                out.write(f"mark-{number}\n")
            async with asyncio.timeout(10):
                while number not in arrivals["direct"] or number not in arrivals["broker"]:
                    await asyncio.sleep(0.001)
            await asyncio.sleep(random.uniform(0.03, 0.06))
        for reader in readers:
            reader.cancel()
        direct = [(arrivals["direct"][n] - written[n]) / 1e6 for n in written]
        via = [(arrivals["broker"][n] - written[n]) / 1e6 for n in written]
        passed = bl.percentile(via, 0.99) < LATENCY_FACTOR * bl.percentile(direct, 0.99)
        return [
            bl.timed_row(
                "file write → client of the publisher's own server (direct)", direct, "baseline", None, "info"
            ),
            bl.timed_row(
                "file write → client of a dashboard server via Redis",
                via,
                f"p99 < {LATENCY_FACTOR:g}x direct",
                direct,
                bl.verdict(passed),
            ),
        ]
    finally:
        await kids.stop_all()
        broker.stop()


# ---------------------------------------------------------------------------- 2. scale


async def scale(kids: Children, root: Path, clients: int, busy: float) -> list[bl.Row]:
    broker = Redis(root)
    broker.start()
    names = ["m1", "m2", "m3"]
    try:
        projects = [make_project(root, name) for name in names]
        publishers = [
            (await serve(kids, f"publisher-{p.name}", [str(p), "--publish", broker.url], 1)) for p in projects
        ]
        await listed(broker, set(names))
        dashboards = [
            await serve(kids, f"dashboard-{n}", [broker.url, "--max-clients", str(clients + 50)], 3) for n in (1, 2)
        ]
        build = BusyBuild(projects, 0.04)
        build.start()
        await asyncio.sleep(2.0)  # steady
        before = [cpu_seconds(child.process.pid) for child, _ in dashboards]
        await asyncio.sleep(busy)
        idle_cpu = [
            cpu_seconds(child.process.pid) - start for (child, _), start in zip(dashboards, before, strict=True)
        ]
        crowds = [
            await kids.start(f"clients-{n}", [PYTHON, __file__, "--clients-child", str(clients), *urls])
            for n, (_, urls) in enumerate(dashboards, 1)
        ]
        for crowd in crowds:
            event = await crowd.event("connected", 180)
            if event.get("e") != "connected":
                raise RuntimeError(f"clients: {event}")
        await asyncio.sleep(2.0)
        before = [cpu_seconds(child.process.pid) for child, _ in dashboards]
        await asyncio.sleep(busy)
        crowd_cpu = [
            cpu_seconds(child.process.pid) - start for (child, _), start in zip(dashboards, before, strict=True)
        ]
        await build.stop()
        await asyncio.sleep(3.0)  # everything in flight arrives
        converged = total = 0
        for crowd in crowds:
            crowd.send("report")
            report = await crowd.event("report", 120)
            converged += report["converged"]
            total += report["clients"]
        exact = 0
        publisher_port = {urls[0].rsplit("/", 1)[-1]: port_of(urls[0]) for _, urls in publishers}
        for _, urls in dashboards:
            for url in urls:
                session = url.rsplit("/", 1)[-1]
                exact += await eventually_same(publisher_port[session], port_of(url), session)
        per_100 = [
            (crowd - idle) / busy * 100 / (clients / 100) for crowd, idle in zip(crowd_cpu, idle_cpu, strict=True)
        ]
        return [
            bl.Row(
                f"clients that converged (2 dashboards x {clients}, 3 publishers)",
                total,
                f"{converged}/{total}",
                "-",
                "every client",
                "-",
                bl.verdict(converged == total),
            ),
            bl.Row(
                "dashboard snapshots equal to their publisher's",
                6,
                f"{exact}/6",
                "-",
                "every one",
                "-",
                bl.verdict(exact == 6),
            ),
            bl.Row(
                "dashboard CPU per 100 clients (% of one core, busy build)",
                2,
                " / ".join(f"{value:.1f} %" for value in per_100),
                "-",
                "measured",
                "without clients: " + " / ".join(f"{cpu / busy * 100:.1f} %" for cpu in idle_cpu),
                "info",
            ),
        ]
    finally:
        await kids.stop_all()
        broker.stop()


async def crowd(count: int, urls: list[str]) -> None:
    """The clients child: `count` v1 clients spread over `urls`, each keeping the last seq it got."""
    from websockets.asyncio.client import connect

    last: list[int] = [0] * count
    tasks: list[asyncio.Task[None]] = []
    opened = 0

    async def client(index: int, url: str, ready: asyncio.Event) -> None:
        nonlocal opened
        async with connect(
            url,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            compression=None,
            max_size=None,
            open_timeout=120,
            ping_interval=None,
        ) as socket_:
            opened += 1
            ready.set()
            async for frame in socket_:
                found = SEQ.search(frame if isinstance(frame, str) else frame.decode(), 0, 300)
                if found:
                    last[index] = int(found.group(1))

    for start in range(0, count, 50):  # in waves, as people open a page
        readies = []
        for index in range(start, min(count, start + 50)):
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(asyncio.create_task(client(index, urls[index % len(urls)], ready)))
        await asyncio.gather(*(ready.wait() for ready in readies))
    print(json.dumps({"e": "connected", "clients": opened}), flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() == "report":
        current = {}
        for url in urls:  # a fresh client's `status` carries the session's current seq
            async with connect(url, subprotocols=[SUBPROTOCOL], compression=None, max_size=None) as probe:  # type: ignore[list-item]
                for _ in range(2):
                    message = json.loads(await probe.recv())
                    if message["type"] == "status":
                        current[url] = message["seq"]
        converged = sum(1 for index in range(count) if last[index] == current[urls[index % len(urls)]])
        print(json.dumps({"e": "report", "clients": count, "converged": converged}), flush=True)
    for task in tasks:
        task.cancel()


# ---------------------------------------------------------------------------- 3. outage


async def outage(kids: Children, root: Path, seconds: float) -> list[bl.Row]:
    broker = Redis(root)
    broker.start()
    try:
        project = make_project(root, "out")
        window = await kids.start(
            "window", [PYTHON, str(Path(__file__).parent / "_redis_window.py"), str(project), broker.url,
                       str(root / "settings.ini")]
        )  # fmt: skip
        ready = await window.event("ready", 120)
        window_port = ready["port"]
        await listed(broker, {"out"})
        _, urls = await serve(kids, "dashboard", [broker.url], 1)
        dashboard_port = port_of(urls[0])
        build = BusyBuild([project], 0.02)
        build.start()
        await asyncio.sleep(1.0)
        window.send("stall")
        await window.event("stall", 10)  # the measure starts here
        await asyncio.sleep(5.0)
        broker.kill()
        await asyncio.sleep(seconds)
        broker.start()
        returned = time.monotonic()
        await build.stop()
        converged_s = float("nan")
        async with asyncio.timeout(60):
            while True:
                if await same_state(window_port, dashboard_port, "out"):
                    converged_s = time.monotonic() - returned
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        window.send("stall")
        stall = await window.event("stall", 10)
        return [
            bl.Row(
                f"window's longest stall: busy build, broker down {seconds:g} s and back",
                stall["ticks"],
                bl.fmt_ms(stall["max_ms"]),
                "-",
                f"< {STALL_TARGET_MS:g} ms",
                "-",
                bl.verdict(stall["max_ms"] < STALL_TARGET_MS),
            ),
            bl.Row(
                "broker back → the dashboard serves the window's snapshot exactly",
                1,
                f"{converged_s:.2f} s",
                "-",
                f"< {CONVERGE_TARGET_S:g} s",
                "-",
                bl.verdict(converged_s < CONVERGE_TARGET_S),
            ),
        ]
    finally:
        await kids.stop_all()
        broker.stop()


# ---------------------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    parts = args.only.split(",")
    bl.print_header("bench_redis.py", "sessions published to Redis Streams and served by dashboard servers")
    rows: list[bl.Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as temporary:
        root = Path(temporary)
        async with children(root / "logs", REPO) as kids:
            if "latency" in parts:
                (root / "latency").mkdir()
                rows += await latency(kids, (root / "latency").resolve(), args.writes)
            if "scale" in parts:
                (root / "scale").mkdir()
                rows += await scale(kids, (root / "scale").resolve(), args.clients, args.busy)
            if "outage" in parts:
                (root / "outage").mkdir()
                rows += await outage(kids, (root / "outage").resolve(), args.outage)
    bl.print_table("Many machines (issue 16)", rows)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--clients-child":
        asyncio.run(crowd(int(sys.argv[2]), sys.argv[3:]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--clients", type=int, default=500, help="clients on each dashboard")
    parser.add_argument("--busy", type=float, default=8.0, help="seconds the dashboards' CPU is measured, each way")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the broker is down")
    parser.add_argument("--only", default="latency,scale,outage")
    asyncio.run(main(parser.parse_args()))
