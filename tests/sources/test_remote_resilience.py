"""Mirror mode you can trust: the mirror client against real `serve` processes that die, come back, and sit
behind a relay that drops, stalls and half-opens their connections, while a scripted build writes files.

After each disturbance the mirror converges to exactly the server's snapshot (`/api/build/status/ID`, field by
field; only `source` differs); while cut off its `source.state` is not `live`; a refusal stops the retries; an
unreachable server is reported within 10 s.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
from typing import Any

import pytest

from buildrunner_gui.sources import remote as remote_module
from buildrunner_gui.sources.remote import RemoteSource

from .chaos_relay import ChaosRelay
from .served import SESSION, Build, Served, converges, make_project, until

TOKEN = "a-good-token-of-24-chars"
DISTURBANCES = 50


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short waits, and liveness pings that find a silent connection in about a second."""
    monkeypatch.setattr(remote_module, "BACKOFF_START", 0.05)
    monkeypatch.setattr(remote_module, "BACKOFF_MAX", 0.2)
    monkeypatch.setattr(remote_module, "PING_INTERVAL", 0.4)
    monkeypatch.setattr(remote_module, "PING_TIMEOUT", 0.4)
    monkeypatch.setattr(remote_module, "CLOSE_TIMEOUT", 0.2)


def states_of(mirror: RemoteSource) -> list[dict[str, Any]]:
    """Every `source` the mirror publishes (each change is a `source_update` event)."""
    seen: list[dict[str, Any]] = []
    mirror.batches.connect(lambda batch: seen.extend(m["source"] for m in batch if m["type"] == "source_update"))
    return seen


def state(mirror: RemoteSource) -> str:
    return str(mirror.store.source.get("state"))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_killed_mid_build_and_restarted_on_its_port_is_followed_exactly(run, tmp_path, quick_retries):
    project = make_project(tmp_path)

    async def scenario() -> None:
        server = await Served.start(project, tmp_path / "serve.log")
        mirror = RemoteSource(server.url)
        seen = states_of(mirror)
        build = Build(project, seed=1)
        mirror.start()
        try:
            await converges(mirror, server.port)
            build.start()
            await until(lambda: build.steps >= 20, 10, "the build writes")
            server.kill()
            await until(lambda: state(mirror) == "reconnecting", 10, "the mirror notices the server is gone")
            shown = mirror.store.snapshot()
            assert shown["features"] and shown["checkpoints"]  # the last state stays on show, stale
            source = mirror.store.source
            assert source["reason"] and source["next_try"] and source["since"]
            steps = build.steps
            await until(lambda: build.steps >= steps + 10, 10, "the build goes on with no server")
            await server.restart()  # the same port and folder
            await until(lambda: build.steps >= steps + 30, 10, "the build goes on")
            build.pause()
            await converges(mirror, server.port)
            assert "reconnecting" in [s["state"] for s in seen]
            assert "Traceback" not in server.errors()
        finally:
            await build.stop()
            await mirror.aclose()
            await server.stop()

    run(scenario(), timeout=90)


def test_the_mirror_converges_after_each_of_fifty_drops_stalls_and_half_open_connections(run, tmp_path, quick_retries):
    project = make_project(tmp_path)
    chance = random.Random(2024)

    async def scenario() -> None:
        server = await Served.start(project, tmp_path / "serve.log")
        relay = ChaosRelay(server.port)
        await relay.start()
        mirror = RemoteSource(server.url.replace(f":{server.port}/", f":{relay.port}/"))
        seen = states_of(mirror)
        build = Build(project, seed=2)
        mirror.start()
        done: list[str] = []
        try:
            await converges(mirror, server.port)
            build.start()
            for _ in range(DISTURBANCES):
                await asyncio.sleep(chance.uniform(0.0, 0.15))  # a random point of the build and of the stream
                kind = chance.choice(["drop", "reset", "stall", "half-open"])
                if kind == "stall":
                    relay.stall()
                    await asyncio.sleep(chance.uniform(0.05, 0.3))
                    relay.flow()
                else:
                    relay.cut = True  # the server looks gone until the test lets it back
                    if kind == "half-open":
                        relay.half_open()
                    else:
                        relay.drop(reset=kind == "reset")
                    await until(lambda: state(mirror) != "live", 10, f"the mirror notices a {kind}")
                    await asyncio.sleep(chance.uniform(0.0, 0.2))
                    assert state(mirror) in ("reconnecting", "unreachable"), mirror.store.source
                    relay.cut = False
                    relay.bury()
                await asyncio.sleep(chance.uniform(0.0, 0.2))  # the build goes on over the new connection
                build.pause()
                await converges(mirror, server.port)
                build.resume()
                done.append(kind)
            build.pause()
            await converges(mirror, server.port)
        finally:
            await build.stop()
            await mirror.aclose()
            await relay.stop()
            await server.stop()
        assert len(done) == DISTURBANCES and {"drop", "reset", "stall", "half-open"} <= set(done)
        reasons = {s.get("reason") for s in seen if s["state"] == "reconnecting"}
        assert "no answer to pings: the connection was lost" in reasons  # the half-open ones, found by pings
        assert "Traceback" not in server.errors()

    run(scenario(), timeout=150)


