"""Listing a real server's sessions for File → Connect to Server…, from any address of the server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.sources.server_sessions import fetch_sessions, is_session_url, server_of
from buildrunner_gui.sources.watcher import ProjectWatcher

TOKEN = "list-sessions-token-0123"


async def off_the_loop(work: Callable[[], Any]) -> Any:
    """Blocking work on a thread of its own, so the loop that answers the server's questions keeps running."""
    executor = ThreadPoolExecutor(1)
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, work)
    finally:
        executor.shutdown(wait=True)


def project(root: Path, name: str) -> Path:
    folder = root / name
    (folder / ".buildrunner" / "checkpoints").mkdir(parents=True)
    return folder


def test_every_address_of_a_server_lists_its_sessions(run, tmp_path):
    async def scenario():
        server = MirrorServer(host="127.0.0.1", port=0, token=TOKEN)
        watchers = [ProjectWatcher(project(tmp_path, name)) for name in ("alpha", "beta")]
        await server.start()
        try:
            for watcher in watchers:
                server.add_session(watcher)
                watcher.start()
            base = f"127.0.0.1:{server.port}"
            for address in (f"ws://{base}", f"http://{base}/", f"ws://{base}/api/build/stream/alpha?token={TOKEN}"):
                offered = await off_the_loop(lambda a=address: fetch_sessions(a, None if "token=" in a else TOKEN))
                assert [s.session_id for s in offered] == ["alpha", "beta"]
                assert offered[0].stream_url == f"ws://{base}/api/build/stream/alpha"  # never with the token
                assert offered[0].name == "alpha" and offered[0].live
            with pytest.raises(ValueError, match="refused: token"):
                await off_the_loop(lambda: fetch_sessions(f"ws://{base}", "a-wrong-token-456789"))
        finally:
            await server.stop()
            for watcher in watchers:
                watcher.stop()

    run(scenario())


def test_a_closed_port_is_a_one_line_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OSError, match=f"cannot reach 127.0.0.1:{port}"):
        fetch_sessions(f"ws://127.0.0.1:{port}", None)


def test_addresses():
    assert server_of("wss://h.example:443/api/build/stream/x") == ("wss", "h.example:443")
    assert server_of("http://10.0.0.2:8765") == ("ws", "10.0.0.2:8765")
    with pytest.raises(ValueError, match="not a server address"):
        server_of("ftp://h")
    assert is_session_url("ws://h:1/api/build/stream/abc") and not is_session_url("ws://h:1/")
