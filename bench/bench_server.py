"""Issue 3: the mirror server, measured from real WebSocket clients against a server in its own process.

Each server runs in a child process (`_serve_variant.py`): a ProjectWatcher on a temp project feeding
`MirrorServer.publish` on a qasync loop, as `buildrunner-gui serve` wires it, with a 5 ms QTimer that measures the
longest event-loop stall. Two variants run in the same invocation:

- `ours`: MirrorServer as it is (per-client queues, `server/channel.py`);
- `seed`: the baseline in BuildRunner's own style: one task per batch sending each message with one sequential
  `await connection.send(frame)` per client, no per-client queues.

Clients are `websockets` asyncio clients in this process, on 127.0.0.1, compression off. A latency is the time
stamped here just before the file write to the time a client's reader coroutine receives the message that write
caused, identified by its content (a checkpoint's unique phase, or a unique marker line at the end of a log
append). Writes are spaced: the next starts after every client got the previous one and a short settle.
Where ours and seed can share the machine fairly (1 and 100 clients, the burst), both servers run at once and
their writes alternate; the stalled-client comparison runs two servers of one variant at once, one of them with the
stalled client, writes alternating; the 1,000-client runs take one server at a time.

Measures (targets from the issue; rows are numbered as in the issue's table):
1. write -> message, 1 client: p50 < 3 ms, p99 < 10 ms;
2. write -> message received by all of 100 clients (the last of the 100 per write): p99 < 25 ms;
3. 1,000 clients connected, one update: all receive it, p99 < 250 ms (the server runs with max_clients 1,100);
4. 1 stalled client (handshake on a raw socket, then never reads) + 50 live ones, ~40 KB log appends: live
   clients' p99 within 20 % of the same server's no-stall run; server memory bounded;
5. memory per idle connected client < 100 KB (server VmRSS delta for 1,000 idle clients / 1,000);
6. a 10,000-line burst (one write to .buildrunner/logs/x.log) with 100 clients: each client ends with all 10,000
   lines, or a `status` whose terminal matches; the server's loop never stalls > 50 ms.

Run: .venv/bin/python bench/bench_server.py [--writes 500] [--fanout-writes 200] [--clients 1000] [--repeats 10]
     [--stall-writes 100] [--bursts 5]   (about a minute on 2 CPUs)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _benchlib as bl
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HERE = Path(__file__).resolve().parent
# BENCH_SERVER_CHILD=path runs another child script in its place (to measure a prototype of a fix)
CHILD = Path(os.environ.get("BENCH_SERVER_CHILD", HERE / "_serve_variant.py"))
MODES = ("ours", "seed")
CHECKPOINT = ".buildrunner/checkpoints/live.json"
STALL_LOG = ".buildrunner/logs/stall.log"
BURST_LOG = ".buildrunner/logs/x.log"
SETTLE_S = 0.005
WAIT_S = 2.0  # a write not received by every client within this long counts as lost
CONNECT_WAVE = 50  # concurrent handshakes (the server's listen backlog is 100)
APPEND_BYTES = 40_000
PREFILL_MAX = 400  # unmeasured appends at most, to fill a stalled client's kernel buffers (~4 MB here)
BURST_LINES = 10_000
TERMINAL_LINES = 1_000  # the snapshot's terminal keeps the last 1,000 lines (protocol.md)
NS = bl.NS_PER_MS


# ---------------------------------------------------------------------------- the server child


class ServerChild:
    """One `_serve_variant.py` process: start, ask for stats over stdin/stdout, stop with SIGTERM."""

    def __init__(self, mode: str, project: Path, max_clients: int = 200) -> None:
        self.mode = mode
        self.project = project
        self.max_clients = max_clients
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.session_id = ""
        self.final: dict[str, Any] = {}

    async def start(self) -> None:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            "--mode",
            self.mode,
            "--max-clients",
            str(self.max_clients),
            str(self.project),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        hello = await self._line(30)
        self.port, self.session_id = hello["port"], hello["session_id"]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/build/stream/{self.session_id}"

    async def _line(self, timeout: float = 10) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"server child ({self.mode}) exited")
        return json.loads(line)

    async def command(self, word: str) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{word}\n".encode())
        await self.process.stdin.drain()
        return await self._line()

    async def stats(self) -> dict[str, Any]:
        return await self.command("stats")

    async def reset(self) -> dict[str, Any]:
        """Zero the stall counters and the peak RSS; returns the stats up to now."""
        return await self.command("reset")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return -1

    async def stop(self) -> dict[str, Any]:
        if self.process is None or self.process.returncode is not None:
            return self.final
        self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError, RuntimeError, json.JSONDecodeError):
            self.final = await self._line(20)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        return self.final


def make_project(root: Path) -> Path:
    for folder in ("checkpoints", "logs", "context"):
        (root / ".buildrunner" / folder).mkdir(parents=True, exist_ok=True)
    write_checkpoint(root, 0)
    (root / STALL_LOG).write_bytes(b"")
    (root / BURST_LOG).write_bytes(b"")
    return root


def checkpoint_body(index: int) -> dict[str, Any]:
    """A checkpoint as BuildRunner 3 writes it; write `index` is identified by its phase."""
    return {
        "id": "live",
        "timestamp": f"2026-11-25T12:{index // 60000 % 60:02d}:{index // 1000 % 60:02d}.{index % 1000:03d}000",
        "phase": f"build_live_{index:05d}",
        "tasks_completed": [f"task-{index}"],
        "files_created": [],
        "status": "active",
        "metadata": {"name": f"build_live_{index:05d}", "description": "benchmark write", "created_by": "cli"},
        "completion": (index % 1000) / 10,
    }


def write_checkpoint(project: Path, index: int) -> None:
    with open(project / CHECKPOINT, "wb") as handle:  # BuildRunner's way: open/truncate, write, close
        handle.write(json.dumps(checkpoint_body(index)).encode())


def append(project: Path, rel: str, data: bytes) -> None:
    with open(project / rel, "ab") as handle:  # one write() call
        handle.write(data)


def log_chunk(tag: str, size: int) -> tuple[bytes, str]:
    """About `size` bytes of build-log lines ending with a unique marker line; returns (bytes, marker)."""
    marker = f"MARK-{tag}-END"
    lines = []
    total = 0
    number = 0
    while total < size - 100:
        line = (
            f"[{tag} {number:04d}] cc -O2 -c src/module_{number % 97:02d}.c -o build/module_{number % 97:02d}.o"
            " ... warning: unused variable 'tmp' [-Wunused-variable]"
        )
        lines.append(line)
        total += len(line) + 1
        number += 1
    lines.append(marker)
    return ("\n".join(lines) + "\n").encode(), marker


def burst_lines(tag: str) -> list[str]:
    """10,000 distinct lines of terminal output, 61-121 characters (about 920 KB: four 256 KiB log reads)."""
    return [
        f"{tag} {i:05d} | step {i % 37:02d}/37 compiling package_{i % 211:03d}/module.py" + " ." * (i % 31) + " ok"
        for i in range(BURST_LINES)
    ]


# ---------------------------------------------------------------------------- clients


class Hub:
    """The clients of one server; knows which marker the current write should produce and who has seen it."""

    def __init__(self) -> None:
        self.clients: list[Client] = []
        self.marker: str | None = None
        self.prefix = ""
        self.arrivals: dict[int, int] = {}
        self.done = asyncio.Event()
        self.recording = False  # keep every frame (the burst's convergence check)

    def arm(self, marker: str, prefix: str = "") -> None:
        self.marker, self.prefix = marker, prefix
        self.arrivals = {}
        self.done.clear()

    def disarm(self) -> None:
        self.marker = None

    def on_frame(self, client: Client, frame: str, now: int) -> None:
        if self.recording:
            client.frames.append(frame)
        marker = self.marker
        if (
            marker is not None
            and client.index not in self.arrivals
            and frame.startswith(self.prefix)
            and marker in frame
        ):
            self.arrivals[client.index] = now
            if len(self.arrivals) == len(self.clients):
                self.done.set()


class Client:
    def __init__(self, index: int, hub: Hub) -> None:
        self.index = index
        self.hub = hub
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.greeted = asyncio.Event()  # `connection` and `status` have arrived
        self.frames: list[str] = []

    async def open(self, url: str) -> None:
        self.ws = await connect(
            url, compression=None, max_size=None, ping_interval=None, open_timeout=60, close_timeout=5
        )
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        seen = 0
        try:
            async for frame in self.ws:
                now = time.perf_counter_ns()
                if seen < 2:
                    seen += 1
                    if seen == 2:
                        self.greeted.set()
                self.hub.on_frame(self, frame, now)  # type: ignore[arg-type]
        except ConnectionClosed:
            pass


async def connect_clients(hub: Hub, url: str, count: int) -> list[Client]:
    new = [Client(len(hub.clients) + i, hub) for i in range(count)]
    for start in range(0, count, CONNECT_WAVE):
        wave = new[start : start + CONNECT_WAVE]
        await asyncio.gather(*(client.open(url) for client in wave))
    await asyncio.wait_for(asyncio.gather(*(client.greeted.wait() for client in new)), 60)
    hub.clients.extend(new)
    return new


async def close_clients(clients: list[Client]) -> None:
    for start in range(0, len(clients), 200):
        await asyncio.gather(
            *(c.ws.close() for c in clients[start : start + 200] if c.ws is not None), return_exceptions=True
        )
    tasks = [c.task for c in clients if c.task is not None]
    if tasks:
        await asyncio.wait(tasks, timeout=10)


class StalledClient:
    """Does the WebSocket handshake on a raw socket, then never reads again: its TCP buffers fill up."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None

    async def open(self, port: int, session_id: str) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /api/build/stream/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
            if not chunk:
                raise RuntimeError("stalled client: connection closed during the handshake")
            received += chunk
        if not received.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"stalled client: handshake refused: {received[:80]!r}")
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()  # unread data: the kernel answers with a reset
            self.sock = None


