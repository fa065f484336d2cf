"""The mirror client against a scripted upstream on a real socket: frames over the limit, a `status` over 2 MiB
announced by `max_frame`, and a gap in the upstream's events (what a real server does not produce on demand).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.formats import parse_registry
from buildrunner_gui.model.inputs import FileRead, LogAppended
from buildrunner_gui.model.snapshot_frame import encode
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources import remote as remote_module
from buildrunner_gui.sources.remote import RemoteSource

from .served import comparable, until

MiB = 1024 * 1024
Handler = Callable[[ServerConnection, int], Awaitable[None]]


def greeting(store: SessionStore, max_frame: int = MiB) -> str:
    return encode(
        store.control(
            "connection",
            status="connected",
            client_id="c1",
            server_version="1",
            protocol_version=1,
            max_frame=max_frame,
        )
    )


def big_upstream(features: int) -> SessionEngine:
    """An upstream whose registry alone makes its `status` larger than 2 MiB."""
    registry = {
        "project": "big",
        "features": [
            {"id": f"feat-{i:05d}", "name": f"Feature {i}", "description": "d" * 400, "status": "planned"}
            for i in range(features)
        ],
    }
    data = json.dumps(registry).encode()
    engine = SessionEngine("up", "Upstream")
    engine.apply([FileRead(".buildrunner/features.json", "features", "created", parse_registry(data), len(data), 0.0)])
    return engine


async def mirror_of(handler: Handler, check: Callable[[RemoteSource, list[int]], Awaitable[None]]) -> None:
    """Serve `handler` (given each connection and its number) on 127.0.0.1 and run `check` on a mirror of it."""
    connections: list[int] = []

    async def upstream(connection: ServerConnection) -> None:
        connections.append(len(connections) + 1)
        await handler(connection, connections[-1])

    async with serve(upstream, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        source = RemoteSource(f"ws://127.0.0.1:{port}/api/build/stream/up")
        source.start()
        try:
            await check(source, connections)
        finally:
            await source.aclose()


def test_a_frame_over_two_mib_is_an_error_shown_and_the_mirror_reconnects(run, monkeypatch):
    monkeypatch.setattr(remote_module, "BACKOFF_START", 0.05)
    upstream = SessionStore("up", {"name": "Upstream", "alias": None, "path": "/srv/up"})

    async def handler(connection: ServerConnection, number: int) -> None:
        await connection.send(greeting(upstream))
        await connection.send(encode(upstream.status_message()))
        if number == 1:
            await connection.send(json.dumps({**upstream.control("terminal_output"), "output": "x" * (3 * MiB)}))
        await connection.wait_closed()

    async def check(source: RemoteSource, connections: list[int]) -> None:
        reasons: list[str] = []
        source.batches.connect(
            lambda batch: reasons.extend(m["source"].get("reason", "") for m in batch if m["type"] == "source_update")
        )
        await until(lambda: len(connections) >= 2 and source.store.source.get("state") == "live", 10, "reconnected")
        assert "the server sent a frame over 2 MiB" in reasons, reasons
        assert source.store.project["name"] == "Upstream"  # the last good state stays

    run(mirror_of(handler, check))


def test_a_status_over_two_mib_right_after_its_announcement_loads_at_once(run):
    """`connection` and the big `status` go out back to back: the limit must rise before the status is parsed."""
    upstream = big_upstream(4000)
    status = encode(upstream.store.status_message())
    assert len(status) > 2 * MiB

    async def handler(connection: ServerConnection, number: int) -> None:
        # Both frames in one write, as the server's direct path may do: they reach the client together.
        connection.protocol.send_text(greeting(upstream.store, len(status)).encode())
        connection.protocol.send_text(status.encode())
        connection.send_data()
        await connection.wait_closed()

    async def check(source: RemoteSource, connections: list[int]) -> None:
        await until(lambda: source.is_ready, 15, "the big status is loaded")
        assert comparable(source.store.snapshot()) == comparable(upstream.store.snapshot())
        assert connections == [1] and source.store.source.get("state") == "live"

    run(mirror_of(handler, check))


def test_a_gap_in_the_upstream_events_asks_for_a_status_and_shows_nothing_past_the_gap(run):
    upstream = SessionEngine("up", "Upstream")
    upstream.apply([LogAppended(".buildrunner/logs/build.log", "zero\n")])
    status_before = encode(upstream.store.status_message())
    lines = ["one", "two", "three", "four", "five"]
    events = [upstream.apply([LogAppended(".buildrunner/logs/build.log", f"{line}\n")])[0] for line in lines]
    asked: list[dict[str, Any]] = []

    async def handler(connection: ServerConnection, number: int) -> None:
        await connection.send(greeting(upstream.store))
        await connection.send(status_before)
        for event in events[:2] + events[3:]:  # `three` never arrives
            await connection.send(encode(event))
        asked.append(json.loads(await connection.recv()))
        await connection.send(encode(upstream.store.status_message()))
        six = upstream.apply([LogAppended(".buildrunner/logs/build.log", "six\n")])
        await connection.send(encode(six[0]))
        await connection.wait_closed()

    async def check(source: RemoteSource, connections: list[int]) -> None:
        timeline: list[str] = []
        source.batches.connect(
            lambda batch: timeline.extend(m["output"].strip() for m in batch if m["type"] == "terminal_output")
        )
        source.reloads.connect(lambda: timeline.append("<status>"))
        await until(lambda: "six" in timeline, 10, "the events after the status")
        assert asked == [{"type": "request_status"}]
        # Nothing past the gap was shown before the status; the status brings the rest, as its catch-up events.
        second = timeline.index("<status>", 1)
        assert timeline[: second + 1] == ["<status>", "zero", "one", "two", "<status>"], timeline
        assert timeline[second + 1 :] == ["three", "four", "five", "six"], timeline
        assert comparable(source.store.snapshot()) == comparable(upstream.store.snapshot())
        assert connections == [1]

    run(mirror_of(handler, check))
