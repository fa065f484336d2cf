"""Helpers for mirror tests against real `buildrunner-gui serve` processes: start, kill and restart a server,
read its snapshot over HTTP, run a scripted build in its project, and wait until a mirror shows exactly that
snapshot. Everything is awaited on the test's loop (no threads: the tests check that none is left behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from buildrunner_gui.sources.remote import RemoteSource

SESSION = "proj"  # the served folder's name, so its session id
FEATURES = 20
CHECKPOINTS = 12


class Served:
    """One real `serve` process: of a project folder, or of a `ws://…` upstream (a relay)."""

    def __init__(self, what: str, port: int, log: Path, *options: str) -> None:
        self.what, self.port, self.log, self.options = what, port, log, options
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    async def start(cls, what: str | Path, log: Path, port: int = 0, *options: str) -> Served:
        served = cls(str(what), port, log, *options)
        await served.restart()
        return served

    async def restart(self) -> None:
        """Start (again, on the same port once it has one)."""
        with self.log.open("ab") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "buildrunner_gui", "serve", self.what, *self.options, "--port", str(self.port)],
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        line = await self._first_line(30.0)
        if not line.startswith("serving ws://"):
            self.kill()
            pytest.fail(f"serve did not start: {line!r}\n{self.log.read_text(errors='replace')[-2000:]}")
        self.url = line.split()[1]
        self.port = int(self.url.split(":")[2].split("/")[0])

    async def _first_line(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        os.set_blocking(fd, False)
        data = b""
        async with asyncio.timeout(timeout):
            while b"\n" not in data:
                try:
                    chunk = os.read(fd, 4096)
                except BlockingIOError:
                    await asyncio.sleep(0.02)
                    continue
                if not chunk:
                    break
                data += chunk
        return data.decode(errors="replace").strip()

    def kill(self) -> None:
        """SIGKILL: no close frames, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self._reap()

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(15):
                    while self.process.poll() is None:
                        await asyncio.sleep(0.05)
        self.kill()

    def _reap(self) -> None:
        if self.process is None:
            return
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def errors(self) -> str:
        return self.log.read_text(errors="replace")


async def http_json(port: int, path: str, token: str | None = None) -> Any:
    """GET a JSON route of a server on 127.0.0.1 (asyncio streams: no thread)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        assert head[0].split()[1] == "200", head[0]
        length = next(int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:"))
        return json.loads(await reader.readexactly(length))
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def comparable(snapshot: Any) -> dict[str, Any]:
    """A snapshot as it crosses the wire, without `source` (the one field a mirror shows differently)."""
    return {key: value for key, value in json.loads(json.dumps(snapshot)).items() if key != "source"}


async def until(condition: Any, timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"not within {timeout} s: {what}")


async def converges(mirror: RemoteSource, port: int, timeout: float = 20.0, token: str | None = None) -> None:
    """Until the mirror is live and shows exactly the server's snapshot (`/api/build/status/ID`), field by field."""
    got: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                if mirror.store.source.get("state") == "live":
                    expected = comparable(await http_json(port, f"/api/build/status/{SESSION}", token))
                    got = comparable(mirror.store.snapshot())
                    if got == expected:
                        return
                await asyncio.sleep(0.05)
    except TimeoutError:
        differ = [key for key in expected if got.get(key) != expected[key]]
        pytest.fail(f"the mirror did not converge in {timeout} s: {mirror.store.source}, differing: {differ}")


def make_project(root: Path) -> Path:
    project = root / SESSION
    for folder in ("checkpoints", "logs", "context"):
        (project / ".buildrunner" / folder).mkdir(parents=True)
    build = Build(project, seed=0)
    build.write_registry()
    build.write_document()
    return project


class Build:
    """A scripted build writing into the served project as BuildRunner does: checkpoints, the feature registry
    (through a temporary file and a rename), a growing log, a context document."""

    def __init__(self, project: Path, seed: int) -> None:
        self.state = project / ".buildrunner"
        self.random = random.Random(seed)
        self.steps = 0
        self.running = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def step(self) -> None:
        self.steps += 1
        kind = self.random.choice(["checkpoint", "checkpoint", "registry", "log", "log", "log", "document"])
        if kind == "checkpoint":
            number = self.random.randrange(CHECKPOINTS)
            self._replace(
                self.state / "checkpoints" / f"cp-{number:02d}.json",
                {
                    "id": f"cp-{number:02d}",
                    "timestamp": f"2030-01-01T00:{number:02d}:00Z",
                    "phase": f"phase {self.steps}",
                    "status": self.random.choice(["created", "completed"]),
                    "completion": self.random.randrange(101),
                    "tasks_completed": [f"task-{self.steps}"],
                    "files_created": [],
                },
            )
        elif kind == "registry":
            self.write_registry()
        elif kind == "log":
            with (self.state / "logs" / "build.log").open("a") as log:
                log.write(f"step {self.steps}: " + "x" * self.random.randrange(80) + "\n")
        else:
            self.write_document()

    def write_registry(self) -> None:
        statuses = ["complete", "in_progress", "planned", "blocked"]
        features = [
            {
                "id": f"feat-{i:03d}",
                "name": f"Feature {i}",
                "status": self.random.choice(statuses),
                "progress": self.random.randrange(101),
                "components": [f"src/f{i}.py"],
            }
            for i in range(FEATURES)
        ]
        self._replace(self.state / "features.json", {"project": SESSION, "features": features})

    def write_document(self) -> None:
        (self.state / "context" / "current-work.md").write_text(f"# Current work\n\nStep {self.steps}\n")

    def _replace(self, path: Path, value: Any) -> None:
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(value))
        os.replace(temporary, path)

    # ---------------------------------------------------------------- running on the test's loop

    def start(self) -> None:
        self.running.set()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.running.wait()
            self.step()
            await asyncio.sleep(self.random.uniform(0.005, 0.04))