# ---------------------------------------------------------------------------- one write, measured


@dataclass
class Series:
    """Per write: each client's latency (inf = not received within the wait) and the last client's."""

    per_client_ms: list[float] = field(default_factory=list)
    last_ms: list[float] = field(default_factory=list)
    lost: int = 0  # (write, client) pairs never received within the wait
    timeouts: int = 0  # writes not received by every client

    def add(self, start_ns: int, arrivals: dict[int, int], clients: int) -> None:
        values = [(at - start_ns) / NS for at in arrivals.values()]
        self.per_client_ms.extend(values)
        missing = clients - len(values)
        if missing:
            self.lost += missing
            self.timeouts += 1
            self.per_client_ms.extend([math.inf] * missing)
            self.last_ms.append(math.inf)
        else:
            self.last_ms.append(max(values))


async def measured_write(
    hub: Hub, marker: str, prefix: str, write: Callable[[], None], series: Series, wait_s: float = WAIT_S
) -> bool:
    """Stamp, write, and wait until every client of `hub` received a frame starting with `prefix` and containing
    `marker` (or `wait_s` passed); the arrivals go into `series`. True when every client got it."""
    hub.arm(marker, prefix)
    start = time.perf_counter_ns()
    write()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hub.done.wait(), wait_s)
    series.add(start, dict(hub.arrivals), len(hub.clients))
    ok = hub.done.is_set()
    hub.disarm()
    return ok


