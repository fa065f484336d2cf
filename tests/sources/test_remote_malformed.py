"""The mirror client against an upstream that sends a malformed frame: the error is shown, then it reconnects."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.server import ServerConnection, serve

from buildrunner_gui.model.snapshot_frame import encode
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources import remote as remote_module
from buildrunner_gui.sources.remote import RemoteSource

UPSTREAM = SessionStore("up", {"name": "Upstream", "alias": None, "path": "/srv/up"}, epoch="upstream-epoch")
STATUS = UPSTREAM.status_message()
CONNECTION = UPSTREAM.control(
    "connection", status="connected", client_id="c1", server_version="1", protocol_version=1, max_frame=1 << 20
)

BAD_FRAMES: dict[str, str | bytes] = {
    "not JSON": "{not json",
    "a list": "[1, 2]",
    "null": "null",
    "a status without epoch": json.dumps({k: v for k, v in STATUS.items() if k != "epoch"}),
    "a status without state": json.dumps({k: v for k, v in STATUS.items() if k != "state"}),
    "binary": b"\x00\x01binary",
    "an event without its fields": json.dumps({**UPSTREAM.control("feature_update"), "seq": 99}),
    "deeply nested JSON": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("bad", list(BAD_FRAMES), ids=list(BAD_FRAMES))
def test_a_malformed_frame_is_shown_and_the_mirror_reconnects(run, monkeypatch, bad):
    monkeypatch.setattr(remote_module, "BACKOFF_START", 0.05)
    connections: list[int] = []

    async def upstream(connection: ServerConnection) -> None:
        connections.append(1)
        await connection.send(encode(CONNECTION))
        await connection.send(encode(STATUS))
        if len(connections) == 1:
            await connection.send(BAD_FRAMES[bad])
        await connection.wait_closed()

    async def scenario():
        async with serve(upstream, "127.0.0.1", 0, compression=None, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            source = RemoteSource(f"ws://127.0.0.1:{port}/api/build/stream/up")
            states: list[tuple[str, str]] = []
            source.batches.connect(
                lambda batch: states.extend(
                    (m["source"]["state"], m["source"].get("reason", "")) for m in batch if m["type"] == "source_update"
                )
            )
            source.start()
            try:
                async with asyncio.timeout(10):
                    while len(connections) < 2 or source.store.source.get("state") != "live":
                        await asyncio.sleep(0.02)
            finally:
                await source.aclose()
            refused = [reason for state, reason in states if state in ("reconnecting", "unreachable")]
            assert refused and refused[0].startswith("the server sent "), states
            assert source.store.project["name"] == "Upstream"  # the last good state is kept

    run(scenario())
