"""An in-process mirror server on a qasync loop, fed by a real watcher on a real project folder."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import qasync
from websockets.asyncio.client import ClientConnection, connect

from buildrunner_gui.model.messages import SERVER_MESSAGE
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.sources.watcher import ProjectWatcher


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


@contextlib.asynccontextmanager
async def mirror(projects: list[Path], **options: Any) -> AsyncIterator[MirrorServer]:
    server = MirrorServer(port=0, **options)
    watchers = [ProjectWatcher(p) for p in projects]
    await server.start()
    try:
        for watcher in watchers:
            server.add_session(watcher)
            watcher.messages.connect(partial(server.publish, watcher.session_id))
            watcher.start()
        while not all(w.loaded.is_set() for w in watchers):
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


async def receive_until(client: ClientConnection, predicate: Callable[[dict], bool],
                        timeout: float = 5.0) -> list[dict[str, Any]]:
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