@dataclass
class Side:
    """One server variant with its project, its clients and a write counter."""

    mode: str
    project: Path
    child: ServerChild
    hub: Hub = field(default_factory=Hub)
    index: int = 0

    async def checkpoint_write(self, series: Series, wait_s: float = WAIT_S) -> bool:
        self.index += 1
        index = self.index
        return await measured_write(
            self.hub,
            f'"phase":"build_live_{index:05d}"',
            '{"type":"checkpoint_update"',
            lambda: write_checkpoint(self.project, index),
            series,
            wait_s,
        )


async def start_side(mode: str, root: Path, max_clients: int = 200) -> Side:
    project = make_project(root / f"{mode}-{time.perf_counter_ns()}")
    child = ServerChild(mode, project, max_clients)
    await child.start()
    return Side(mode, project, child)


async def stop_side(side: Side) -> dict[str, Any]:
    final = await side.child.stop()
    await close_clients(side.hub.clients)
    return final


# ---------------------------------------------------------------------------- scenarios


@dataclass
class Results:
    latency1: dict[str, Series] = field(default_factory=dict)
    fanout: dict[str, Series] = field(default_factory=dict)
    fanout_stall_ms: dict[str, float] = field(default_factory=dict)
    thousand: dict[str, Series] = field(default_factory=dict)
    thousand_connect_s: dict[str, float] = field(default_factory=dict)
    thousand_stall_ms: dict[str, float] = field(default_factory=dict)
    per_client_kb: dict[str, float] = field(default_factory=dict)
    idle_rss_kb: dict[str, tuple[int, int]] = field(default_factory=dict)
    nostall: dict[str, Series] = field(default_factory=dict)
    stalled: dict[str, Series] = field(default_factory=dict)
    stall_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    burst_ms: dict[str, list[float]] = field(default_factory=dict)
    burst_loop_ms: dict[str, list[float]] = field(default_factory=dict)
    burst_loop_cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    burst_converged: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)  # (full, via status, of)
    burst_lagging: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    clients: int = 1000  # of the idle-memory / one-update run


