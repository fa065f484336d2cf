"""`serve ws://…/api/build/stream/ID` as real processes: a headless relay of a served project, and of nothing."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .test_serve_process import start_serve


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    errors = process.stderr.read() if process.stderr else ""
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return errors


async def next_of(client: ClientConnection, wanted: str, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await client.recv())
            if message["type"] == wanted:
                return message


def test_a_relay_serves_the_upstream_session_with_its_own_numbering(sample_project: Path):
    upstream, lines = start_serve(str(sample_project))
    relay = None
    try:
        upstream_url = lines[0].split()[1]
        relay, relay_lines = start_serve(upstream_url)
        relay_url = relay_lines[0].split()[1]
        assert relay_url.endswith("/api/build/stream/br3-sample")

        async def scenario() -> None:
            async with connect(upstream_url) as direct, connect(relay_url, max_size=None) as mirrored:
                await next_of(direct, "connection")
                upstream_status = await next_of(direct, "status")
                await next_of(mirrored, "connection")
                status = await next_of(mirrored, "status")
                while status["state"]["source"].get("state") != "live":  # the relay may answer before upstream
                    status = await next_of(mirrored, "source_update")
                    await mirrored.send(json.dumps({"type": "request_status"}))
                    status = await next_of(mirrored, "status")
                state, expected = status["state"], upstream_status["state"]
                assert state["source"]["kind"] == "mirror" and state["source"]["upstream"] == upstream_url
                assert state["project"] == expected["project"]  # the upstream's project fields, unchanged
                for key in ("features", "components", "progress", "feature_stats", "checkpoints", "documents"):
                    assert state[key] == expected[key], key
                assert status["epoch"] != upstream_status["epoch"]  # its own epoch and seq

                checkpoint = sample_project / ".buildrunner" / "checkpoints" / "zz_relay.json"
                checkpoint.write_text(json.dumps({"id": "zz_relay", "timestamp": "2031-01-01T00:00:00Z"}))
                relayed = await next_of(mirrored, "checkpoint_update")
                assert relayed["checkpoint_id"] == "zz_relay" and relayed["epoch"] == status["epoch"]
                assert relayed["seq"] > status["seq"]
                # A client of the relay resumes against the relay.
                await mirrored.send(json.dumps({"type": "resume", "epoch": status["epoch"], "last_seq": status["seq"]}))
                again = await next_of(mirrored, "checkpoint_update")
                assert again == relayed

        asyncio.run(scenario())
        assert "Traceback" not in stop(relay)
        relay = None
    finally:
        if relay is not None:
            stop(relay)
        stop(upstream)


def test_a_relay_whose_upstream_is_unreachable_still_serves_and_says_so():
    with socket.socket() as probe:  # a free port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    relay, lines = start_serve(f"ws://127.0.0.1:{port}/api/build/stream/far?token=abcdefghijklmnopq")
    try:
        assert lines[0].startswith("serving ws://127.0.0.1:") and lines[0].endswith("/api/build/stream/far")

        async def scenario() -> None:
            async with connect(lines[0].split()[1]) as client:
                await next_of(client, "connection")
                status = await next_of(client, "status")
                source = status["state"]["source"]
                while source["state"] == "connecting":
                    source = (await next_of(client, "source_update"))["source"]
                assert source["state"] == "unreachable" and source["reason"]
                assert "token" not in json.dumps(status) and "abcdefghijklmnopq" not in json.dumps(source)

        asyncio.run(scenario())
    finally:
        errors = stop(relay)
    assert "abcdefghijklmnopq" not in errors
