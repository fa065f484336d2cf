"""`GET /metrics` (protocol.md, "Feeds for other tools"): parsed with prometheus_client's own parsers, and scraped
by a real Prometheus server (Debian's `prometheus`) through the token, as a user's scrape config would."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from .conftest import mirror, open_client, receive_until
from .http_get import get

TOKEN = "metrics-token-0123456789"
PROMETHEUS = shutil.which("prometheus")


def samples(body: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def test_the_sessions_figures_are_the_stores(run, sample_project):
    async def scenario() -> None:
        async with mirror([sample_project]) as server:
            status, headers, body = await get(server.port, "/metrics")
            assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
            found = samples(body)
            store = server.sessions["br3-sample"].store
            sid = {"session": "br3-sample"}
            assert value(found, "buildrunner_session_percent", **sid) == store.progress["percent"] == 100.0
            for word in ("completed", "in_progress", "pending", "failed"):
                expected = 1.0 if word == store.status else 0.0
                assert value(found, "buildrunner_session_status", **sid, buildrunner_session_status=word) == expected
            for kind in ("feature", "component"):
                for word in ("completed", "in_progress", "pending", "failed"):
                    counted = value(found, "buildrunner_session_items", **sid, kind=kind, status=word)
                    assert counted == store.stats(kind)[word]
            assert value(found, "buildrunner_session_items", **sid, kind="feature", status="completed") == 17
            assert value(found, "buildrunner_session_checkpoints", **sid) == len(store.checkpoints) == 4
            assert value(found, "buildrunner_session_building", **sid) == 0  # last changed in 2025
            assert value(found, "buildrunner_session_last_change_age_seconds", **sid) > 86_400
            assert value(found, "buildrunner_session_info", **sid, project="BuildRunner3") == 1
            assert value(found, "buildrunner_sessions") == 1

    run(scenario())


def test_the_servers_counters_follow_clients_and_refusals(run, sample_project):
    async def scenario() -> None:
        async with mirror([sample_project]) as server:
            client = await open_client(server, "br3-sample")
            await receive_until(client, lambda m: m["type"] == "status")
            await client.send(json.dumps({"type": "ping"}))
            await receive_until(client, lambda m: m["type"] == "pong")
            assert (await get(server.port, "/metrics", {"Origin": "http://evil.example"}))[0] == 403
            assert (await get(server.port, "/api/build/status/nope"))[0] == 404
            found = samples((await get(server.port, "/metrics"))[2])
            assert value(found, "buildrunner_clients") == 1
            assert value(found, "buildrunner_session_clients", session="br3-sample") == 1
            assert value(found, "buildrunner_messages_sent_total") == 3  # connection, status, pong
            assert value(found, "buildrunner_refused_requests_total", reason="origin", code="403") == 1
            assert value(found, "buildrunner_refused_requests_total", reason="not_found", code="404") == 1
            assert value(found, "buildrunner_clients_dropped_slow_total") == 0
            await client.close()
            for _ in range(200):  # the server sees the close on its own thread
                found = samples((await get(server.port, "/metrics"))[2])
                if value(found, "buildrunner_clients") == 0:
                    break
            assert value(found, "buildrunner_clients") == 0
            assert value(found, "buildrunner_messages_sent_total") == 3  # a client gone still counts

    run(scenario())


def test_the_replay_buffer_grows_with_events(run, project):
    async def scenario() -> None:
        async with mirror([project]) as server:
            sid = next(iter(server.sessions))
            before = samples((await get(server.port, "/metrics"))[2])
            assert value(before, "buildrunner_replay_buffer_events", session=sid) == 0
            client = await open_client(server, sid)
            await receive_until(client, lambda m: m["type"] == "status")
            (project / ".buildrunner" / "logs" / "build.log").write_text("one line\n")
            await receive_until(client, lambda m: m["type"] == "terminal_output")
            after = samples((await get(server.port, "/metrics"))[2])
            assert value(after, "buildrunner_replay_buffer_events", session=sid) >= 1
            assert value(after, "buildrunner_replay_buffer_bytes", session=sid) > 0
            await client.close()

    run(scenario())


def test_a_scraper_that_asks_for_openmetrics_gets_it(run, sample_project):
    async def scenario() -> None:
        async with mirror([sample_project]) as server:
            accept = {"Accept": "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"}
            status, headers, body = await get(server.port, "/metrics", accept)
            assert status == 200 and headers["content-type"].startswith("application/openmetrics-text")
            families = {family.name: family for family in openmetrics_families(body.decode())}
            assert families["buildrunner_session_status"].type == "stateset"
            assert families["buildrunner_messages_sent"].type == "counter"

    run(scenario())


# ---------------------------------------------------------------- a real Prometheus


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def query(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())["data"]


def wait_for(read, until: float) -> Any:
    """`read()`'s first truthy answer, polled until the monotonic deadline `until` (None when it never came)."""
    while time.monotonic() < until:
        try:
            found = read()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.25)
    return None


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus is not installed (scripts/setup --dev)")
def test_a_real_prometheus_scrapes_the_server_through_its_token(sample_project, tmp_path: Path):
    serve = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", "serve", str(sample_project), "--port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    prometheus = None
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.startswith("serving ws://127.0.0.1:"), serve.stderr.read() if serve.stderr else ""
        target = line.split("/")[2]
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: buildrunner\n"
            f"    authorization:\n      credentials: {TOKEN}\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        api = free_port()
        prometheus = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{api}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        targets = wait_for(
            lambda: [t for t in query(api, "/api/v1/targets")["activeTargets"] if t["health"] == "up"], deadline
        )
        assert targets, f"the target never came up: {query(api, '/api/v1/targets')}"
        assert targets[0]["labels"]["instance"] == target
        promql = 'buildrunner_session_items{session="br3-sample",kind="feature",status="completed"}'
        result = wait_for(lambda: query(api, "/api/v1/query", query=promql)["result"], deadline)
        assert result and float(result[0]["value"][1]) == 17
        status = wait_for(
            lambda: query(api, "/api/v1/query", query="buildrunner_session_status == 1")["result"], deadline
        )
        assert status[0]["metric"]["buildrunner_session_status"] == "completed"
    finally:
        for process in (prometheus, serve):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for process in (prometheus, serve):
            for stream in (getattr(process, "stdout", None), getattr(process, "stderr", None)):
                if stream is not None:
                    stream.close()