async def run_latency_and_fanout(tmp: Path, writes: int, fanout_writes: int, results: Results) -> None:
    """Both servers at once; writes alternate between them. 1 client each, then 100 clients each."""
    sides = [await start_side(mode, tmp) for mode in MODES]
    try:
        for side in sides:
            await connect_clients(side.hub, side.child.url, 1)
        await asyncio.sleep(0.3)
        for side in sides:
            results.latency1[side.mode] = Series()
            await side.child.reset()
        for _ in range(writes):
            for side in sides:
                await side.checkpoint_write(results.latency1[side.mode])
                await asyncio.sleep(SETTLE_S)
        for side in sides:
            await connect_clients(side.hub, side.child.url, 99)
        await asyncio.sleep(0.5)
        for side in sides:
            results.fanout[side.mode] = Series()
            await side.child.reset()
        for _ in range(fanout_writes):
            for side in sides:
                await side.checkpoint_write(results.fanout[side.mode])
                await asyncio.sleep(SETTLE_S)
        for side in sides:
            results.fanout_stall_ms[side.mode] = (await side.child.stats())["max_stall_ms"]
    finally:
        for side in sides:
            await stop_side(side)


async def run_thousand(tmp: Path, mode: str, clients: int, repeats: int, results: Results) -> None:
    """1,000 idle clients: the server's RSS per client; then a few single updates, each to all of them."""
    side = await start_side(mode, tmp, max_clients=clients + 100)
    try:
        warm = await connect_clients(side.hub, side.child.url, 10)  # first-use allocations, imports
        await close_clients(warm)
        side.hub.clients.clear()
        await asyncio.sleep(0.5)
        rss0 = side.child.rss_kb()
        began = time.perf_counter()
        await connect_clients(side.hub, side.child.url, clients)
        results.thousand_connect_s[mode] = time.perf_counter() - began
        await asyncio.sleep(1.0)
        stats = await side.child.stats()
        if stats["clients"] != clients:
            results.notes.append(f"{mode}: server counts {stats['clients']} clients, expected {clients}")
        rss1 = side.child.rss_kb()
        results.idle_rss_kb[mode] = (rss0, rss1)
        results.per_client_kb[mode] = (rss1 - rss0) / clients
        series = results.thousand[mode] = Series()
        await side.child.reset()
        for _ in range(repeats):
            await side.checkpoint_write(series, wait_s=10.0)
            await asyncio.sleep(0.3)
        results.thousand_stall_ms[mode] = (await side.child.stats())["max_stall_ms"]
    finally:
        await stop_side(side)


