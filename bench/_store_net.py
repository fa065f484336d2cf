"""Network helpers for bench_store.py: server children of either code, and clients that reconnect.

`ChildServer` starts a server child with the package it should import first on PYTHONPATH (this work tree, or
a worktree of the landed commit), and talks the `_serve_variant.py` protocol: a hello line with the port,
`stats` / `reset` on stdin, a final line at SIGTERM. `Reconnector` is one client of a reconnect wave: it
connects, reads `connection` then `status` (no frame limit, so an oversize status is seen and measured) and
then keeps reading whatever comes until it is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def child_env(package_root: Path) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(package_root)}


class ChildServer:
    """One server child process (ours, the landed commit's or the minimal pipeline)."""

    def __init__(self, name: str, argv: list[str], package_root: Path) -> None:
        self.name = name
        self.argv = argv
        self.package_root = package_root
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.session_id = ""
        self.final: dict[str, Any] = {}

    @classmethod
    def serve_variant(cls, name: str, package_root: Path, project: Path) -> ChildServer:
        """`bench/_serve_variant.py --mode ours` of the code at `package_root` (its own copy of the script)."""
        script = package_root / "bench" / "_serve_variant.py"
        return cls(name, [sys.executable, str(script), "--mode", "ours", str(project)], package_root)

    @classmethod
    def minimal(cls, project: Path) -> ChildServer:
        return cls("minimal", [sys.executable, str(HERE / "_minimal_pipeline.py"), str(project)], REPO)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=child_env(self.package_root),
            cwd=str(self.package_root),
        )
        hello = await self._line(60)
        self.port, self.session_id = hello["port"], hello["session_id"]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/build/stream/{self.session_id}"

    async def _line(self, timeout: float = 20) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"server child {self.name} exited")
        return json.loads(line)

    async def command(self, word: str) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{word}\n".encode())
        await self.process.stdin.drain()
        return await self._line()

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


class Writer:
    """The busy-build writer process (`_store_writer.py`)."""

    def __init__(self, project: Path, tick_ms: float) -> None:
        self.argv = [sys.executable, str(HERE / "_store_writer.py"), str(project), "--tick-ms", str(tick_ms)]
        self.process: asyncio.subprocess.Process | None = None
        self.final: dict[str, Any] = {}

    async def start(self) -> None:
        """Start it and wait until the terminal is filled and the busy ticks begin."""
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"writer did not start: {line!r}")

    async def stop(self) -> dict[str, Any]:
        if self.process is None:
            return self.final
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        with contextlib.suppress(TimeoutError, json.JSONDecodeError):
            self.final = json.loads(await asyncio.wait_for(self.process.stdout.readline(), 10))
        await self.process.wait()
        return self.final


class Reconnector:
    """One client of a wave: connect, `connection`, `status`; then read on until closed."""

    def __init__(self) -> None:
        self.ws: ClientConnection | None = None
        self.status_bytes = 0
        self.status_ms = float("inf")  # from the wave's start to this client's status
        self.in_order = False  # `connection` first, then `status`
        self.max_frame: int | None = None
        self.error = ""
        self._drain: asyncio.Task[None] | None = None

    async def run(self, url: str, start_ns: int) -> None:
        try:
            self.ws = await connect(
                url, compression=None, max_size=None, ping_interval=None, open_timeout=60, close_timeout=5
            )
            first = await asyncio.wait_for(self.ws.recv(), 60)
            second = await asyncio.wait_for(self.ws.recv(), 60)
            self.status_ms = (time.perf_counter_ns() - start_ns) / 1e6
            assert isinstance(first, str) and isinstance(second, str)
            self.status_bytes = len(second.encode())
            self.in_order = first.startswith('{"type":"connection"') and second.startswith('{"type":"status"')
            self.max_frame = json.loads(first).get("max_frame")
            self._drain = asyncio.get_running_loop().create_task(self._read_on())
        except (OSError, ConnectionClosed, TimeoutError, AssertionError) as exc:
            self.error = type(exc).__name__

    async def _read_on(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(ConnectionClosed):
            async for _ in self.ws:
                pass

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drain, 5)
