"""Publishing and following in one process, against a real Redis: a dashboard's store converges to the
publisher's, and a stream trimmed past what a stalled dashboard had read makes it reload the snapshot, never
skip an event silently."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis.asyncio as redis_client

from buildrunner_gui.model import broker_keys
from buildrunner_gui.server import publish_link
from buildrunner_gui.server.broker_publisher import BrokerPublisher
from buildrunner_gui.sources import broker_directory
from buildrunner_gui.sources.broker import BrokerSource
from buildrunner_gui.sources.broker_directory import BrokerDirectory

from .local_session import LocalSession, comparable
from .redis_server import RedisServer


async def until(condition: Any, timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout} s: {what}")


def same(dashboard: BrokerSource, local: LocalSession) -> bool:
    return comparable(dashboard.store.snapshot()) == comparable(local.store.snapshot())


async def follow(directory: BrokerDirectory) -> list[BrokerSource]:
    found: list[BrokerSource] = []

    def added(source: BrokerSource) -> None:
        found.append(source)
        source.start()

    directory.added.connect(added)
    directory.start()
    await until(lambda: found and found[0].is_ready, 10, "the dashboard finds the session and loads it")
    return found


def test_a_dashboard_follows_every_event_and_a_trimmed_stream_makes_it_reload(
    run, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
):
    async def scenario() -> None:
        local = LocalSession()
        local.write_lines(30)
        publisher = BrokerPublisher(redis_server.url)
        await publisher.start()
        directory = BrokerDirectory(redis_server.url)
        try:
            publisher.add_session(local)
            dashboard = (await follow(directory))[0]
            assert dashboard.store.source["kind"] == "broker"
            assert dashboard.session_id == "local" and dashboard.store.project["name"] == "local project"
            for _ in range(20):  # while it keeps up, it reads every event: no gap, no reload
                local.write_lines(10)
                await asyncio.sleep(0.01)
            await until(lambda: same(dashboard, local), 10, "the dashboard shows the publisher's state")
            assert dashboard._follower.gaps == 0 and dashboard.reloaded == 0
            assert dashboard.store.source["state"] == "live"
            # protocol.md: the snapshot key holds the `status` message JSON with the stream entry id it includes
            client = redis_client.from_url(redis_server.url)
            try:
                snapshot = json.loads(await client.get(broker_keys.snapshot_key("local")))
                entries = await client.xrange(broker_keys.events_key("local"), snapshot["entry_id"], "+", count=1)
            finally:
                await client.aclose()
            assert snapshot["type"] == "status" and snapshot["state"]["project"]["name"] == "local project"
            # an entry of the stream, or "0-0" for a snapshot written before any (reading starts after it)
            assert snapshot["entry_id"] == "0-0" or entries[0][0].decode() == snapshot["entry_id"]

            # `MAXLEN ~ 100` from now on (trimmed by whole nodes of 100 entries), and a dashboard stalled while the
            # stream moves on by far more than it keeps
            monkeypatch.setattr(broker_keys, "STREAM_MAXLEN", 100)
            await dashboard.aclose()
            local.write_lines(1500, per_batch=50)
            await until(lambda: publisher.link is not None and publisher.link.written >= 1500, 10, "all published")
            dashboard.start()
            await until(lambda: same(dashboard, local), 10, "the dashboard catches up")
            assert dashboard._follower.gaps >= 1 and dashboard.reloaded >= 1  # by the snapshot, not by skipping
        finally:
            await directory.aclose()
            await publisher.stop()

    run(scenario(), 60)


def test_a_broker_away_fills_a_bounded_backlog_then_a_fresh_snapshot_brings_the_dashboard_back(
    run, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(publish_link, "MAX_EVENTS", 300)
    monkeypatch.setattr(publish_link, "RETRY_MAX", 0.5)

    async def scenario() -> None:
        local = LocalSession()
        local.write_lines(30)
        publisher = BrokerPublisher(redis_server.url)
        notices: list[str] = []
        publisher.notices.append(notices.append)
        await publisher.start()
        directory = BrokerDirectory(redis_server.url)
        try:
            publisher.add_session(local)
            dashboard = (await follow(directory))[0]
            await until(lambda: same(dashboard, local), 10, "the dashboard shows the publisher's state")
            redis_server.kill()
            local.write_lines(2000, per_batch=20)  # far more than the backlog holds
            await until(lambda: any("unreachable" in n for n in notices), 15, "the publisher says the broker is away")
            link = publisher.link
            assert link is not None
            await until(lambda: any("fell behind" in n for n in notices), 10, "the publisher says it dropped events")
            assert link.dropped > 0 and link._events <= 300  # bounded: the rest was dropped
            redis_server.start()  # empty: everything the broker had is lost too
            await until(lambda: any("again" in n for n in notices), 15, "publishing resumes")
            local.write_lines(20)
            live = lambda: dashboard.store.source["state"] == "live"  # noqa: E731  (the list is back: not gone)
            await until(lambda: same(dashboard, local) and live(), 20, "the dashboard converges again, live")
        finally:
            await directory.aclose()
            await publisher.stop()

    run(scenario(), 60)


def test_a_session_whose_publisher_died_long_ago_is_not_served(
    run, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(broker_directory, "POLL_SECONDS", 0.1)

    async def scenario() -> None:
        client = redis_client.from_url(redis_server.url)
        left = broker_keys.session_entry("old", "gone-host:1", "2020-01-01T00:00:00.000Z")
        await client.hset(broker_keys.SESSIONS_KEY, mapping={"old": left})
        await client.aclose()
        local = LocalSession()
        local.write_lines(5)
        publisher = BrokerPublisher(redis_server.url)
        await publisher.start()
        directory = BrokerDirectory(redis_server.url)
        try:
            publisher.add_session(local)
            found = await follow(directory)
            await asyncio.sleep(5 * broker_directory.POLL_SECONDS)  # a few more reads of the sessions hash
            assert [source.session_id for source in found] == ["local"] and set(directory.sources) == {"local"}
        finally:
            await directory.aclose()
            await publisher.stop()

    run(scenario(), 30)


def test_a_broker_that_speaks_only_tls(run, tmp_path):
    folder = tmp_path / "tls-redis"
    folder.mkdir()
    secure = RedisServer(folder, tls=True)
    secure.start()

    async def scenario() -> None:
        local = LocalSession()
        local.write_lines(20)
        publisher = BrokerPublisher(secure.url)
        await publisher.start()
        directory = BrokerDirectory(secure.url)
        try:
            publisher.add_session(local)
            dashboard = (await follow(directory))[0]
            local.write_lines(20)
            await until(lambda: same(dashboard, local), 10, "the dashboard shows the publisher's state over TLS")
            assert dashboard.store.source["upstream"] == f"rediss://127.0.0.1:{secure.port}/0"
        finally:
            await directory.aclose()
            await publisher.stop()

    try:
        run(scenario(), 30)
    finally:
        secure.stop()
