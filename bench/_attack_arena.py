"""One scenario's arena: a fresh project, busy writer, server, RSS sampler and honest client, and the row of the
table that the scenario fills in (functional result) and the arena completes (memory, latency, convergence).
"""

from __future__ import annotations

import json
import math
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _benchlib as bl
from _attack_server import BusyWriter, RssSampler, ServerProcess, make_project

HONEST = Path(__file__).resolve().parent / "_attack_honest.py"
P99_TARGET_MS = 100.0
RECOVERY_TARGET_S = 1.0
BASELINE_SECONDS = 1.0
SETTLE_SECONDS = 1.0  # after the writer pauses, before the views are compared
CONVERGE_SECONDS = 8.0
RECOVERY_WAIT_SECONDS = 3.0
MIN_P99_WINDOW_S = 0.5
RTT_FLOOR_MS = 1.0  # 2x a sub-millisecond median is scheduler noise; the recovery threshold is at least this


@dataclass(frozen=True)
class Profile:
    """How hard and how long each scenario pushes (the short profile runs in CI)."""

    name: str
    flood_seconds: float  # 2: request_status flood
    slow_seconds: float  # 3: slow reader, at most this long
    slow_period: float  # 3: seconds between its 4 KB reads
    nonreaders: int  # 4
    nonreader_seconds: float  # 4
    resume_seconds: float  # 5
    churns: int  # 6
    bad_tokens: int  # 10
    partial_mb: int  # 11
    fuzz_frames: int  # 13
    fuzz_connections: int  # 13
    registry_kills: int  # 14
    stall_close_expected: bool  # runs long enough for the 30 s stall rule to be checked


SHORT = Profile("short", 8, 8, 0.5, 10, 6, 8, 5, 8, 8, 2000, 4, 10, False)
LONG = Profile("long", 30, 100, 3.0, 50, 36, 30, 20, 20, 80, 100_000, 8, 200, True)


@dataclass(frozen=True)
class Config:
    profile: Profile
    window: bool  # the desktop app (offscreen) is the server instead of `serve`
    soak_minutes: float
    seed: int


@dataclass
class Row:
    number: int
    name: str
    count: str = "-"
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info_only: bool = False  # no functional check (report only), or not available
    rss: tuple[float, float, float] | None = None
    rss_target: float | None = None
    p99_ms: float | None = None
    recovery_s: float | None = None
    data: str = "-"
    targets: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def fail(self, reason: str) -> None:
        self.failures.append(reason)

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def verdict(self) -> str:
        if self.failures:
            return "FAIL"
        return "info" if self.info_only else "pass"

    def result_cell(self) -> str:
        return f"{self.verdict}: " + "; ".join(self.failures + self.notes)


