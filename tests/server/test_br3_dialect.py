"""The br3 dialect (protocol.md, "Dialects"): every row of its table, one dialect per connection on one server,
catch-up on connect, and CORS for BuildRunner 3's page on another origin."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from buildrunner_gui.server import br3_dialect as br3
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.sources.watcher import ProjectWatcher

COMMON = {"session_id": "s", "epoch": "e", "seq": 7, "timestamp": "2026-12-06T10:00:00.000Z"}


def v1_component(**metadata: Any) -> dict[str, Any]:
    item = {"id": "api/server.py", "name": "api/server.py", "status": "failed", "raw_status": "failed",
            "progress": 10.0, "metadata": metadata}  # fmt: skip
    return {**COMMON, "type": "component_update", "component_id": item["id"], **item, "removed": False}


def v1_feature(**metadata: Any) -> dict[str, Any]:
    item = {"id": "f1", "name": "Cart", "status": "pending", "raw_status": "todo", "progress": 0.0,
            "metadata": metadata}  # fmt: skip
    return {**COMMON, "type": "feature_update", "feature_id": "f1", **item, "removed": False}


# ---------------------------------------------------------------- the table, row by row


def test_a_component_gains_type_dependencies_files_tests_pass_and_error():
    (out,) = br3.translate(v1_component())
    assert out["type"] == "component_update"  # the message's own type: its client dispatches on it
    assert (out["component_type"], out["dependencies"], out["files"], out["testsPass"], out["error"]) == (
        "component", [], ["api/server.py"], None, None)  # fmt: skip
    assert out["status"] == "error"  # failed → error
    (out,) = br3.translate(v1_component(type="service", dependencies=["db"], files=["a.py", "b.py"],
                                        tests={"passing": True}, error="boom"))  # fmt: skip
    assert (out["component_type"], out["dependencies"], out["files"], out["testsPass"], out["error"]) == (
        "service", ["db"], ["a.py", "b.py"], True, "boom")  # fmt: skip
    body = br3.status_body({"status": "pending", "progress": {"status": "pending"}, "components": [v1_component()],
                            "features": [], "project": {}, "checkpoints": []}, "s")  # fmt: skip
    assert body["components"][0]["type"] == "component"  # in the status route, the component's kind is `type`


def test_a_feature_gains_description_priority_component_tasks_and_estimate():
    (out,) = br3.translate(v1_feature())
    assert (out["description"], out["priority"], out["component"], out["tasks"], out["estimatedTime"]) == (
        "", "", None, [], None)  # fmt: skip
    assert out["status"] == "not_started"  # pending → not_started
    (out,) = br3.translate(v1_feature(description="A cart", priority="high", components=["cart.py", "x.py"],
                                      tasks=[{"id": "t1", "name": "model", "status": "done"}, "views"],
                                      estimated_time=3))  # fmt: skip
    assert (out["description"], out["priority"], out["component"], out["estimatedTime"]) == (
        "A cart", "high", "cart.py", 3)  # fmt: skip
    assert out["tasks"] == [{"id": "t1", "name": "model", "completed": True},
                            {"id": "2", "name": "views", "completed": False}]  # fmt: skip


@pytest.mark.parametrize(
    ("v1", "items", "build"),
    [("pending", "not_started", "initializing"), ("in_progress", "in_progress", "running"),
     ("failed", "error", "error"), ("completed", "completed", "completed")],
)  # fmt: skip
def test_status_words_for_items_and_the_build(v1, items, build):
    assert br3.item_status(v1) == items and br3.build_status(v1) == build
    (progress,) = br3.translate({**COMMON, "type": "build_progress", "status": v1, "percent": 1.0})
    assert progress["status"] == build


def test_terminal_output_is_one_message_per_line_with_content_and_error_gets_message():
    lines = br3.translate({**COMMON, "type": "terminal_output", "output": "one\ntwo\n", "output_type": "stdout",
                           "source": "log:build.log"})  # fmt: skip
    assert [m["content"] for m in lines] == ["one", "two"]
    (error,) = br3.translate({**COMMON, "type": "error", "error_message": "bad file", "error_type": "invalid_json",
                              "file_path": "x", "traceback": None})  # fmt: skip
    assert error["message"] == "bad file"
    assert br3.translate({**COMMON, "type": "status", "state": {}}) == []  # its client ignores status


def test_the_status_route_body_and_lists_never_null(sample_project: Path):
    from buildrunner_gui.sources.oneshot import read_once

    snapshot = read_once(sample_project).snapshot()  # the real pipeline on the real sample
    body = br3.status_body(snapshot, "br3-sample")
    assert body["id"] == "br3-sample" and body["project_name"] == snapshot["project"]["name"]
    assert body["start_time"] == snapshot["checkpoints"][0]["timestamp"]
    assert body["projectName"] == body["project_name"] and isinstance(body["startTime"], int)  # what its page reads
    assert body["status"] in ("initializing", "running", "completed", "error")
    for component in body["components"]:
        assert isinstance(component["files"], list) and isinstance(component["dependencies"], list)
    for feature in body["features"]:
        assert isinstance(feature["tasks"], list) and isinstance(feature["description"], str)
    first = next(f for f in body["features"] if f["id"] == "feat-001")
    assert first["description"].startswith("Automated gap analysis") and first["priority"] == "high"
    assert first["component"] == "core/gap_analyzer.py"
    assert br3.catch_up(snapshot, COMMON)[-1]["type"] == "build_progress"


# ---------------------------------------------------------------- one server, each client in its own dialect


async def serve(project: Path, **options: Any) -> tuple[MirrorServer, ProjectWatcher]:
    server = MirrorServer(port=0, dialect="br3", **options)
    watcher = ProjectWatcher(project)
    await server.start()
    server.add_session(watcher)
    watcher.start()
    while not watcher.is_ready:
        await asyncio.sleep(0.01)
    return server, watcher


async def messages_until(client, predicate, timeout: float = 10.0) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not seen or not predicate(seen[-1]):
            seen.append(json.loads(await client.recv()))
    return seen


def test_v1_and_br3_clients_each_get_their_own_dialect_and_br3_catches_up_on_connect(run, sample_project):
    async def scenario():
        server, watcher = await serve(sample_project)
        try:
            url = server.url_for("br3-sample")
            async with connect(url, subprotocols=["buildrunner.v1"]) as v1, connect(url) as plain:
                assert v1.subprotocol == "buildrunner.v1" and plain.subprotocol is None
                first = await messages_until(v1, lambda m: m["type"] == "status")
                assert [m["type"] for m in first] == ["connection", "status"]
                caught = await messages_until(plain, lambda m: m["type"] == "build_progress")
                assert caught[0]["type"] == "connection" and "status" not in {m["type"] for m in caught}
                components = [m for m in caught if m["type"] == "component_update"]
                features = [m for m in caught if m["type"] == "feature_update"]
                assert len(components) == 91 and len(features) == 17
                assert all(isinstance(m["files"], list) and isinstance(m["dependencies"], list) for m in components)
                assert all(isinstance(m["tasks"], list) and isinstance(m["description"], str) for m in features)
                assert {m["status"] for m in features} <= {"not_started", "in_progress", "completed", "error"}

                log = sample_project / ".buildrunner" / "logs" / "dialect.log"
                log.write_text("first line\nsecond line\n")
                live = await messages_until(
                    plain, lambda m: m["type"] == "terminal_output" and m["content"] == "second line"
                )
                assert [m["content"] for m in live if m["type"] == "terminal_output"][-2:] == [
                    "first line",
                    "second line",
                ]
                v1_live = await messages_until(v1, lambda m: m["type"] == "terminal_output")
                assert v1_live[-1]["output"] == "first line\nsecond line" and "content" not in v1_live[-1]

                await plain.send("not json")
                answer = await messages_until(plain, lambda m: m["type"] == "error")
                assert answer[-1]["message"] == answer[-1]["error_message"]
        finally:
            await server.stop()
            watcher.stop()

    run(scenario())


def test_a_br3_client_that_reconnects_converges(run, sample_project):
    features_file = sample_project / ".buildrunner" / "features.json"

    async def scenario():
        server, watcher = await serve(sample_project)
        try:
            url = server.url_for("br3-sample")
            async with connect(url) as client:
                await messages_until(client, lambda m: m["type"] == "build_progress")
            registry = json.loads(features_file.read_text())  # changed while it is away
            registry["features"][0]["status"] = "failed"
            features_file.write_text(json.dumps(registry))
            while server.sessions["br3-sample"].store.items["feature"]["feat-001"]["status"] != "failed":
                await asyncio.sleep(0.02)
            async with connect(url) as client:
                caught = await messages_until(client, lambda m: m["type"] == "build_progress")
            first = next(m for m in caught if m["type"] == "feature_update" and m["feature_id"] == "feat-001")
            assert first["status"] == "error"
            assert caught[-1]["status"] == "error"
        finally:
            await server.stop()
            watcher.stop()

    run(scenario())


def test_cors_for_allowed_origins_and_the_preflight(run, sample_project):
    page = "http://localhost:3001"

    async def scenario():
        server, watcher = await serve(sample_project, allowed_origins=[page])
        base = f"http://127.0.0.1:{server.port}"
        try:
            status, headers, body = await raw_http(base, "GET", "/api/build/status/br3-sample", {"Origin": page})
            assert status == 200 and headers["access-control-allow-origin"] == page and headers["vary"] == "Origin"
            assert json.loads(body)["id"] == "br3-sample"  # the br3 body: its client opens /stream/{id}
            status, headers, body = await raw_http(base, "GET", "/api/build/status/br3-sample?v=1", {"Origin": page})
            assert status == 200 and "id" not in json.loads(body)  # v1 asked for, v1 given
            status, headers, _ = await raw_http(base, "OPTIONS", "/api/build/status/br3-sample",
                                                {"Origin": page, "Access-Control-Request-Method": "GET"})  # fmt: skip
            assert status == 204 and headers["access-control-allow-origin"] == page
            assert headers["access-control-allow-methods"] == "GET"
            assert headers["access-control-allow-headers"] == "Authorization"
            for method in ("GET", "OPTIONS"):
                status, headers, _ = await raw_http(base, method, "/healthz", {"Origin": "http://evil.example"})
                assert status == 403 and "access-control-allow-origin" not in headers
            status, headers, _ = await raw_http(base, "GET", "/healthz", {})
            assert status == 200 and "access-control-allow-origin" not in headers  # no Origin: no CORS, never *
        finally:
            await server.stop()
            watcher.stop()

    run(scenario())


async def raw_http(base: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    host = base.split("//", 1)[1]
    reader, writer = await asyncio.open_connection(*host.split(":"))
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    parsed = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), parsed, body.decode()
