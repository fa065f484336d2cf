"""The double-clickable app: build the PyInstaller bundle and its archive from build_app.spec (once per test
session), then run the built binary the way a user does.

A bundle that builds can still fail to start (a missing Qt plugin, a module PyInstaller did not see, a library
the trimming dropped), so the binary itself must pass `--self-test` without a word on stderr, start its window
under a real X server, and run `serve`, `status`, `init`, `mirror` and `install-desktop` as from source."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildrunner_gui import __version__

REPO = Path(__file__).resolve().parents[1]
# A line of the app's own logging ("INFO name: message"); anything else on stderr is Qt (or worse) speaking
LOG_LINE = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pyinstaller = Path(sys.executable).with_name("pyinstaller")
    if not pyinstaller.exists():
        pytest.fail("PyInstaller is not installed (scripts/setup --dev installs it)")
    out = tmp_path_factory.mktemp("bundle")
    subprocess.run(
        [str(pyinstaller), "--noconfirm", "--log-level", "WARN", "--distpath", str(out / "dist"),
         "--workpath", str(out / "build"), "build_app.spec"],
        cwd=REPO, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return out / "dist"


@pytest.fixture(scope="module")
def bundle(dist: Path) -> Path:
    binary = dist / "buildrunner-gui" / "buildrunner-gui"
    assert binary.exists()
    return binary


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A real X server (Xvfb, installed by scripts/setup) for the window and the mirror."""
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    number = server.stdout.readline().strip()
    assert number.isdigit(), "Xvfb did not start"
    yield f":{number}"
    server.terminate()
    server.wait(timeout=30)
    server.stdout.close()


