"""`buildrunner-gui serve` as a real process: the ready line, a live client, and a clean stop on signals."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect


def start_serve(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "buildrunner_gui", "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail(f"serve did not start: {process.stderr.read() if process.stderr else ''}")
    return process, [line.strip()]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_its_url_streams_and_stops_cleanly(sample_project: Path, stop_signal):
    process, lines = start_serve(str(sample_project))
    try:
        assert lines[0].startswith("serving ws://127.0.0.1:")
        url = lines[0].split()[1]
        assert url.endswith("/api/build/stream/br3-sample")

        async def client() -> int | None:
            async with connect(url) as websocket:
                hello = json.loads(await websocket.recv())
                status = json.loads(await websocket.recv())
                assert hello["type"] == "connection" and status["state"]["feature_stats"]["total"] == 17
                process.send_signal(stop_signal)
                try:
                    while True:
                        await asyncio.wait_for(websocket.recv(), 10)
                except Exception:
                    pass
                return websocket.close_code

        assert asyncio.run(client()) == 1001
        assert process.wait(timeout=15) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serve_rejects_an_unknown_project():
    result = subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", "serve", "/no/such/folder"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_serve_beyond_loopback_generates_and_prints_a_token(sample_project: Path):
    process, lines = start_serve(str(sample_project), "--host", "0.0.0.0")
    try:
        assert lines[0].startswith("serving ws://0.0.0.0:")
        port = lines[0].split(":")[2].split("/")[0]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        stderr = process.stderr.read() if process.stderr else ""
        token = stderr.split("access token ")[1].split()[0]
        assert len(token) >= 24 and port.isdigit()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
