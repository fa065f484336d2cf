"""Child processes for bench_mirror.py: `serve` servers, window children, the busy writer; all stopped at the end.

`Children` starts every process the bench needs and stops them all when its block ends, however it ends (an
error, a timeout, Ctrl-C). Each child is also asked to die with the bench (PR_SET_PDEATHSIG), so not even a
killed bench leaves one behind. A child's stdout is read as JSON lines (anything else is kept as text); its
stderr goes to a log file, whose tail is shown when the child fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
PR_SET_PDEATHSIG = 1
Event = dict[str, Any]


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the bench's process ends."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def child_env(tree: Path) -> dict[str, str]:
    """Offscreen Qt, and the package of `tree` first on the path (this work tree, or a clean checkout)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(tree)}
    env.pop("WAYLAND_DISPLAY", None)
    return env


class Child:
    """One process: its JSON lines in arrival order, and what to wait for among them."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log
        self.text: list[str] = []  # stdout lines that were not JSON
        self.skipped: list[Event] = []  # events passed over while waiting for another
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").strip()
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                self.text.append(line)
                event = {"e": "text", "text": line}
            await self._events.put(event if isinstance(event, dict) else {"e": "text", "text": line})
        await self._events.put(None)  # end of output

    async def next(self, wanted: Callable[[Event], bool], timeout: float) -> Event:
        """The next event `wanted` accepts; others are kept in `skipped`. Raises TimeoutError or ChildFailed."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self._events.get()
                if event is None:
                    self._events.put_nowait(None)  # every later wait fails at once too
                    raise ChildFailed(f"{self.name} ended (exit {await self.process.wait()})\n{self.stderr_tail()}")
                if wanted(event):
                    return event
                self.skipped.append(event)

    async def event(self, kind: str, timeout: float) -> Event:
        return await self.next(lambda event: event.get("e") in (kind, "failed"), timeout)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())

    def stderr_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    async def stop(self, grace: float = 15.0) -> int:
        """Ask it to end (stdin closed, then SIGTERM), wait, and kill it if it will not."""
        process = self.process
        if process.returncode is None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), min(grace, 5.0))
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        return process.returncode if process.returncode is not None else -1


class ChildFailed(RuntimeError):
    pass


class Server:
    """`python -m buildrunner_gui serve PROJECT... --port 0`: the stream URL of each project, in order."""

    def __init__(self, child: Child, urls: list[str]) -> None:
        self.child = child
        self.urls = urls


class Children:
    """Starts the bench's processes and keeps them, so `stop_all` can end every one."""

    def __init__(self, logs: Path, tree: Path) -> None:
        self.logs = logs
        self.tree = tree
        self.all: list[Child] = []

    async def start(self, name: str, argv: list[str]) -> Child:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}-{len(self.all)}.log"
        with open(log, "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=child_env(self.tree),
                cwd=str(self.tree),  # `python -m buildrunner_gui` finds the tree's package first
                preexec_fn=die_with_parent,
                limit=16 * 1024 * 1024,  # one JSON line may list many sessions' stalls
            )
        child = Child(name, process, log)
        self.all.append(child)
        return child

    async def serve(self, name: str, projects: list[Path], timeout: float = 120.0) -> Server:
        """A server on a free port; ready once it printed every project's URL (after their first scans)."""
        argv = [PYTHON, "-m", "buildrunner_gui", "serve", *map(str, projects), "--port", "0"]
        child = await self.start(name, argv)
        urls: list[str] = []
        while len(urls) < len(projects):
            event = await child.event("text", timeout)
            if event["text"].startswith("serving "):
                urls.append(event["text"].split(" ", 1)[1])
        return Server(child, urls)

    async def window(self, name: str, *args: str) -> Child:
        return await self.start(name, [PYTHON, str(HERE / "_mirror_child.py"), *args])

    async def stop(self, child: Child) -> int:
        code = await child.stop()
        if child in self.all:
            self.all.remove(child)
        return code

    async def stop_all(self) -> None:
        children, self.all = self.all, []
        await asyncio.gather(*(child.stop() for child in children), return_exceptions=True)


@contextlib.asynccontextmanager
async def children(logs: Path, tree: Path) -> AsyncIterator[Children]:
    kept = Children(logs, tree)
    try:
        yield kept
    finally:
        # Shielded, and waited for again if cancelled meanwhile: a cancelled bench (Ctrl-C) still waits until its
        # children are gone.
        stopping = asyncio.ensure_future(kept.stop_all())
        while not stopping.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(stopping)
