"""Fixtures for watcher tests: a real project folder in a tmp folder and watchers that are always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from buildrunner_gui.sources.watcher import ProjectWatcher

from .helpers import WAIT_MS, Collector

StartWatcher = Callable[..., tuple[ProjectWatcher, Collector]]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".buildrunner" / "checkpoints").mkdir(parents=True)
    (root / ".buildrunner" / "logs").mkdir()
    (root / ".buildrunner" / "context").mkdir()
    return root


@pytest.fixture
def start_watcher(qtbot: Any) -> Iterator[StartWatcher]:
    started: list[ProjectWatcher] = []

    def start(folder: Path, **options: Any) -> tuple[ProjectWatcher, Collector]:
        watcher = ProjectWatcher(folder, **options)
        collector = Collector(watcher)
        started.append(watcher)
        watcher.start()
        qtbot.waitUntil(lambda: watcher.is_ready, timeout=5000)
        qtbot.waitUntil(
            lambda: (
                watcher.store.status_message()["seq"] <= (collector.messages[-1]["seq"] if collector.messages else 0)
            ),
            timeout=WAIT_MS,
        )
        return watcher, collector

    yield start
    for watcher in started:
        watcher.stop()