async def run_stall(tmp: Path, mode: str, live: int, writes: int, results: Results) -> None:
    """Two servers of one variant, 50 live clients each, ~40 KB log appends alternating between them; one of the
    two also has a client that never reads. Both see the same machine noise, so their p99s compare.

    Before the measured writes, unmeasured appends to the stalled server fill the stalled client's kernel
    buffers (until the server's transport for it holds data), so the measured run sees the server-side
    consequences from its first write."""
    free, jammed = await start_side(mode, tmp), await start_side(mode, tmp)
    stalled = StalledClient()
    info: dict[str, Any] = {"samples": [], "prefill": 0}
    counter = 0

    async def append_write(side: Side, series: Series, wait_s: float) -> bool:
        nonlocal counter
        counter += 1
        data, marker = log_chunk(f"{mode}-{counter:04d}", APPEND_BYTES)
        return await measured_write(
            side.hub, marker, '{"type":"terminal_output"', lambda: append(side.project, STALL_LOG, data), series, wait_s
        )

    try:
        for side in (free, jammed):
            await connect_clients(side.hub, side.child.url, live)
        await asyncio.sleep(0.3)
        for _ in range(5):  # warm-up, not measured
            for side in (free, jammed):
                await append_write(side, Series(), WAIT_S)
        await stalled.open(jammed.child.port, jammed.child.session_id)
        await asyncio.sleep(0.2)
        while info["prefill"] < PREFILL_MAX:  # fill the stalled client's kernel buffers
            info["prefill"] += 1
            if not await append_write(jammed, Series(), 0.5):
                break
            if info["prefill"] % 5 == 0 and (await jammed.child.stats())["write_buffer_bytes"] > 0:
                break
        info["free_before"] = await free.child.reset()
        info["before"] = await jammed.child.reset()
        base = results.nostall[mode] = Series()
        run = results.stalled[mode] = Series()
        consecutive = 0
        for number in range(1, writes + 1):
            await append_write(free, base, WAIT_S)
            await asyncio.sleep(SETTLE_S)
            # After three writes in a row that did not reach every live client, the server is taken to be stuck:
            # keep writing, but wait only briefly (arrivals within that wait still count).
            ok = await append_write(jammed, run, 0.5 if consecutive < 3 else 0.05)
            consecutive = 0 if ok else consecutive + 1
            await asyncio.sleep(SETTLE_S)
            if number % 10 == 0:
                sample = await jammed.child.stats()
                info["samples"].append(
                    (
                        number,
                        sample["rss_kb"],
                        sample["queued_bytes"],
                        sample["write_buffer_bytes"],
                        sample["tasks"],
                        sample["lagging"],
                    )
                )
        info["free_end"] = await free.child.stats()
        info["stalled"] = await jammed.child.stats()
    finally:
        stalled.close()
        await asyncio.sleep(0.1)
        await stop_side(free)
        info["final"] = await stop_side(jammed)
        results.stall_info[mode] = info


def converged(client: Client, expected: list[str], last_line: str) -> tuple[bool, bool]:
    """(has every line in order, converged through a status whose terminal ends with the burst's last lines)."""
    outputs: list[str] = []
    via_status = False
    for frame in client.frames:
        if frame.startswith('{"type":"terminal_output"') and '"source":"log:x.log"' in frame:
            outputs.append(json.loads(frame)["output"])
        elif frame.startswith('{"type":"status"') and last_line in frame:
            terminal = [t["output"] for t in json.loads(frame)["state"]["terminal"] if t["source"] == "log:x.log"]
            tail = min(TERMINAL_LINES, len(terminal))
            via_status = tail > 0 and terminal[-tail:] == expected[-tail:]
    lines = [line for output in outputs for line in output.split("\n")]
    return lines == expected, via_status


async def run_burst(tmp: Path, clients: int, repeats: int, results: Results) -> None:
    """Both servers at once, 100 clients each; bursts alternate between them."""
    sides = [await start_side(mode, tmp) for mode in MODES]
    try:
        for side in sides:
            await connect_clients(side.hub, side.child.url, clients)
            results.burst_ms[side.mode], results.burst_loop_ms[side.mode] = [], []
            results.burst_loop_cpu_ms[side.mode] = []
            results.burst_converged[side.mode] = []
            results.burst_lagging[side.mode] = 0
        await asyncio.sleep(0.5)
        for rep in range(repeats):
            for side in sides:
                lines = burst_lines(f"{side.mode}-r{rep}")
                data = ("\n".join(lines) + "\n").encode()
                for client in side.hub.clients:
                    client.frames = []
                side.hub.recording = True
                await side.child.reset()
                series = Series()
                await measured_write(
                    side.hub, lines[-1], "", lambda d=data, s=side: append(s.project, BURST_LOG, d), series, wait_s=20.0
                )
                await asyncio.sleep(0.3)  # anything still in flight (a status after a lag)
                side.hub.recording = False
                stats = await side.child.stats()
                results.burst_ms[side.mode].append(series.last_ms[0])
                results.burst_loop_ms[side.mode].append(stats["max_stall_ms"])
                results.burst_loop_cpu_ms[side.mode].append(stats["max_stall_cpu_ms"])
                results.burst_lagging[side.mode] += sum(
                    1 for c in side.hub.clients for f in c.frames if f.startswith('{"type":"status"')
                )
                checks = [converged(client, lines, lines[-1]) for client in side.hub.clients]
                results.burst_converged[side.mode].append(
                    (
                        sum(1 for full, _ in checks if full),
                        sum(1 for full, status in checks if status and not full),
                        len(checks),
                    )
                )
                for client in side.hub.clients:
                    client.frames = []
                await asyncio.sleep(0.3)
    finally:
        for side in sides:
            await stop_side(side)