def isolated(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment whose settings, aliases and desktop folders are the test's own."""
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {
        **env,
        "BUILDRUNNER_GUI_SETTINGS": str(tmp_path / "settings.json"),
        "BUILDRUNNER_HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "share"),
        "BUILDRUNNER_LOG_LEVEL": "INFO",
        **extra,
    }


class Running:
    """A process read line by line on stderr (and stdout) while it runs; stopped with SIGTERM, the way a
    desktop session ends an app."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._seen = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list[str]) -> None:
        for line in stream:
            with self._seen:
                lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, pattern: str, lines: list[str], timeout: float = 60) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found[:] = [m for m in (re.search(pattern, line) for line in lines) if m][:1]
            return bool(found) or self.process.poll() is not None

        with self._seen:
            self._seen.wait_for(seen, timeout)
        assert found, f"no {pattern!r} in the output; stderr: {self.stderr}"
        return found[0]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def until_mirrored(sessions_url: str, deadline: float = 60) -> bool:
    """True once the served session counts a client (the mirror's window connected), polling up to `deadline`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        rows = get_json(sessions_url)
        if isinstance(rows, list) and rows and rows[0]["clients"] >= 1:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.timeout(900)
def test_the_built_binary_passes_its_self_test_in_silence(bundle: Path, tmp_path: Path):
    result = subprocess.run(
        [str(bundle), "--self-test"],
        capture_output=True,
        text=True,
        timeout=120,
        env=isolated(tmp_path, BUILDRUNNER_LOG_LEVEL="WARNING"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("self-test ok: parse, watch, serve, page, stream, window")
    assert result.stderr == ""  # no Qt warning, no log line: a clean start


@pytest.mark.timeout(900)
def test_the_built_binary_reads_a_real_project(bundle: Path, sample_project: Path):
    result = subprocess.run(
        [str(bundle), "status", str(sample_project), "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["feature_stats"]["total"] == 17


@pytest.mark.timeout(900)
def test_the_built_binary_plays_the_demo_build_as_a_child_process(bundle: Path, tmp_path: Path):
    """The demo's build command in the bundle is the app itself with the hidden flag (no `python -m` there)."""
    folder = tmp_path / "demo"
    result = subprocess.run(
        [str(bundle), "--demo-build", str(folder), "--duration", "0.5"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "simulated build finished" in result.stdout
    phases = [json.loads(p.read_text())["phase"] for p in (folder / ".buildrunner" / "checkpoints").glob("*.json")]
    assert "build_complete" in phases


@pytest.mark.timeout(900)
def test_a_plain_start_shows_the_window_with_no_qt_warning(bundle: Path, sample_project: Path, display: str, tmp_path):
    app = Running([str(bundle), str(sample_project)], isolated(tmp_path, DISPLAY=display, QT_QPA_PLATFORM="xcb"))
    try:
        app.wait_for(r"window shown in \d+ ms", app.stderr)
    finally:
        code = app.stop()
    assert code == 0, app.stderr
    assert [line for line in app.stderr if not LOG_LINE.match(line)] == []


@pytest.mark.timeout(900)
def test_the_bundled_init_serve_and_mirror_work_together(bundle: Path, display: str, tmp_path: Path):
    """`init` makes a project and its alias, `serve` serves it by alias, and `mirror` (a window on a real X
    server) connects to that session: the server counts it as a client."""
    env = isolated(tmp_path)
    made = subprocess.run(
        [str(bundle), "init", "shop", str(tmp_path / "shop"), "--name", "Shop"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "shop" / ".buildrunner").is_dir()
    server = Running([str(bundle), "serve", "shop", "--port", "0"], env)
    mirror = None
    try:
        url = server.wait_for(r"^serving (ws://127\.0\.0\.1:(\d+)/api/build/stream/(\S+))$", server.stdout)
        http = f"http://127.0.0.1:{url.group(2)}"
        snapshot = get_json(f"{http}/api/build/status/{url.group(3)}?v=1")
        assert isinstance(snapshot, dict) and snapshot["project"]["name"] == "Shop", snapshot
        mirror_env = {**isolated(tmp_path / "mirror"), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        mirror = Running([str(bundle), "mirror", url.group(1)], mirror_env)
        mirror.wait_for(r"window shown in \d+ ms", mirror.stderr)
        assert until_mirrored(f"{http}/api/build/sessions"), server.stderr + mirror.stderr
    finally:
        mirror_code = mirror.stop() if mirror is not None else 0
        server_code = server.stop()
    assert (server_code, mirror_code) == (0, 0), server.stderr + (mirror.stderr if mirror else [])
    assert [line for line in mirror.stderr if not LOG_LINE.match(line)] == []


@pytest.mark.timeout(900)
def test_the_archive_unpacks_to_a_bundle_that_installs_its_desktop_entry(dist: Path, tmp_path: Path):
    archive = dist / f"buildrunner-gui-{__version__}-linux-x86_64.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    binary = tmp_path / "unpacked" / "buildrunner-gui" / "buildrunner-gui"
    env = isolated(tmp_path)
    result = subprocess.run([str(binary), "install-desktop"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    entry = tmp_path / "share" / "applications" / "buildrunner-gui.desktop"
    assert f"wrote {entry}" in result.stdout.splitlines()
    assert f"Exec={binary} %F" in entry.read_text().splitlines()  # the unpacked bundle, not a command on PATH
    assert (tmp_path / "share" / "icons" / "hicolor" / "48x48" / "apps" / "buildrunner-gui.png").is_file()
    removed = subprocess.run(
        [str(binary), "install-desktop", "--uninstall"], capture_output=True, text=True, timeout=120, env=env
    )
    assert removed.returncode == 0 and f"removed {entry}" in removed.stdout.splitlines()
    assert not entry.exists()


@pytest.mark.timeout(900)
def test_the_bundle_leaves_out_what_the_app_never_loads(bundle: Path):
    inside = bundle.parent / "_internal"
    assert not list(inside.glob("hypothesis")) and not list(inside.glob("mypy")), "test-only packages bundled"
    assert not (inside / "PySide6" / "Qt" / "translations").exists()
    assert not list(inside.glob("libgtk-3*")) and not list(inside.rglob("libqgtk3.so"))
    assert (inside / "PySide6" / "Qt" / "plugins" / "platforms" / "libqwayland.so").exists()  # Wayland desktops
    assert (inside / "buildrunner_gui" / "icons" / "buildrunner-gui-256.png").is_file()
