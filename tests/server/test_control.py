"""Remote control of build runs (protocol.md, "Build runs and remote control"), against an in-process server, a
real watcher and real build processes: off by default, Bearer control token only, 202/409/401/404/405/429."""

from __future__ import annotations

import json
import shlex
import sys

import pytest
from websockets.datastructures import Headers

from buildrunner_gui.model.messages import SERVER_MESSAGE
from buildrunner_gui.runner.build_run import BuildRunner, act
from buildrunner_gui.server.control import ControlLimiter, bearer_matches, control_route
from buildrunner_gui.server.mirror_server import MirrorServer

from .conftest import mirror, open_client, receive_until
from .http_get import request

CONTROL = "control-token-0123456789abcdef"
VIEWER = "viewer-token-0123456789abcdef"


async def http(port: int, method: str, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    status, found, body = await request(port, method, target, headers)
    return status, found, body.decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def attach_runner(server: MirrorServer, session_id: str, command: str) -> BuildRunner:
    source = server.sessions[session_id]
    runner = BuildRunner(source.location, source.publish)  # type: ignore[attr-defined]

    def control(action: str, sid: str):
        return act(runner, action, command) if sid == session_id else None

    server.controller = control
    return runner


def test_without_a_control_token_the_paths_are_not_found(run, project):
    async def scenario():
        async with mirror([project]) as server:
            for method in ("POST", "GET", "PUT"):
                status, _headers, _body = await http(server.port, method, "/api/build/start/proj", bearer(CONTROL))
                assert status == 404
            assert control_route("/api/build/stream/proj") is None  # the stream is not a control path

    run(scenario())


def test_start_pause_resume_cancel_over_http(run, project):
    (project / "build.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    command = f"{shlex.quote(sys.executable)} -u build.py"

    async def scenario():
        async with mirror([project], token=VIEWER, control_token=CONTROL) as server:
            runner = attach_runner(server, "proj", command)
            client = await open_client(server, "proj", additional_headers=bearer(VIEWER))
            try:
                port = server.port
                status, _h, body = await http(port, "POST", "/api/build/start/proj", bearer(CONTROL))
                assert status == 202
                started = json.loads(body)
                SERVER_MESSAGE.validate_python(started)
                assert (started["type"], started["state"], started["command"]) == ("run_update", "starting", command)
                await receive_until(client, lambda m: m["type"] == "run_update" and m["state"] == "running", 20)

                status, _h, body = await http(port, "POST", "/api/build/start/proj", bearer(CONTROL))
                assert (status, body.strip()) == (409, "a build is already running")
                status, _h, body = await http(port, "POST", "/api/build/pause/proj", bearer(CONTROL))
                assert status == 202 and json.loads(body)["state"] == "paused"
                status, _h, body = await http(port, "POST", "/api/build/resume/proj", bearer(CONTROL))
                assert status == 202 and json.loads(body)["state"] == "running"
                status, _h, body = await http(port, "POST", "/api/build/cancel/proj", bearer(CONTROL))
                assert status == 202 and json.loads(body)["run_id"] == started["run_id"]
                await receive_until(client, lambda m: m["type"] == "run_update" and m["state"] == "finished", 20)
                assert server.sessions["proj"].store.snapshot()["run"]["exit_code"] == -15
                status, _h, body = await http(port, "POST", "/api/build/pause/proj", bearer(CONTROL))
                assert (status, body.strip()) == (409, "nothing to pause")
            finally:
                await client.close()
                runner.stop()
                if runner.pgid:
                    runner.kill_now()

    run(scenario(), timeout=60)


def test_who_may_control_and_how(run, project):
    async def scenario():
        async with mirror([project], token=VIEWER, control_token=CONTROL) as server:
            attach_runner(server, "proj", f"{shlex.quote(sys.executable)} -c pass")
            port = server.port
            assert (await http(port, "POST", "/api/build/start/proj"))[0] == 401  # no token
            assert (await http(port, "POST", "/api/build/start/proj", bearer(VIEWER)))[0] == 401  # the viewer's
            # never ?token=: no link can start a build
            assert (await http(port, "POST", f"/api/build/start/proj?token={CONTROL}"))[0] == 401
            status, headers, _ = await http(port, "GET", "/api/build/start/proj", bearer(CONTROL))
            assert (status, headers.get("allow")) == (405, "POST")
            assert (await http(port, "DELETE", "/api/build/cancel/proj", bearer(CONTROL)))[0] == 405
            assert (await http(port, "POST", "/api/build/start/nope", bearer(CONTROL)))[0] == 404
            origin = {"Origin": "http://evil.example", **bearer(CONTROL)}
            assert (await http(port, "POST", "/api/build/start/proj", origin))[0] == 403
            # that made 7 requests from this address; 3 more are allowed within the minute, then 429
            for _ in range(3):
                assert (await http(port, "POST", "/api/build/pause/proj", bearer(CONTROL)))[0] == 409
            status, headers, _ = await http(port, "POST", "/api/build/start/proj", bearer(CONTROL))
            assert status == 429 and int(headers["retry-after"]) >= 1
            status, _h, _b = await http(port, "GET", "/healthz", bearer(VIEWER))
            assert status == 200  # other routes are not limited by it

    run(scenario())


def test_the_control_token_is_never_the_viewer_token():
    with pytest.raises(ValueError, match="differ"):
        MirrorServer(port=0, token=VIEWER, control_token=VIEWER)
    with pytest.raises(ValueError):
        MirrorServer(port=0, control_token="short")


def test_the_limiter_is_per_address_and_slides():
    now = [0.0]
    limiter = ControlLimiter(limit=2, window=60.0, clock=lambda: now[0])
    assert limiter.allow(("10.0.0.1", 1))[0] and limiter.allow(("10.0.0.1", 2))[0]
    allowed, wait = limiter.allow(("10.0.0.1", 3))
    assert not allowed and wait == 60.0
    assert limiter.allow(("10.0.0.2", 1))[0]  # another address
    now[0] = 61.0
    assert limiter.allow(("10.0.0.1", 4))[0]


def test_bearer_only_one_header():
    assert bearer_matches(Headers([("Authorization", f"Bearer {CONTROL}")]), CONTROL)
    assert not bearer_matches(Headers([("Authorization", f"Basic {CONTROL}")]), CONTROL)
    two = Headers([("Authorization", f"Bearer {CONTROL}"), ("Authorization", f"Bearer {CONTROL}")])
    assert not bearer_matches(two, CONTROL)
