"""An in-process mirror server on a qasync loop, fed by a real watcher on a real project folder."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from buildrunner_gui.model.messages import SERVER_MESSAGE
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.sources.watcher import ProjectWatcher


@contextlib.asynccontextmanager
async def mirror(projects: list[Path], **options: Any) -> AsyncIterator[MirrorServer]:
    server = MirrorServer(port=0, **options)
    watchers = [ProjectWatcher(p) for p in projects]
    await server.start()
    try:
        for watcher in watchers:
            server.add_session(watcher)
            watcher.start()
        while not all(w.is_ready for w in watchers):
            await asyncio.sleep(0.01)
        yield server
    finally:
        await server.stop()
        for watcher in watchers:
            watcher.stop()


async def receive(client: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(client.recv(), timeout))
    SERVER_MESSAGE.validate_python(message)
    return message


async def receive_until(
    client: ClientConnection, predicate: Callable[[dict], bool], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Messages up to and including the first one matching `predicate`."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            seen.append(await receive(client, timeout))
            if predicate(seen[-1]):
                return seen


async def open_client(server: MirrorServer, session_id: str, **options: Any) -> ClientConnection:
    return await connect(server.url_for(session_id), compression=None, **options)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".buildrunner" / "checkpoints").mkdir(parents=True)
    (root / ".buildrunner" / "logs").mkdir()
    return root
