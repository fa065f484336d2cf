"""Scenario 14 (the registry attack, `attack_registry.py`, run as it is) and 15 (the soak: many clients for half
an hour, some reconnecting, while the build is busy)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import _benchlib as bl
from _attack_arena import Arena, Config, Row, arena
from _attack_server import open_files, proc_status_field, rss_mb
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

REGISTRY_ATTACK = Path(__file__).resolve().parent / "attack_registry.py"
SOAK_CLIENTS = 50
SOAK_RECONNECTING = 10  # of the 50, these reconnect every few seconds
SOAK_SAMPLE_S = 30.0
RSS_GROWTH_TARGET = 0.10


# ---------------------------------------------------------------------------- 14


def registry_kills(row: Row, cfg: Config) -> None:
    kills = cfg.profile.registry_kills
    row.count = f"{kills} SIGKILLs"
    if not REGISTRY_ATTACK.exists():
        row.info_only = True
        row.note("not available (bench/attack_registry.py is missing)")
        return
    command = [sys.executable, str(REGISTRY_ATTACK), "--kills", str(kills), "--seed", str(cfg.seed)]
    try:
        result = subprocess.run(command, cwd=bl.REPO, capture_output=True, text=True, timeout=60 + kills * 5)
    except subprocess.TimeoutExpired:
        row.fail("attack_registry.py did not finish in time")
        return
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    verdict = lines[-1] if lines else result.stderr.strip()[-120:]
    if result.returncode != 0:
        row.fail(f"exit {result.returncode}: {verdict}")
    else:
        row.note(verdict)


# ---------------------------------------------------------------------------- 15


@dataclass
class SoakSample:
    at: float  # seconds since the soak started
    rss_mb: float
    threads: int
    fds: int


async def steady_client(url: str, stop: asyncio.Event) -> None:
    """Stays connected and reads everything (reconnects only if the server drops it)."""
    while not stop.is_set():
        try:
            async with connect(url, compression=None, max_size=None) as ws:
                while not stop.is_set():
                    try:
                        await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        continue
        except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
            await asyncio.sleep(1.0)


async def reconnecting_client(url: str, stop: asyncio.Event, rng: random.Random, tally: list[int]) -> None:
    """Connects, reads for 2-5 s, leaves, and again."""
    while not stop.is_set():
        try:
            async with connect(url, compression=None, max_size=None) as ws:
                tally[0] += 1
                leave_at = time.monotonic() + rng.uniform(2.0, 5.0)
                while time.monotonic() < leave_at and not stop.is_set():
                    try:
                        await asyncio.wait_for(ws.recv(), max(0.01, leave_at - time.monotonic()))
                    except TimeoutError:
                        break
        except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
            await asyncio.sleep(1.0)


def sample(pid: int, started: float) -> SoakSample | None:
    rss, threads, fds = rss_mb(pid), proc_status_field(pid, "Threads"), open_files(pid)
    if rss is None or threads is None or fds is None:
        return None
    return SoakSample(time.monotonic() - started, rss, threads, fds)


async def soak_run(place: Arena, seconds: float, rng: random.Random) -> tuple[list[SoakSample], int]:
    url = place.server.url
    stop = asyncio.Event()
    tally = [0]
    tasks = [asyncio.create_task(steady_client(url, stop)) for _ in range(SOAK_CLIENTS - SOAK_RECONNECTING)]
    tasks += [
        asyncio.create_task(reconnecting_client(url, stop, random.Random(rng.random()), tally))
        for _ in range(SOAK_RECONNECTING)
    ]
    samples: list[SoakSample] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds and place.server.alive():
        await asyncio.sleep(min(SOAK_SAMPLE_S, max(0.0, seconds - (time.monotonic() - started))))
        taken = sample(place.server.pid, started)
        if taken is not None:
            samples.append(taken)
            minutes = taken.at / 60
            print(f"  soak {minutes:5.1f} min: rss {taken.rss_mb:.1f} MB, threads {taken.threads}, fds {taken.fds}")
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return samples, tally[0]


def judge_soak(row: Row, samples: list[SoakSample], warmup_s: float) -> None:
    settled = [s for s in samples if s.at >= warmup_s] or samples[-1:]
    if not settled:
        row.fail("no samples")
        return
    growth = (settled[-1].rss_mb - settled[0].rss_mb) / settled[0].rss_mb
    half = max(1, len(settled) // 2)
    thread_rise = max(s.threads for s in settled[half:]) - max(s.threads for s in settled[:half])
    fd_rise = max(s.fds for s in settled[half:]) - max(s.fds for s in settled[:half])
    row.targets.append(f"rss growth {'met' if growth < RSS_GROWTH_TARGET else 'MISSED'}")
    row.note(
        f"RSS {growth:+.1%} after {warmup_s / 60:.1f} min ({settled[0].rss_mb:.1f} -> {settled[-1].rss_mb:.1f} MB); "
        f"threads {min(s.threads for s in settled)}-{max(s.threads for s in settled)} "
        f"({'flat' if thread_rise <= 1 else f'rising +{thread_rise}'}); "
        f"fds {min(s.fds for s in settled)}-{max(s.fds for s in settled)} "
        f"({'flat' if fd_rise <= 5 else f'rising +{fd_rise}'})"
    )


def soak(row: Row, cfg: Config) -> None:
    minutes = cfg.soak_minutes
    if cfg.profile.name != "long":
        row.info_only = True
        row.note("skipped (long profile only)")
        return
    warmup_s = min(5 * 60.0, minutes * 60 / 3)  # the first 5 minutes (or a third of a shorter soak)
    with arena(row, cfg.window) as place:
        with place.attack():
            samples, reconnects = asyncio.run(soak_run(place, minutes * 60, random.Random(cfg.seed)))
        row.count = f"{SOAK_CLIENTS} clients, {minutes:g} min, {reconnects} reconnects"
        judge_soak(row, samples, warmup_s)
