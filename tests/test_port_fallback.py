"""cli.md: without `--port`, a taken default port falls back to a free one and says so (`serve` and the window);
a port given with `--port` and taken is one line of error, exit 1. Ports are held by real sockets; the default
port is moved off the real 8765 with `BUILDRUNNER_DEFAULT_PORT` (or the module constant, in process)."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from buildrunner_gui import ports

WAIT_SECONDS = 40.0


@contextlib.contextmanager
def held_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


class Lines:
    """A stream's lines, read on a thread so that every wait is bounded."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, wanted: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if wanted(line):
                return line
        pytest.fail(f"no such line; seen: {self.seen}")

    def finish(self) -> list[str]:
        """Every line, once the stream has ended."""
        self._thread.join(timeout=WAIT_SECONDS)
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.seen.append(line)
        return self.seen


class Running:
    """The program as a real process; `stop()` is Ctrl+C, the orderly stop."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "buildrunner_gui", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.out, self.err = Lines(self.process.stdout), Lines(self.process.stderr)
        self.code: int | None = None

    def stop(self) -> None:
        try:
            self.process.send_signal(signal.SIGINT)
            self.code = self.process.wait(timeout=WAIT_SECONDS)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.out.finish()
            self.err.finish()
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()


def test_serve_on_a_taken_default_port_falls_back_and_says_so(sample_project: Path, tmp_path: Path):
    bare = tmp_path / "no-state-yet"
    bare.mkdir()
    with held_port() as taken:
        serve = Running("serve", str(sample_project), str(bare), env={ports.DEFAULT_PORT_VARIABLE: str(taken)})
        try:
            note = serve.err.until(lambda line: "was taken" in line)
            serving = serve.out.until(lambda line: line.startswith("serving "))
        finally:
            serve.stop()
    port = int(note.rsplit(" ", 1)[1])
    assert note == f"buildrunner-gui: port {taken} was taken; serving on {port}"
    assert port != taken
    assert serving == f"serving ws://127.0.0.1:{port}/api/build/stream/br3-sample"
    assert serve.code == 0
    assert (
        f"buildrunner-gui: {bare} has no .buildrunner/ yet: no build has run there; watching for it" in serve.err.seen
    )
    assert not any("Traceback" in line for line in serve.err.seen)


def test_serve_on_a_taken_explicit_port_is_one_line_and_exit_1(sample_project: Path):
    with held_port() as taken:
        result = subprocess.run(
            [sys.executable, "-m", "buildrunner_gui", "serve", str(sample_project), "--port", str(taken)],
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"buildrunner-gui: port {taken} on 127.0.0.1 is already in use; "
        "give another --port, or --port 0 for a free one\n"
    )


def test_the_windows_server_falls_back_from_a_taken_default_port(run, monkeypatch):
    from buildrunner_gui.app.server_host import ServerHost
    from buildrunner_gui.settings import Preferences

    async def scenario(port: int) -> tuple[int | None, tuple[str | None, int, str]]:
        host = ServerHost()
        await host.start(Preferences(port=port))
        try:
            return (host.server.port if host.server else None), host.status()
        finally:
            await host.stop()

    with held_port() as taken:
        monkeypatch.setattr(ports, "DEFAULT_PORT", taken)
        served, (url, clients, note) = run(scenario(taken))
    assert served is not None and served != taken
    assert url == f"http://127.0.0.1:{served}/" and clients == 0
    assert note == f"port {taken} was taken; serving on {served}"


def test_the_windows_server_on_a_taken_chosen_port_says_why_it_is_off(run):
    from buildrunner_gui.app.server_host import ServerHost
    from buildrunner_gui.settings import Preferences

    host = ServerHost()
    with held_port() as taken:
        run(host.start(Preferences(port=taken)))
    assert host.server is None
    assert host.status() == (None, 0, f"mirror server not started: port {taken} on 127.0.0.1 is already in use")


def test_a_second_demo_window_with_the_default_port_taken_opens(tmp_path: Path):
    with held_port() as taken:
        settings = tmp_path / "settings.ini"
        settings.write_text(f"[preferences]\nport={taken}\n")
        env = {
            ports.DEFAULT_PORT_VARIABLE: str(taken),
            "DISPLAY": os.environ.get("DISPLAY", ":0"),
            "QT_QPA_PLATFORM": "offscreen",
            "BUILDRUNNER_GUI_SETTINGS": str(settings),
            "BUILDRUNNER_LOG_LEVEL": "INFO",
        }
        window = Running("--demo", env=env)
        try:
            note = window.err.until(lambda line: "was taken" in line)
            window.err.until(lambda line: "window shown" in line)
        finally:
            window.stop()
    assert note.endswith(f"mirror server: port {taken} was taken; serving on {note.rsplit(' ', 1)[1]}")
    assert window.code == 0
    assert not any("Traceback" in line for line in window.err.seen)