def test_a_bad_token_is_refused_once_and_never_tried_again(run, tmp_path, quick_retries):
    project = make_project(tmp_path)

    async def scenario() -> None:
        server = await Served.start(project, tmp_path / "serve.log", 0, "--token", TOKEN)
        relay = ChaosRelay(server.port)
        await relay.start()
        base = server.url.replace(f":{server.port}/", f":{relay.port}/")
        wrong = RemoteSource(base, token="not-the-token-at-all-00")
        unknown = RemoteSource(base.replace(f"/{SESSION}", "/no-such-session"), token=TOKEN)
        good = RemoteSource(server.url + f"?token={TOKEN}")
        for mirror in (wrong, unknown, good):
            mirror.start()
        try:
            await until(lambda: state(wrong) == "refused" and state(unknown) == "refused", 10, "refusals")
            assert wrong.store.source["reason"] == "refused: token"
            assert unknown.store.source["reason"] == "refused: session id"
            assert "next_try" not in wrong.store.source
            await until(lambda: not wrong.running and not unknown.running, 5, "the mirrors stop trying")
            await asyncio.sleep(1.0)  # many retry periods at these settings
            assert relay.accepted == 2  # one attempt each
            await converges(good, server.port, token=TOKEN)  # the right token is let in
        finally:
            for mirror in (wrong, unknown, good):
                await mirror.aclose()
            await relay.stop()
            await server.stop()

    run(scenario(), timeout=60)


def test_an_unreachable_server_is_reported_within_ten_seconds(run, tmp_path):
    """With the real timeouts: a closed port, and a server that accepts connections but never answers (a
    black hole: what a host that drops packets looks like once the open timeout runs out)."""

    async def scenario() -> None:
        silent_clients: list[asyncio.StreamWriter] = []

        async def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            silent_clients.append(writer)

        silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        silent_port = silent.sockets[0].getsockname()[1]
        refused = RemoteSource(f"ws://127.0.0.1:{closed_port()}/api/build/stream/{SESSION}")
        black_hole = RemoteSource(f"ws://127.0.0.1:{silent_port}/api/build/stream/{SESSION}")
        refused.start()
        black_hole.start()
        try:
            await until(lambda: state(refused) == "unreachable", 10, "a closed port is unreachable")
            await until(lambda: state(black_hole) == "unreachable", 10, "a silent server is unreachable")
            assert refused.store.source["reason"] == "connection refused"
            assert black_hole.store.source["reason"] == "timed out"
            assert refused.store.source["next_try"] and refused.running  # it keeps trying
            assert not refused.is_ready and not black_hole.is_ready
        finally:
            await refused.aclose()
            await black_hole.aclose()
            silent.close()
            for writer in silent_clients:
                writer.close()
            await silent.wait_closed()

    run(scenario(), timeout=30)


def test_a_mirror_of_a_relay_converges_to_the_upstream_even_when_the_upstream_dies(run, tmp_path, quick_retries):
    project = make_project(tmp_path)

    async def scenario() -> None:
        upstream = await Served.start(project, tmp_path / "upstream.log")
        relay = await Served.start(upstream.url, tmp_path / "relay.log")
        mirror = RemoteSource(relay.url)
        build = Build(project, seed=3)
        mirror.start()
        try:
            await converges(mirror, upstream.port)
            build.start()
            await until(lambda: build.steps >= 30, 10, "the build writes")
            build.pause()
            await converges(mirror, upstream.port)

            build.resume()
            upstream.kill()
            steps = build.steps
            await until(lambda: build.steps >= steps + 10, 10, "the build goes on with no upstream")
            await upstream.restart()
            await until(lambda: build.steps >= steps + 30, 10, "the build goes on")
            build.pause()
            await converges(mirror, upstream.port, timeout=30)  # the relay's own retries wait up to 1-2 s
            assert "Traceback" not in upstream.errors() + relay.errors()
        finally:
            await build.stop()
            await mirror.aclose()
            await relay.stop()
            await upstream.stop()

    run(scenario(), timeout=120)


def test_a_registry_whose_status_is_over_two_mib_still_loads(run, tmp_path):
    """The `connection` message's `max_frame` raises the mirror's frame limit before the big `status` is read.
    (No documents here: a `status` over 1 MiB goes without their content, as protocol.md says, so a mirror shows
    them as truncated until they change.)"""
    project = make_project(tmp_path)
    (project / ".buildrunner" / "context" / "current-work.md").unlink()
    features = [
        {"id": f"feat-{i:05d}", "name": f"Feature {i}", "description": "d" * 400, "status": "planned"}
        for i in range(5000)
    ]
    (project / ".buildrunner" / "features.json").write_text(json.dumps({"project": SESSION, "features": features}))

    async def scenario() -> None:
        server = await Served.start(project, tmp_path / "serve.log")
        mirror = RemoteSource(server.url)
        mirror.start()
        try:
            await converges(mirror, server.port, timeout=60)
            assert len(mirror.store.snapshot()["features"]) == 5000
            assert len(mirror.store.status_frame()) > 2 * 1024 * 1024
        finally:
            await mirror.aclose()
            await server.stop()

    run(scenario(), timeout=90)
