"""A password-protected Redis, and a publisher that dies: real `serve` processes around a real `redis-server`.

The password travels in the URL only: it is never printed, logged or served (`source.upstream` has none); a
dashboard without it is refused and says so. A publisher killed (SIGKILL: it cannot take its sessions off) is
marked gone on the dashboards once its entry is no longer refreshed (the spec's 10 s refresh and 60 s limit are
shortened here through the environment, as the publisher and the dashboard both read them); started again, it
publishes a new epoch, which the dashboard follows.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..sources.served import SESSION, Build, Served, http_json, make_project
from .redis_server import RedisServer
from .test_serve_broker import all_converge, published, until_state

PASSWORD = "broker-password-of-the-test"


@pytest.fixture
def locked_redis(tmp_path: Path):
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder, password=PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def refused_line(url: str, log: Path) -> str:
    """Start a dashboard on `url`; the line of its stderr that says it was refused (then stop it)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", "serve", url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        fd = process.stderr.fileno()
        os.set_blocking(fd, False)  # read on the test's loop: no thread
        said = b""
        async with asyncio.timeout(30):
            while b"refused" not in said:
                try:
                    chunk = os.read(fd, 4096)
                except BlockingIOError:
                    await asyncio.sleep(0.02)
                    continue
                if not chunk:
                    break
                said += chunk
        log.write_bytes(said)
        return next((line for line in said.decode().splitlines() if "refused" in line), "")
    finally:
        process.terminate()
        process.wait(15)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_a_password_protected_broker_and_a_killed_publisher_marked_gone(
    run, tmp_path: Path, locked_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BUILDRUNNER_BROKER_REFRESH", "0.5")
    monkeypatch.setenv("BUILDRUNNER_BROKER_GONE", "3")
    project = make_project(tmp_path)
    without_password = f"redis://127.0.0.1:{locked_redis.port}/0"

    async def scenario() -> None:
        publisher = await Served.start(project, tmp_path / "publisher.log", 0, "--publish", locked_redis.url)
        dashboard: Served | None = None
        try:
            await published(locked_redis)
            dashboard = await Served.start(locked_redis.url, tmp_path / "dashboard.log")
            await all_converge(publisher, [dashboard])
            source = (await http_json(dashboard.port, f"/api/build/status/{SESSION}"))["source"]
            assert source["upstream"] == without_password  # never the password

            refused = await refused_line(without_password, tmp_path / "refused.log")
            assert "refused" in refused and PASSWORD not in refused

            publisher.kill()
            gone = await until_state(dashboard, ("unreachable",), 30, "the killed publisher's session is marked gone")
            assert gone["reason"].startswith("gone")
            rows = await http_json(dashboard.port, "/api/build/sessions")
            assert [(row["session_id"], row["live"]) for row in rows] == [(SESSION, False)]
            shown = await http_json(dashboard.port, f"/api/build/status/{SESSION}")
            assert shown["features"]  # the last state stays on show, stale

            await publisher.restart()  # back, with a new epoch: the dashboard follows it from its new snapshot
            build = Build(project, seed=5)
            for _ in range(30):
                build.step()
            await all_converge(publisher, [dashboard])
            for served in (publisher, dashboard):
                assert PASSWORD not in served.errors() and "Traceback" not in served.errors()
        finally:
            if dashboard is not None:
                await dashboard.stop()
            await publisher.stop()

    run(scenario(), 90)