class HonestClient:
    """The honest client process (`_attack_honest.py`) and its line protocol."""

    def __init__(self, url: str, token: str | None) -> None:
        command = [sys.executable, str(HONEST), url] + (["--token", token] if token else [])
        self.process = subprocess.Popen(
            command, cwd=bl.REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.hello = self._read(30.0)

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            raise RuntimeError("the honest client did not answer")
        value: dict[str, Any] = json.loads(line)
        return value

    def ask(self, command: str, timeout: float = 20.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": command}).encode() + b"\n")
        self.process.stdin.flush()
        return self._read(timeout)

    def quit(self) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(b'{"cmd": "quit"}\n')
            self.process.stdin.flush()
            self.process.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(5)


# ---------------------------------------------------------------------------- measures


def p99_during(rtts: list[list[float]], outstanding: list[float], start: float, end: float) -> float:
    """p99 of the pongs for pings sent in [start, end]; a ping still unanswered counts as its age so far."""
    now = time.monotonic()
    samples = [ms for sent, ms in rtts if start <= sent <= end]
    samples += [(now - sent) * 1000 for sent in outstanding if start <= sent <= end]
    return bl.percentile(samples, 0.99)


def recovery_after(rtts: list[list[float]], threshold_ms: float, end: float) -> float | None:
    """Seconds from `end` until the first of three consecutive pings (sent after `end`) under the threshold
    came back; None if that has not happened yet."""
    after = [(sent, ms) for sent, ms in rtts if sent >= end]
    for index in range(len(after) - 2):
        if all(ms < threshold_ms for _, ms in after[index : index + 3]):
            sent, ms = after[index]
            return max(0.0, sent + ms / 1000 - end)
    return None


def view_difference(view: dict[str, Any] | None, snapshot: dict[str, Any]) -> list[str]:
    """What differs between the honest client's view and the server's HTTP snapshot ([] when they agree)."""
    if view is None:
        return ["no view"]
    theirs: dict[str, Any] = {
        "status": snapshot.get("status"),
        "progress": snapshot.get("progress"),
        "features": {item["id"]: item for item in snapshot.get("features", [])},
        "components": {item["id"]: item for item in snapshot.get("components", [])},
    }
    differences = []
    for name in ("status", "progress"):
        if view.get(name) != theirs[name]:
            differences.append(name)
    for name in ("features", "components"):
        mine, other = view.get(name) or {}, theirs[name]
        wrong = sum(mine.get(key) != item for key, item in other.items()) + len(set(mine) - set(other))
        if wrong:
            differences.append(f"{wrong} {name}")
    return differences


# ---------------------------------------------------------------------------- the arena


class Arena:
    def __init__(self, row: Row, window: bool, big: bool = False, token: str | None = None) -> None:
        self.row = row
        self.root = Path(tempfile.mkdtemp(prefix=f"attack-{row.number}-"))
        self.project = make_project(self.root, big=big)
        self.writer = BusyWriter(self.project, line_width=300 if big else 40)
        self.server = ServerProcess(self.project, self.root, token=token, window=window)
        self.sampler: RssSampler | None = None
        self.honest: HonestClient | None = None
        self.attack_start = 0.0
        self.attack_end = 0.0
        self.snapshot_mb = 0.0
        self.clients_in_attack = 1  # the RSS target allows one snapshot per attacking client
        self.median_ms = math.nan  # the honest client's RTT before the attack

    def open(self) -> None:
        self.writer.start()
        self.server.start()
        self.sampler = RssSampler(self.server.pid)
        self.sampler.start()
        self.honest = HonestClient(self.server.url, self.server.token)
        if not self.honest.hello.get("ready"):
            raise RuntimeError(f"the honest client could not start: {self.honest.hello}")
        snapshot = self.server.snapshot()
        self.snapshot_mb = len(json.dumps(snapshot)) / 2**20 if snapshot else 0.0
        time.sleep(BASELINE_SECONDS)  # the honest client's pre-attack pings, the idle RSS

    @contextmanager
    def attack(self) -> Iterator[None]:
        self.attack_start = time.monotonic()
        try:
            yield
        finally:
            self.attack_end = time.monotonic()

    # ---------------------------------------------------------------- after the attack

    def finish(self) -> None:
        if not self.attack_end:
            self.attack_start = self.attack_start or time.monotonic()
            self.attack_end = time.monotonic()
        if self.honest is not None and self.server.alive():
            self._measure_latency()
            self._check_convergence()
        self._measure_memory()
        if not self.server.alive():
            assert self.server.process is not None
            self.row.fail(f"server exited during the attack (code {self.server.process.poll()})")

    def _measure_latency(self) -> None:
        assert self.honest is not None
        deadline = self.attack_end + RECOVERY_WAIT_SECONDS
        while True:
            time.sleep(0.5)
            report = self.honest.ask("report")
            rtts = report["rtts"]
            before = [ms for sent, ms in rtts if sent < self.attack_start]
            median = statistics.median(before) if before else math.nan
            threshold = max(2 * median, RTT_FLOOR_MS)
            recovery = recovery_after(rtts, threshold, self.attack_end)
            if recovery is not None or time.monotonic() > deadline or report["closed"]:
                break
        # A quick attack (a few requests) still gets the pings of its first half second.
        window_end = max(self.attack_end, self.attack_start + MIN_P99_WINDOW_S)
        self.row.p99_ms = p99_during(rtts, report["outstanding"], self.attack_start, window_end)
        self.row.recovery_s = recovery if recovery is not None else math.inf
        self.median_ms = median
        if report["closed"]:
            self.row.fail(f"honest client disconnected: {report['closed']['code']} {report['closed']['reason']}")

    def _check_convergence(self) -> None:
        assert self.honest is not None
        self.writer.pause()
        time.sleep(SETTLE_SECONDS)
        deadline = time.monotonic() + CONVERGE_SECONDS
        differences: list[str] = ["not compared"]
        while time.monotonic() < deadline:
            snapshot = self.server.snapshot()
            report = self.honest.ask("report")
            if snapshot is None or report["closed"]:
                differences = ["no snapshot" if snapshot is None else "honest client closed"]
                break
            differences = view_difference(report["view"], snapshot)
            if not differences:
                break
            time.sleep(0.5)
        if not differences:
            self.row.data = "none"
            return
        fresh = self.honest.ask("fresh")["view"]
        snapshot = self.server.snapshot()
        fresh_ok = snapshot is not None and not view_difference(fresh, snapshot)
        self.row.data = f"LOST ({', '.join(differences)}); fresh status {'matches' if fresh_ok else 'differs too'}"
        self.row.fail("honest client did not converge")

    def _measure_memory(self) -> None:
        if self.sampler is None:
            return
        before_samples = self.sampler.between(self.attack_start - BASELINE_SECONDS, self.attack_start)
        during = self.sampler.between(self.attack_start, time.monotonic())
        if not before_samples or not during:
            return
        before = statistics.median(before_samples)
        self.row.rss = (before, max(during), self.sampler.samples[-1][1])
        self.row.rss_target = 2 * before + self.clients_in_attack * self.snapshot_mb

    def targets(self) -> None:
        """Met or missed, for the figures measured (a missed target is reported, never a failure)."""
        row = self.row
        if row.rss is not None and row.rss_target is not None:
            row.targets.append(f"rss {'met' if row.rss[1] < row.rss_target else 'MISSED'}")
        if row.p99_ms is not None and not math.isnan(row.p99_ms):
            row.targets.append(f"p99 {'met' if row.p99_ms < P99_TARGET_MS else 'MISSED'}")
        if row.recovery_s is not None:
            row.targets.append(f"recovery {'met' if row.recovery_s < RECOVERY_TARGET_S else 'MISSED'}")

    def close(self) -> None:
        if self.honest is not None:
            self.honest.quit()
        if self.sampler is not None:
            self.sampler.stop()
        self.writer.stop()
        was_alive = self.server.alive()
        code = self.server.stop()
        if was_alive and code != 0:
            self.row.fail(f"server exit code {code} on SIGTERM")
        raised, logged = self.server.stderr_problems()
        if raised:  # an exception nobody handled: a crash of some part of the server
            self.row.fail(f"server raised {raised}")
        elif logged:  # reported; what it did to the service is what the functional checks judge
            self.row.note(f"server logged {logged!r}")
        if raised or logged:
            print(self.server.stderr_excerpt(), flush=True)
        shutil.rmtree(self.root, ignore_errors=True)


class ScenarioAborted(Exception):
    """The arena could not be set up; the row already says why."""


@contextmanager
def arena(row: Row, window: bool, big: bool = False, token: str | None = None) -> Iterator[Arena]:
    """A fresh arena for one scenario; whatever the scenario does, the arena is measured and taken down."""
    place = Arena(row, window, big=big, token=token)
    try:
        place.open()
    except Exception as exc:
        row.fail(f"set-up failed: {type(exc).__name__}: {exc}")
        place.close()
        raise ScenarioAborted from exc
    try:
        yield place
    except Exception as exc:  # the attack itself broke: still measure what the server and honest client did
        row.fail(f"attack raised {type(exc).__name__}: {exc}")
    try:
        place.finish()
        place.targets()
    except Exception as exc:
        row.fail(f"measuring failed: {type(exc).__name__}: {exc}")
    finally:
        place.close()