# ---------------------------------------------------------------------------- report


def finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def fmt(value: float, unit: str = "ms") -> str:
    if math.isinf(value):
        return "never"
    return bl.fmt_value(value, unit)


def series_row(
    measure: str,
    own: list[float],
    target: str,
    base: list[float] | None,
    passed: bool | None,
    unit: str = "ms",
    verdict_note: str = "",
) -> bl.Row:
    """Like bl.timed_row, but samples may be inf (never received): p99 shows 'never' when over 1 % are lost."""
    summary = bl.Summary.of(own) if own else bl.Summary(0, math.nan, math.nan)
    baseline = "-"
    if base:
        other = bl.Summary.of(base)
        baseline = f"{fmt(other.median, unit)} / {fmt(other.p99, unit)} (n={other.n})"
    return bl.Row(
        measure,
        summary.n,
        fmt(summary.median, unit),
        fmt(summary.p99, unit),
        target,
        baseline,
        bl.verdict(passed) + verdict_note,
    )


def lost_note(series: Series) -> str:
    return f" ({series.lost} never received)" if series.lost else ""


def stall_memory(info: dict[str, Any]) -> dict[str, float]:
    """MB: peak RSS growth of the no-stall server and of the stalled one over the same writes, and what the stalled
    server holds for the stalled client at the end (queued frames + transport buffers; the live clients' are
    empty by then)."""
    growth_free = (info["free_end"]["hwm_kb"] - info["free_before"]["rss_kb"]) / 1024
    growth_stalled = (info["stalled"]["hwm_kb"] - info["before"]["rss_kb"]) / 1024
    end = info["stalled"]
    return {
        "free": growth_free,
        "stalled": growth_stalled,
        "excess": growth_stalled - growth_free,
        "held": (end["queued_bytes"] + end["write_buffer_bytes"]) / 1024 / 1024,
    }


