"""`serve --control-token` as a real process: a build started over HTTP runs in the project folder with the
command the window keeps for it, and stopping the server leaves no build process behind."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from buildrunner_gui.settings import AppSettings

CONTROL = "control-token-0123456789abcdef"


def post(url: str, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url, method="POST", data=None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_runs_a_build_over_http_and_cancels_it_when_stopped(tmp_path: Path):
    project = tmp_path / "proj"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    (project / "build.py").write_text(
        "import os, time\nopen('build.pid', 'w').write(str(os.getpid()))\ntime.sleep(120)\n"
    )
    config = tmp_path / "config"
    settings = AppSettings(str(config / "BuildRunner" / "BuildRunner Desktop.conf"))
    settings.set_build_command(str(project), f"{shlex.quote(sys.executable)} build.py")
    settings.sync()
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", "serve", str(project), "--port", "0", "--control-token", CONTROL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    pid_file = project / "build.pid"
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("serving ws://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        base = "http://" + line.split("//", 1)[1].split("/", 1)[0]
        assert post(f"{base}/api/build/start/proj", None)[0] == 401
        status, body = post(f"{base}/api/build/start/proj", CONTROL)
        assert status == 202 and '"state": "starting"' in body
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        build_pid = int(pid_file.read_text())
        assert alive(build_pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert not alive(build_pid)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if pid_file.exists() and pid_file.read_text():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
