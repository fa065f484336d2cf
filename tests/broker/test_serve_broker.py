"""`serve … --publish redis://…` and `serve redis://…` as real processes around a real Redis: a build published
by one process is served by two dashboard servers exactly as the publisher serves it (field by field, but
`source`), through a Redis killed and restarted mid-build; once the publisher stops, its session is gone there."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ..sources.served import SESSION, Build, Served, comparable, http_json, make_project
from .redis_server import RedisServer


async def snapshot(server: Served) -> dict[str, Any]:
    return await http_json(server.port, f"/api/build/status/{SESSION}")


async def sources_of(server: Served) -> dict[str, Any]:
    return (await snapshot(server))["source"]


async def all_converge(publisher: Served, dashboards: list[Served], timeout: float = 20.0) -> dict[str, Any]:
    """Until every dashboard serves exactly the publisher's snapshot, live; that snapshot."""
    differing: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                expected = await snapshot(publisher)
                shown = [await snapshot(dashboard) for dashboard in dashboards]
                differing = [
                    key for state in shown for key in expected if key != "source" and state.get(key) != expected[key]
                ]
                live = all(state["source"]["state"] == "live" for state in shown)
                if not differing and live and all(comparable(s) == comparable(expected) for s in shown):
                    return expected
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"the dashboards did not converge in {timeout} s; differing: {sorted(set(differing))}")


async def until_state(dashboard: Served, states: tuple[str, ...], timeout: float, what: str) -> dict[str, Any]:
    try:
        async with asyncio.timeout(timeout):
            while True:
                source = await sources_of(dashboard)
                if source.get("state") in states:
                    return source
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"not within {timeout} s: {what}")


async def published(redis: RedisServer, timeout: float = 15.0) -> None:
    """Until the publisher has listed its session on the broker (a dashboard started then serves it at once)."""
    import redis.asyncio as client_module

    client = client_module.from_url(redis.url)
    try:
        async with asyncio.timeout(timeout):
            while not await client.hexists("buildrunner:sessions", SESSION):
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


def test_two_dashboards_serve_the_published_build_exactly_through_a_redis_restart(
    run, tmp_path: Path, redis_server: RedisServer
):
    project = make_project(tmp_path)

    async def scenario() -> None:
        publisher = await Served.start(project, tmp_path / "publisher.log", 0, "--publish", redis_server.url)
        dashboards: list[Served] = []
        build = Build(project, seed=3)
        try:
            await published(redis_server)
            for number in (1, 2):
                dashboards.append(await Served.start(redis_server.url, tmp_path / f"dashboard{number}.log"))
            assert all(d.url.endswith(f"/api/build/stream/{SESSION}") for d in dashboards)
            first = await all_converge(publisher, dashboards)
            assert first["features"] and (await sources_of(dashboards[0]))["kind"] == "broker"

            build.start()
            await until(lambda: build.steps >= 40, "the build writes")
            await all_converge(publisher, dashboards)  # the build is still writing: they follow it live
            redis_server.kill()
            for dashboard in dashboards:
                source = await until_state(dashboard, ("reconnecting",), 20, "the dashboard notices the broker is gone")
                assert source["reason"] and source["upstream"] == redis_server.url
            steps = build.steps
            await until(lambda: build.steps >= steps + 30, "the build goes on with no broker")
            redis_server.start()  # the same port, and nothing kept: the broker lost everything
            await until(lambda: build.steps >= steps + 60, "the build goes on")
            build.pause()
            converged = await all_converge(publisher, dashboards, 30)
            assert len(converged["checkpoints"]) > len(first["checkpoints"]) or converged != first
            assert "unreachable" in publisher.errors() and "again" in publisher.errors()  # said so, and resumed
            for served in (publisher, *dashboards):
                assert "Traceback" not in served.errors()

            await publisher.stop()  # SIGTERM: a publisher that stops takes its session off the broker
            for dashboard in dashboards:
                gone = await until_state(dashboard, ("unreachable",), 20, "the stopped publisher's session is gone")
                assert gone["reason"] == "gone: its publisher stopped"
        finally:
            await build.stop()
            for served in (*dashboards, publisher):
                await served.stop()

    run(scenario(), 120)


async def until(condition: Any, what: str, timeout: float = 15.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout} s: {what}")