def build_rows(results: Results) -> list[bl.Row]:
    rows: list[bl.Row] = []
    ours, seed = results.latency1["ours"], results.latency1["seed"]
    summary = bl.Summary.of(ours.per_client_ms)
    rows.append(
        series_row(
            f"1. write → message, 1 client{lost_note(ours)}",
            ours.per_client_ms,
            "p50 < 3 ms, p99 < 10 ms",
            seed.per_client_ms,
            summary.median < 3 and summary.p99 < 10 and not ours.lost,
        )
    )

    ours, seed = results.fanout["ours"], results.fanout["seed"]
    summary = bl.Summary.of(ours.last_ms)
    rows.append(
        series_row(
            f"2. write → received by all of 100 clients (last client){lost_note(ours)}",
            ours.last_ms,
            "p99 < 25 ms",
            seed.last_ms,
            summary.p99 < 25 and not ours.lost,
        )
    )
    rows.append(series_row("2. (info) same, every client's latency", ours.per_client_ms, "-", seed.per_client_ms, None))
    rows.append(
        series_row(
            "2. (info) server's longest loop stall over the 100-client writes",
            [results.fanout_stall_ms["ours"]],
            "-",
            [results.fanout_stall_ms["seed"]],
            None,
        )
    )

    ours, seed = results.thousand["ours"], results.thousand["seed"]
    summary = bl.Summary.of(ours.per_client_ms)
    many = f"{results.clients:,}"
    rows.append(
        series_row(
            f"3. {many} clients, one update: every client's latency{lost_note(ours)}",
            ours.per_client_ms,
            "all receive, p99 < 250 ms",
            seed.per_client_ms,
            summary.p99 < 250 and not ours.lost,
        )
    )
    rows.append(
        series_row(f"3. (info) same, the last of the {many} clients per update", ours.last_ms, "-", seed.last_ms, None)
    )
    rows.append(
        series_row(
            "3. (info) server's longest loop stall over those updates",
            [results.thousand_stall_ms["ours"]],
            "-",
            [results.thousand_stall_ms["seed"]],
            None,
        )
    )
    rows.append(
        series_row(
            f"3. (info) time to connect {many} clients (waves of {CONNECT_WAVE})",
            [results.thousand_connect_s["ours"] * 1000],
            "-",
            [results.thousand_connect_s["seed"] * 1000],
            None,
        )
    )

    base, run, seed_run = results.nostall["ours"], results.stalled["ours"], results.stalled["seed"]
    limit = bl.Summary.of(base.per_client_ms).p99 * 1.2
    own_p99 = bl.Summary.of(run.per_client_ms).p99
    rows.append(
        series_row(
            f"4. 50 live clients, no stalled client ({APPEND_BYTES // 1000} KB appends, each client){lost_note(base)}",
            base.per_client_ms,
            "-",
            results.nostall["seed"].per_client_ms,
            None,
        )
    )
    rows.append(
        series_row(
            f"4. 50 live clients + 1 stalled client, writes interleaved with the above{lost_note(run)}",
            run.per_client_ms,
            f"p99 <= 1.2 x no-stall = {limit:.1f} ms",
            seed_run.per_client_ms,
            own_p99 <= limit and not run.lost,
            verdict_note=f" (seed: {seed_run.lost} of {len(seed_run.per_client_ms)} never received)",
        )
    )
    rows.append(
        series_row(
            "4. (info) same, the last of the 50 live clients per write", run.last_ms, "-", seed_run.last_ms, None
        )
    )
    memory = {mode: stall_memory(results.stall_info[mode]) for mode in MODES}
    rows.append(
        series_row(
            "4. server memory held for the stalled client at the end (MB)",
            [memory["ours"]["held"]],
            "bounded (~1 MiB lag limit)",
            [memory["seed"]["held"]],
            memory["ours"]["held"] < 1.5,
            unit="MB",
        )
    )
    rows.append(
        series_row(
            "4. server peak RSS growth over the run, stalled minus no-stall server (MB)",
            [memory["ours"]["excess"]],
            "bounded",
            [memory["seed"]["excess"]],
            memory["ours"]["excess"] < 3,
            unit="MB",
        )
    )

    per = results.per_client_kb
    rows.append(
        series_row(
            f"5. server memory per idle client (VmRSS delta / {many})",
            [per["ours"]],
            "< 100 KB",
            [per["seed"]],
            per["ours"] < 100,
            unit="KB",
        )
    )

    full = results.burst_converged
    total = {mode: sum(c for _, _, c in full[mode]) for mode in MODES}
    ok = {mode: sum(a + b for a, b, _ in full[mode]) for mode in MODES}
    rows.append(
        series_row(
            f"6. 10,000-line burst, 100 clients: write → last client has it all ({ok['ours']}/"
            f"{total['ours']} converged; seed {ok['seed']}/{total['seed']})",
            results.burst_ms["ours"],
            "all converge",
            results.burst_ms["seed"],
            ok["ours"] == total["ours"],
        )
    )
    loop = results.burst_loop_ms["ours"]
    rows.append(
        series_row(
            "6. server's longest loop stall during a burst",
            loop,
            "< 50 ms",
            results.burst_loop_ms["seed"],
            max(loop) < 50,
        )
    )
    return rows


