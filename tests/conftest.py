"""Shared test set-up: offscreen Qt, the real fixtures, and a check that no test leaves a thread behind."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "BUILDRUNNER_GUI_DATA" not in os.environ:  # build runs are recorded here, never in the user's data folder
    import tempfile

    os.environ["BUILDRUNNER_GUI_DATA"] = tempfile.mkdtemp(prefix="buildrunner-gui-data-")

import asyncio
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import qasync

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("BUILDRUNNER_FIXTURES", REPO.parent / "shared" / "fixtures"))


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"fixtures not found at {FIXTURES} (set BUILDRUNNER_FIXTURES)")
    return FIXTURES


@pytest.fixture
def sample_project(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A writable copy of the real small project."""
    target = tmp_path / "br3-sample"
    shutil.copytree(fixtures_dir / "br3-sample", target, symlinks=True)
    for path in [target, *target.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    return target


@pytest.fixture(scope="session")
def full_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The complete real 46 MB `.buildrunner/`, unpacked once per test session (read it, do not modify it)."""
    project = tmp_path_factory.mktemp("full") / "br3-full"
    project.mkdir()
    subprocess.run(["tar", "xzf", str(FIXTURES / "br3-buildrunner.tar.gz"), "-C", str(project)], check=True)
    return project


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    """Fails a test that leaves a thread running (watchers, observers, servers must stop cleanly)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not extra, f"threads left running: {[t.name for t in extra]}"


@pytest.fixture(autouse=True)
def no_quit_when_a_test_window_closes(request: pytest.FixtureRequest) -> None:
    """A test's window closing must not quit the application every later test shares: Qt would post a quit
    that stops the next test's event loop (the app itself decides this, in `DesktopApp`)."""
    if {"qapp", "qtbot", "qt_loop", "run"} & set(request.fixturenames):
        request.getfixturevalue("qapp").setQuitOnLastWindowClosed(False)


@pytest.fixture(scope="session")
def qt_loop(qapp) -> qasync.QEventLoop:
    """One qasync loop for the whole session: closing and re-creating qasync loops in one process leaves
    socket notifiers of dead loops behind, which crashes later tests."""
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()  # while the QApplication still exists, or qasync's teardown fails at exit
    asyncio.set_event_loop(None)


@pytest.fixture
def run(qt_loop) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Run a coroutine to completion on the qasync loop (Qt signals and asyncio on one thread, as in the app)."""

    def runner(coroutine: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return qt_loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    return runner
