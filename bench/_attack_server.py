"""The server under attack and what surrounds it: a temp project kept busy, the `serve` process (or the window),
and /proc readings of that process (RSS every 50 ms, CPU, threads, open files).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import _benchlib as bl
from _attack_wire import http_get

SAMPLE = bl.FIXTURES / "br3-sample"
PROJECT_NAME = "attack-proj"  # also the session id
BUSY_CHECKPOINT = "checkpoints/checkpoint_busy.json"
BUSY_LOG = "logs/busy.log"
START_TIMEOUT = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- the project


def make_project(root: Path, big: bool = False) -> Path:
    """A writable copy of the real small project; `big` adds a log of long lines and large context documents,
    so the `status` frame is several hundred KB (its terminal tail is capped at 256 KiB)."""
    project = root / PROJECT_NAME
    shutil.copytree(SAMPLE, project, symlinks=True)
    for path in [project, *project.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    if big:
        line = "wide output " + "x" * 300
        (project / ".buildrunner/logs/wide.log").write_text("".join(f"{i:05d} {line}\n" for i in range(1000)))
        for number in range(5):
            body = f"# Notes {number}\n\n" + ("All work and no play makes a long document. " * 1300)
            (project / f".buildrunner/context/notes-{number}.md").write_text(body[: 60 * 1024])
    return project


def first_feature_ids(project: Path, count: int) -> list[str]:
    registry = json.loads((project / ".buildrunner/features.json").read_text())
    return [feature["id"] for feature in registry.get("features", [])[:count]]


class BusyWriter(threading.Thread):
    """Keeps the build busy: every `period` rewrites one checkpoint in place (as BuildRunner does, so the server
    also sees half-written files) with a changing completion and feature overlay, and appends log lines.
    Errors are ignored: scenarios delete `.buildrunner/` under it."""

    def __init__(self, project: Path, period: float = 0.1, line_width: int = 40) -> None:
        super().__init__(name="busy-writer", daemon=True)
        self.base = project / ".buildrunner"
        self.period = period
        self.line = "y" * line_width
        self.features = first_feature_ids(project, 3)
        self.ticks = 0
        self._stop_event = threading.Event()
        self._paused = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            if not self._paused.is_set():
                self.tick()
            next_at = max(next_at + self.period, time.monotonic())
            self._stop_event.wait(next_at - time.monotonic())

    def tick(self) -> None:
        self.ticks += 1
        number = self.ticks
        overlay = [
            {"id": feature, "status": "in_progress", "progress": (number * 7 + index * 13) % 100}
            for index, feature in enumerate(self.features)
        ]
        checkpoint = {
            "id": "checkpoint_busy",
            "timestamp": datetime.now().isoformat(),
            "phase": "build_busy",
            "status": "active",
            "tasks_completed": [f"task-{i}" for i in range(number % 40)],
            "files_created": [],
            "features": overlay,
            "metadata": {"tick": number},
        }
        try:
            (self.base / BUSY_CHECKPOINT).write_text(json.dumps(checkpoint))
            with (self.base / BUSY_LOG).open("a") as log:
                log.write(f"tick {number} {self.line}\ntick {number} done\n")
        except OSError:
            pass

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


# ---------------------------------------------------------------------------- /proc readings


def proc_status_field(pid: int, name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mb(pid: int) -> float | None:
    kb = proc_status_field(pid, "VmRSS")
    return None if kb is None else kb / 1024


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of the process (all its threads), from /proc/PID/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces; it ends at the last ')'
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def kernel_send_queues(server_port: int) -> dict[int, int]:
    """Bytes waiting in the kernel to go from the server's sockets to each client port (tx_queue of
    /proc/net/tcp): what a client did not read yet that the server no longer holds in its own memory."""
    queues: dict[int, int] = {}
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return queues
    for line in lines:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == server_port and fields[3] == "01":  # established
            queues[int(fields[2].split(":")[1], 16)] = int(fields[4].split(":")[0], 16)
    return queues


def open_files(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class RssSampler(threading.Thread):
    """VmRSS every 50 ms, as (monotonic time, MB)."""

    def __init__(self, pid: int, period: float = 0.05) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.period = period
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append((time.monotonic(), value))
            self._stop_event.wait(self.period)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(2)

    def between(self, start: float, end: float) -> list[float]:
        return [value for at, value in self.samples if start <= at <= end]

    def last_before(self, moment: float) -> float | None:
        earlier = [value for at, value in self.samples if at <= moment]
        return earlier[-1] if earlier else None


# ---------------------------------------------------------------------------- the server process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """`buildrunner-gui serve PROJECT --port 0` (or, with `window`, the desktop app offscreen) in its own process."""

    project: Path
    workdir: Path
    token: str | None = None
    window: bool = False
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    session_id: str = PROJECT_NAME
    url: str = ""
    start_seconds: float = 0.0
    stderr_path: Path = field(init=False)
    stdout_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.stderr_path = self.workdir / "server.stderr"
        self.stdout_path = self.workdir / "server.stdout"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        started = time.monotonic()
        # The server's registry and data folder live in the temp folder: an attack never touches the user's.
        env = {
            **os.environ,
            "BUILDRUNNER_HOME": str(self.workdir / "home"),
            "BUILDRUNNER_GUI_DATA": str(self.workdir / "data"),
        }
        if self.window:
            command = self._window_command(env)
        else:
            command = [sys.executable, "-m", "buildrunner_gui", "serve", str(self.project), "--port", "0"]
            if self.token is not None:
                command += ["--token", self.token]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(command, cwd=bl.REPO, stdout=out, stderr=err, env=env)
        self._wait_ready(started)
        self.start_seconds = time.monotonic() - started

    def _window_command(self, env: dict[str, str]) -> list[str]:
        """The window serves on the port its settings name: a free one picked here."""
        self.port = free_port()
        settings = self.workdir / "settings.ini"
        settings.write_text(
            "[preferences]\nserver_enabled=true\nhost=127.0.0.1\n"
            f"port={self.port}\ntoken={self.token or ''}\nnotify_started=false\nnotify_completed=false\n"
            "notify_failed=false\nnotify_fixed=false\n"
        )
        env["BUILDRUNNER_GUI_SETTINGS"] = str(settings)
        env["QT_QPA_PLATFORM"] = "offscreen"
        # Without DISPLAY the program serves headless instead of opening the window; offscreen Qt never uses it.
        env.setdefault("DISPLAY", ":attack-offscreen")
        return [sys.executable, "-m", "buildrunner_gui", str(self.project)]

    def _wait_ready(self, started: float) -> None:
        while time.monotonic() - started < START_TIMEOUT:
            if not self.alive():
                raise RuntimeError(f"the server exited at start: {self.stderr_tail()}")
            if self.window:
                if self._window_ready():
                    self.url = f"ws://127.0.0.1:{self.port}/api/build/stream/{self.session_id}"
                    return
            else:
                for line in self.stdout_path.read_text(errors="replace").splitlines():
                    if line.startswith("serving ws://"):
                        self.url = line.split()[1]
                        self.port = int(self.url.split(":")[2].split("/")[0])
                        self.session_id = self.url.rsplit("/", 1)[1]
                        return
            time.sleep(0.05)
        raise RuntimeError("the server did not get ready within 60 s")

    def _window_ready(self) -> bool:
        try:
            answer = http_get(self.port, "/api/build/sessions", self.auth(), timeout=2.0)
        except OSError:
            return False
        return answer.status == 200 and self.session_id.encode() in answer.body

    def auth(self) -> list[tuple[str, str]]:
        return [("Authorization", f"Bearer {self.token}")] if self.token else []

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stderr_tail(self, lines: int = 3) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return " / ".join(text.strip().splitlines()[-lines:])

    def stderr_problems(self) -> tuple[str | None, str | None]:
        """(the exception line ending the first traceback, the first logged ERROR/CRITICAL line) of the
        server's stderr; None where there is none."""
        lines = self.stderr_path.read_text(errors="replace").splitlines()
        raised = logged = None
        for index, line in enumerate(lines):
            if raised is None and line.startswith("Traceback"):
                ends = [later for later in lines[index + 1 :] if later and not later.startswith(" ")]
                raised = (ends[0] if ends else line).strip()[:160]
            if logged is None and line.startswith(("ERROR", "CRITICAL")):
                logged = line.strip()[:160]
        return raised, logged

    def stderr_excerpt(self, lines: int = 20) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return "\n".join("   | " + line for line in text.splitlines()[:lines])

    def snapshot(self, timeout: float = 15.0) -> dict[str, object] | None:
        """The HTTP snapshot; a 429 (a penalty still owed by this address) is waited out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = http_get(self.port, f"/api/build/status/{self.session_id}", self.auth())
            if answer.status == 200:
                value: dict[str, object] = json.loads(answer.body)
                return value
            time.sleep(0.5)
        return None

    def client_count(self) -> int | None:
        try:
            answer = http_get(self.port, "/api/build/sessions", self.auth())
            rows = json.loads(answer.body) if answer.status == 200 else []
        except (OSError, ValueError):
            return None
        for row in rows:
            if row.get("session_id") == self.session_id:
                count: int = row.get("clients", 0)
                return count
        return None

    def stop(self) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                return None
        return self.process.returncode