def print_details(results: Results) -> None:
    print("details:")
    for mode in MODES:
        rss0, rss1 = results.idle_rss_kb[mode]
        print(f"  {mode}: idle RSS {rss0 / 1024:.1f} MB -> {rss1 / 1024:.1f} MB with {results.clients:,} clients")
    for mode in MODES:
        info = results.stall_info[mode]
        memory = stall_memory(info)
        end = info["stalled"]
        writes = len(results.nostall[mode].last_ms)
        per_append = memory["free"] * 1024 / writes
        print(
            f"  {mode} stall: peak RSS +{memory['free']:.1f} MB on the no-stall server ({per_append:.0f} KB per"
            f" {APPEND_BYTES // 1000} KB append), +{memory['stalled']:.1f} MB on the stalled one; "
            f"{info['prefill']} unmeasured appends filled the stalled client's kernel buffers; longest loop stall: "
            f"no-stall server {info['free_end']['max_stall_ms']:.1f} ms, stalled one {end['max_stall_ms']:.1f} ms; "
            "at the end the stalled server holds: "
            f"queued {end['queued_bytes'] / 1024:.0f} KiB, transport buffers {end['write_buffer_bytes'] / 1024:.0f}"
            f" KiB, lagging clients {end['lagging']}, asyncio tasks {end['tasks']}"
        )
        print(
            "    every 10 stalled-run writes (write, RSS MB, queued KiB, transport KiB, tasks, lagging): "
            + ", ".join(
                f"({n}, {rss / 1024:.0f}, {q / 1024:.0f}, {w / 1024:.0f}, {t}, {lag})"
                for n, rss, q, w, t, lag in info["samples"]
            )
        )
        final = info.get("final") or {}
        if final:
            print(
                f"    at SIGTERM: longest loop stall {final['max_stall_ms']:.1f} ms since the stalled run began, "
                f"peak RSS {final['hwm_kb'] / 1024:.1f} MB"
            )
    for mode in MODES:
        print(
            f"  {mode} burst: converged (all lines, via status, of) per burst {results.burst_converged[mode]}; "
            f"status messages after a lag {results.burst_lagging[mode]}; longest loop stalls "
            f"{[round(v, 1) for v in results.burst_loop_ms[mode]]} ms, of which the loop thread's own CPU "
            f"{[round(v, 1) for v in results.burst_loop_cpu_ms[mode]]} ms"
        )
    for note in results.notes:
        print(f"  note: {note}")


async def run(args: argparse.Namespace) -> Results:
    results = Results(clients=args.clients)
    with bl.temp_dir("bench-server-") as tmp:
        steps = [
            ("latency and fan-out", lambda: run_latency_and_fanout(tmp, args.writes, args.fanout_writes, results)),
            *[
                (f"1,000 clients ({mode})", lambda m=mode: run_thousand(tmp, m, args.clients, args.repeats, results))
                for mode in MODES
            ],
            *[
                (f"stalled client ({mode})", lambda m=mode: run_stall(tmp, m, 50, args.stall_writes, results))
                for mode in MODES
            ],
            ("burst", lambda: run_burst(tmp, 100, args.bursts, results)),
        ]
        for name, step in steps:
            load = bl.MachineLoad()
            await step()
            print(f"[{name}] {load.report()}", flush=True)
    return results


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (min(needed, hard) if hard != resource.RLIM_INFINITY else needed, hard)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=500, help="1-client writes per server")
    parser.add_argument("--fanout-writes", type=int, default=200, help="100-client writes per server")
    parser.add_argument("--clients", type=int, default=1000, help="clients of the idle-memory / one-update run")
    parser.add_argument("--repeats", type=int, default=10, help="updates sent to the 1,000 clients")
    parser.add_argument("--stall-writes", type=int, default=100, help="log appends per stalled / no-stall run")
    parser.add_argument("--bursts", type=int, default=5, help="10,000-line bursts per server")
    args = parser.parse_args()

    raise_fd_limit(2 * args.clients + 1000)
    bl.use_offscreen_qt()  # the app's GC settings for this process too (no Qt is imported here)
    load = bl.MachineLoad()
    bl.print_header("bench_server", "mirror server, real WebSocket clients, server in its own process (issue 3)")
    print(
        f"ours vs seed (one task per batch, one sequential `await send()` per client); writes spaced "
        f"({SETTLE_S * 1000:g} ms settle after every client got the previous one)"
    )
    results = asyncio.run(run(args))
    rows = build_rows(results)
    bl.print_table("mirror server: ours (baseline: seed)", rows)
    print_details(results)
    print(load.report())


if __name__ == "__main__":
    main()
