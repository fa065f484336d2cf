"""Mirrored sessions that get their first state together fill their views one per pass of the event loop
(`ui/paced.py`), never several in one pass: the window stays responsive while thirty open at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from buildrunner_gui.app.desktop import DesktopApp
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.settings import AppSettings
from buildrunner_gui.sources.watcher import ProjectWatcher
from buildrunner_gui.ui import paced as paced_module
from buildrunner_gui.ui.session import Session

MIRRORS = 4


async def wait_for(condition, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def test_first_states_of_many_mirrors_load_in_turn(run, sample_project: Path, tmp_path: Path, monkeypatch):
    in_turn = [False]
    first_loads: list[bool] = []  # for each first load: whether it ran as a turn of the paced queue
    run_one, load = paced_module.Paced._run_one, Session.load

    def paced_run_one(self) -> None:
        in_turn[0] = True
        try:
            run_one(self)
        finally:
            in_turn[0] = False

    def recorded_load(self: Session) -> None:
        if not self.loaded:
            first_loads.append(in_turn[0])
        load(self)

    monkeypatch.setattr(paced_module.Paced, "_run_one", paced_run_one)
    monkeypatch.setattr(Session, "load", recorded_load)

    async def scenario() -> None:
        server, watcher = MirrorServer(port=0), ProjectWatcher(sample_project)
        await server.start()
        server.add_session(watcher)
        watcher.start()
        await wait_for(lambda: watcher.is_ready)
        url = server.url_for("br3-sample")
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([], mirrors=[(url, None)] * MIRRORS)
        try:
            sessions = list(desktop.sessions.values())
            await wait_for(lambda: all(session.loaded for session in sessions))
            assert len(sessions) == MIRRORS
        finally:
            await desktop.shutdown()
            await server.stop()
            watcher.stop()

    run(scenario())
    assert first_loads == [True] * MIRRORS


def test_work_queued_twice_runs_once(run):
    queue = paced_module.Paced()
    ran: list[str] = []

    def work() -> None:
        ran.append("work")

    queue.add(work)
    queue.add(work)  # a source that says "reloaded" and "ready" for one first state
    queue.add(lambda: ran.append("other"))

    async def passes() -> None:
        await wait_for(lambda: len(ran) >= 2)
        await asyncio.sleep(0.05)

    run(passes())
    assert ran == ["work", "other"]
