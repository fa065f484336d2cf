"""Mirrored sessions that get their first state together fill their views one per pass of the event loop
(`ui/paced.py`), never several in one pass: the window stays responsive while thirty open at once."""

from __future__ import annotations

import asyncio
import socket
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


async def serve(project: Path) -> tuple[MirrorServer, ProjectWatcher]:
    """A real server on `project` (port 0), its watcher ready."""
    server, watcher = MirrorServer(port=0), ProjectWatcher(project)
    await server.start()
    server.add_session(watcher)
    watcher.start()
    await wait_for(lambda: watcher.is_ready)
    return server, watcher


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
        server, watcher = await serve(sample_project)
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def test_mirrors_opened_together_start_a_few_at_a_time(run, sample_project: Path, tmp_path: Path, monkeypatch):
    """At most `AT_ONCE` mirrors are opening at any moment; one that cannot connect does not hold up the rest."""
    from buildrunner_gui.app import opening_gate
    from buildrunner_gui.sources.remote import RemoteSource

    monkeypatch.setattr(opening_gate, "AT_ONCE", 2)
    started: list[RemoteSource] = []
    opening_when_started: list[int] = []
    start = RemoteSource.start

    def recorded_start(self: RemoteSource) -> None:
        opening_when_started.append(sum(1 for s in started if s.store.source["state"] == "connecting"))
        started.append(self)
        start(self)

    monkeypatch.setattr(RemoteSource, "start", recorded_start)

    async def scenario() -> None:
        server, watcher = await serve(sample_project)
        nobody = f"ws://127.0.0.1:{free_port()}/api/build/stream/br3-sample"  # nothing listens: unreachable
        mirrors = [(nobody, None)] + [(server.url_for("br3-sample"), None)] * MIRRORS
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([], mirrors=mirrors)
        try:
            sessions = list(desktop.sessions.values())
            waiting = [s for s in sessions if not s.source.running]  # not started yet: their turn comes
            assert len(waiting) >= MIRRORS - 3 and all(s.liveness.state == "connecting" for s in waiting)
            await wait_for(lambda: sum(session.loaded for session in sessions) == MIRRORS)
            assert len(started) == MIRRORS + 1
        finally:
            await desktop.shutdown()
            await server.stop()
            watcher.stop()

    run(scenario())
    assert max(opening_when_started) < 2


def test_a_mirror_closed_while_it_opens_gives_its_place_to_the_next(run, tmp_path: Path, monkeypatch):
    from buildrunner_gui.app import opening_gate

    monkeypatch.setattr(opening_gate, "AT_ONCE", 1)
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers: "connecting" for long
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"ws://127.0.0.1:{silent.getsockname()[1]}/api/build/stream/"

    async def scenario() -> None:
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([], mirrors=[(url + "first", None), (url + "second", None)])
        try:
            first, second = (desktop.sessions[name] for name in ("first", "second"))
            assert first.source.running and not second.source.running  # one at a time
            await asyncio.sleep(0.2)
            assert first.liveness.state == "connecting" and not second.source.running
            desktop.manager.close("first")
            assert second.source.running
        finally:
            await desktop.shutdown()
            silent.close()

    run(scenario())
