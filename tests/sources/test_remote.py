"""The mirror client against real servers: it loads, follows, and comes back after the server restarts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.sources import remote as remote_module
from buildrunner_gui.sources.remote import RemoteSource
from buildrunner_gui.sources.watcher import ProjectWatcher


async def serve(project: Path, port: int = 0, token: str | None = None) -> tuple[MirrorServer, ProjectWatcher]:
    server = MirrorServer(port=port, token=token)
    watcher = ProjectWatcher(project)
    await server.start()
    server.add_session(watcher)
    watcher.start()
    while not watcher.is_ready:
        await asyncio.sleep(0.01)
    return server, watcher


async def until(condition, timeout: float = 8.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def write_checkpoint(project: Path, name: str, completion: float) -> None:
    (project / ".buildrunner" / "checkpoints" / f"{name}.json").write_text(
        json.dumps({"id": name, "timestamp": f"2030-01-01T00:00:{int(completion):02d}", "completion": completion})
    )


def test_remote_source_follows_and_survives_a_server_restart(run, tmp_path, monkeypatch):
    monkeypatch.setattr(remote_module, "BACKOFF_START", 0.1)
    project = tmp_path / "proj"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    write_checkpoint(project, "a", 10)

    async def scenario():
        server, watcher = await serve(project)
        port = server.port
        source = RemoteSource(server.url_for("proj"))
        events: list[dict] = []
        reloads: list[bool] = []
        source.batches.connect(events.extend)
        source.reloads.connect(lambda: reloads.append(True))
        source.start()
        try:
            await until(lambda: source.is_ready)
            assert source.store.snapshot()["progress"]["percent"] == 10.0
            write_checkpoint(project, "b", 20)
            await until(lambda: source.store.snapshot()["progress"]["percent"] == 20.0)
            assert any(m["type"] == "build_progress" for m in events)
            first_epoch = source.store.epoch
            first_upstream = server.sessions["proj"].store.epoch

            await server.stop()
            watcher.stop()
            write_checkpoint(project, "c", 30)  # while no server runs
            server, watcher = await serve(project, port)
            await until(lambda: reloads and source.store.snapshot()["progress"]["percent"] == 30.0)
            # The upstream restarted with a new epoch; the mirror's own numbering goes on (its clients resume).
            assert server.sessions["proj"].store.epoch != first_upstream
            assert source.store.epoch == first_epoch
            write_checkpoint(project, "d", 40)
            await until(lambda: source.store.snapshot()["progress"]["percent"] == 40.0)
        finally:
            await source.aclose()
            await server.stop()
            watcher.stop()

    run(scenario(), timeout=40)


def test_remote_source_sends_the_token_and_gives_up_on_refusal(run, tmp_path):
    project = tmp_path / "proj"
    (project / ".buildrunner").mkdir(parents=True)

    async def scenario():
        server, watcher = await serve(project, token="a-secret-of-20-chars")
        good = RemoteSource(server.url_for("proj") + "?token=a-secret-of-20-chars")
        bad = RemoteSource(server.url_for("proj"), token="wrong")
        good.start()
        bad.start()
        try:
            await until(lambda: good.is_ready)
            await until(lambda: bad.store.source.get("state") == "refused")
            assert bad.store.source.get("reason") == "refused: token"
            assert not bad.is_ready and not bad.running  # no more attempts
        finally:
            await good.aclose()
            await bad.aclose()
            await server.stop()
            watcher.stop()

    run(scenario())


def test_remote_source_rejects_a_url_that_is_not_a_stream():
    with pytest.raises(ValueError, match="not a mirror stream URL"):
        RemoteSource("http://127.0.0.1:8765/")
