"""protocol.md rule by rule, against an in-process server and real websockets clients on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.parse
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from buildrunner_gui.model.messages import SNAPSHOT
from buildrunner_gui.server import channel as channel_module
from buildrunner_gui.server import stream_server as server_module

from .conftest import mirror, open_client, receive, receive_until


def write_checkpoint(project: Path, name: str, **fields) -> None:
    (project / ".buildrunner" / "checkpoints" / f"{name}.json").write_text(json.dumps({"id": name, **fields}))


async def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """A plain HTTP/1.1 GET on the test's own loop (the server shares it, so no blocking client)."""
    parts = urllib.parse.urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def test_connection_then_status_then_live_events(run, project):
    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj")
            hello = await receive(client)
            assert hello["type"] == "connection" and hello["status"] == "connected"
            assert hello["protocol_version"] == 1 and hello["client_id"] and hello["server_version"]
            status = await receive(client)
            assert status["type"] == "status" and status["seq"] == hello["seq"]
            SNAPSHOT.validate_python(status["state"])

            write_checkpoint(project, "cp1", phase="build_a", completion=25)
            events = await receive_until(client, lambda m: m["type"] == "file_change")
            assert [m["type"] for m in events] == ["checkpoint_update", "build_progress", "file_change"]
            assert [m["seq"] for m in events] == list(range(status["seq"] + 1, status["seq"] + 4))
            assert {m["epoch"] for m in events} == {status["epoch"]}
            assert events[1]["percent"] == 25.0
            await client.close()

    run(scenario())


def test_unknown_session_is_404_at_handshake(run, project):
    async def scenario():
        async with mirror([project]) as server:
            with pytest.raises(InvalidStatus) as refused:
                await open_client(server, "nope")
            assert refused.value.response.status_code == 404

    run(scenario())


def test_ping_status_and_subscriptions(run, project):
    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj")
            await receive(client)
            status = await receive(client)
            await client.send(json.dumps({"type": "ping"}))
            assert (await receive(client))["type"] == "pong"
            await client.send(json.dumps({"type": "request_status"}))
            assert (await receive(client))["type"] == "status"

            await client.send(json.dumps({"type": "subscribe", "topics": ["tasks", "progress"]}))
            subscribed = await receive(client)
            assert subscribed["type"] == "subscribed" and subscribed["topics"] == ["checkpoints", "progress"]
            assert subscribed["seq"] == status["seq"], "answers carry the current seq without advancing it"

            await client.send(json.dumps({"type": "subscribe", "topics": ["nonsense"]}))
            error = await receive(client)
            assert error["type"] == "error" and error["error_type"] == "invalid_topic"

            # Every topic protocol.md names is known, `runs` included.
            every = ["components", "features", "checkpoints", "progress", "terminal", "files", "errors", "runs"]
            await client.send(json.dumps({"type": "subscribe", "topics": every}))
            assert sorted((await receive(client))["topics"]) == sorted(every)
            await client.send(json.dumps({"type": "subscribe", "topics": ["tasks", "progress"]}))
            await receive(client)

            write_checkpoint(project, "cp", completion=10)
            events = await receive_until(client, lambda m: m["type"] == "build_progress")
            assert [m["type"] for m in events] == ["checkpoint_update", "build_progress"], (
                "file_change is filtered out; the failed subscribe left the subscription unchanged"
            )
            await client.close()

    run(scenario())


def test_bad_input_gets_errors_and_keeps_the_connection(run, project):
    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj")
            await receive(client)
            await receive(client)
            cases = [
                ("{not json", "invalid_json"),
                ("[1, 2]", "unknown_message"),
                ('{"no": "type"}', "unknown_message"),
                ('{"type": "launch_missiles"}', "unknown_message"),
                (b"\x00\x01", "unsupported_frame"),
            ]
            for frame, error_type in cases:
                await client.send(frame)
                answer = await receive(client)
                assert (answer["type"], answer["error_type"]) == ("error", error_type)
            await client.send(json.dumps({"type": "ping"}))
            assert (await receive(client))["type"] == "pong"
            await client.close()

    run(scenario())


def test_oversized_message_closes_1009(run, project):
    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj", max_size=None)
            await receive(client)
            await receive(client)
            await client.send("x" * (64 * 1024 + 1))
            with pytest.raises(ConnectionClosed):
                while True:
                    await receive(client)
            assert client.close_code == 1009

    run(scenario())


def test_flood_closes_1008(run, project):
    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj")
            for _ in range(150):
                await client.send(json.dumps({"type": "ping"}))
            with pytest.raises(ConnectionClosed):
                while True:
                    await receive(client)
            assert client.close_code == 1008

    run(scenario())


def test_input_bunched_by_the_servers_own_delay_is_not_a_flood(run, project):
    """A client within the rate limit is not closed because the server, held up, then reads its input at once."""

    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj")
            await receive_until(client, lambda m: m["type"] == "status")
            server._thread.mailbox.post(time.sleep, 2.5)  # the server's loop held up for 2.5 s
            for _ in range(150):  # 60 a second: within the limit, but 150 wait to be read together
                await client.send(json.dumps({"type": "ping"}))
                await asyncio.sleep(1 / 60)
            pongs = 0
            while pongs < 150:
                pongs += (await receive(client))["type"] == "pong"
            assert client.close_code is None
            await client.close()

    run(scenario(), timeout=60)


def test_resume_replays_exactly_the_missed_events(run, project):
    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj")
            await receive(client)
            status = await receive(client)
            epoch, seen_seq = status["epoch"], status["seq"]

            write_checkpoint(project, "missed", completion=60)
            live = await receive_until(client, lambda m: m["type"] == "file_change")
            assert [m["seq"] for m in live] == [seen_seq + 1, seen_seq + 2, seen_seq + 3]

            # As a client that noticed a gap: the events after its position again, exactly and in order.
            await client.send(json.dumps({"type": "resume", "epoch": epoch, "last_seq": seen_seq}))
            replayed = await receive_until(client, lambda m: m["type"] == "file_change")
            assert [m["seq"] for m in replayed] == [seen_seq + 1, seen_seq + 2, seen_seq + 3]
            assert [m["type"] for m in replayed] == [m["type"] for m in live]

            await client.send(json.dumps({"type": "resume", "epoch": "another-epoch", "last_seq": 1}))
            assert (await receive(client))["type"] == "status"
            await client.close()

    run(scenario())


def test_resume_never_repeats_what_the_first_status_holds(run, project):
    """A reconnecting client's `status` already holds the events it missed: a resume from before it sends
    nothing older than that status (per connection, seq never goes backwards)."""

    async def scenario():
        async with mirror([project]) as server:
            first = await open_client(server, "proj")
            await receive(first)
            status = await receive(first)
            epoch, seen_seq = status["epoch"], status["seq"]
            await first.close()

            write_checkpoint(project, "missed", completion=60)
            while server.sessions["proj"].store.seq < seen_seq + 3:
                await asyncio.sleep(0.02)

            again = await open_client(server, "proj")
            await receive(again)
            fresh = await receive(again)
            assert fresh["type"] == "status" and fresh["seq"] >= seen_seq + 3
            await again.send(json.dumps({"type": "resume", "epoch": epoch, "last_seq": seen_seq}))
            await again.send(json.dumps({"type": "ping"}))
            assert (await receive(again))["type"] == "pong"
            await again.close()

    run(scenario())


def test_max_clients_gives_503(run, project):
    async def scenario():
        async with mirror([project], max_clients=2) as server:
            clients = [await open_client(server, "proj") for _ in range(2)]
            with pytest.raises(InvalidStatus) as refused:
                await open_client(server, "proj")
            assert refused.value.response.status_code == 503
            assert b"too many clients" in refused.value.response.body
            for client in clients:
                await client.close()

    run(scenario())


def test_http_routes(run, project, sample_project):
    async def scenario():
        async with mirror([project, sample_project]) as server:
            base = f"http://127.0.0.1:{server.port}"
            assert await http_get(base + "/healthz") == (200, "ok\n")
            code, page = await http_get(base + "/")
            assert code == 200 and page.lower().startswith("<!doctype html") and "BuildRunner" in page
            code, body = await http_get(base + "/api/build/sessions")
            rows = json.loads(body)
            assert code == 200 and [r["session_id"] for r in rows] == ["proj", "br3-sample"]
            assert rows[1] == {
                "session_id": "br3-sample",
                "name": "BuildRunner3",
                "status": "completed",  # formats.md: its complete features count 100, whatever they carry
                "percent": 100.0,
                "clients": 0,
                "live": True,
            }
            code, body = await http_get(base + "/api/build/status/br3-sample")
            assert code == 200 and json.loads(body)["feature_stats"]["total"] == 17
            assert (await http_get(base + "/api/build/status/nope"))[0] == 404
            assert (await http_get(base + "/etc/passwd"))[0] == 404

    run(scenario())


def test_token_and_origin_checks(run, project):
    async def scenario():
        async with mirror([project], token="s3cret-s3cret-16", allowed_origins=["https://dash.example"]) as server:
            base = f"http://127.0.0.1:{server.port}"
            assert (await http_get(base + "/healthz"))[0] == 401
            assert (await http_get(base + "/healthz?token=wrong"))[0] == 401
            assert (await http_get(base + "/healthz?token=s3cret-s3cret-16"))[0] == 200
            assert (await http_get(base + "/healthz", {"Authorization": "Bearer s3cret-s3cret-16"}))[0] == 200
            evil = {"Authorization": "Bearer s3cret-s3cret-16", "Origin": "http://evil.example"}
            assert (await http_get(base + "/api/build/sessions", evil))[0] == 403
            allowed = {"Authorization": "Bearer s3cret-s3cret-16", "Origin": "https://dash.example"}
            assert (await http_get(base + "/healthz", allowed))[0] == 200
            own = {"Authorization": "Bearer s3cret-s3cret-16", "Origin": f"http://127.0.0.1:{server.port}"}
            assert (await http_get(base + "/healthz", own))[0] == 200

            with pytest.raises(InvalidStatus) as refused:
                await open_client(server, "proj")
            assert refused.value.response.status_code == 401
            with pytest.raises(InvalidStatus) as refused:
                await open_client(
                    server,
                    "proj",
                    additional_headers={"Authorization": "Bearer s3cret-s3cret-16"},
                    origin="http://evil.example",
                )
            assert refused.value.response.status_code == 403
            client = await open_client(server, "proj", additional_headers={"Authorization": "Bearer s3cret-s3cret-16"})
            assert (await receive(client))["type"] == "connection"
            await client.close()

    run(scenario())


def test_binding_beyond_loopback_always_requires_a_token(run, project):
    async def scenario():
        async with mirror([project], host="0.0.0.0") as server:
            assert server.token and len(server.token) >= 24
            base = f"http://127.0.0.1:{server.port}"
            assert (await http_get(base + "/healthz"))[0] == 401
            assert (await http_get(base + f"/healthz?token={server.token}"))[0] == 200

    run(scenario())


def test_shutdown_closes_clients_with_1001(run, project):
    async def scenario():
        async with mirror([project]) as server:
            clients = [await open_client(server, "proj") for _ in range(3)]
        for client in clients:
            with pytest.raises(ConnectionClosed):
                while True:
                    await receive(client)
            assert client.close_code == 1001

    run(scenario())


def test_half_open_connection_is_dropped_by_ping_timeout(run, project, monkeypatch):
    monkeypatch.setattr(server_module, "PING_SECONDS", 0.3)

    async def scenario():
        async with mirror([project]) as server:
            raw = socket.create_connection(("127.0.0.1", server.port))
            raw.sendall(
                b"GET /api/build/stream/proj HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n"
            )
            try:
                while server.client_count("proj") == 0:
                    await asyncio.sleep(0.02)
                # The peer never answers a ping: the server must notice and drop it (after its close timeout).
                async with asyncio.timeout(15):
                    while server.client_count("proj"):
                        await asyncio.sleep(0.05)
            finally:
                raw.close()

    run(scenario())


def test_stalled_client_beside_a_live_one(run, project, monkeypatch):
    monkeypatch.setattr(channel_module, "STALL_SECONDS", 1.5)
    log = project / ".buildrunner" / "logs" / "big.log"
    log.write_text("")

    async def scenario():
        async with mirror([project]) as server:
            stalled = await open_client(server, "proj", max_queue=1)
            while server.client_count("proj") == 0:
                await asyncio.sleep(0.01)
            stalled_channel = next(iter(server._core.sessions["proj"].channels))
            live = await open_client(server, "proj")
            await receive(live)
            await receive(live)
            line = "y" * 4000 + "\n"
            for round_number in range(60):  # about 60 x 100 KB of terminal output
                with log.open("a") as handle:
                    handle.write(line * 25)
                got = await receive_until(live, lambda m: m["type"] == "terminal_output")
                assert got[-1]["output"].startswith("yyyy"), round_number
            # The stalled client never read: it is held back and then closed with 1013, the live one (which
            # goes on reading, as a live client does) is not.
            frames: asyncio.Queue[str | bytes] = asyncio.Queue()

            async def keep_reading() -> None:
                async for frame in live:
                    frames.put_nowait(frame)

            reading = asyncio.create_task(keep_reading())
            async with asyncio.timeout(10):
                while stalled.state.name != "CLOSED" and server.client_count("proj") > 1:
                    await asyncio.sleep(0.05)
            assert server.client_count("proj") == 1
            async with asyncio.timeout(10):
                while stalled_channel.connection.protocol.close_sent is None:
                    await asyncio.sleep(0.05)
            assert stalled_channel.connection.protocol.close_sent.code == 1013
            await live.send(json.dumps({"type": "ping"}))
            async with asyncio.timeout(10):
                while json.loads(await frames.get())["type"] != "pong":
                    pass
            await live.close()
            await reading
            stalled.transport.abort()

    run(scenario(), timeout=60)


def test_lagging_client_gets_a_fresh_status_when_it_drains(run, project, monkeypatch):
    monkeypatch.setattr(channel_module, "SEND_BUDGET", 64 * 1024)
    log = project / ".buildrunner" / "logs" / "big.log"
    log.write_text("")

    async def scenario():
        async with mirror([project]) as server:
            slow = await open_client(server, "proj", max_queue=1, max_size=None)
            for _ in range(100):  # about 20 MB: more than the socket buffers can absorb
                with log.open("a") as handle:
                    handle.write(("z" * 2000 + "\n") * 100)
                await asyncio.sleep(0.01)
            write_checkpoint(project, "final", completion=77)
            while server.sessions["proj"].store.status_message()["state"]["progress"]["percent"] != 77.0:
                await asyncio.sleep(0.02)
            # Now read everything: after the backlog comes one fresh status that includes the final state.
            seen = await receive_until(
                slow,
                lambda m: (
                    (m["type"] == "status" and m["state"]["progress"]["percent"] == 77.0)
                    or (m["type"] == "build_progress" and m["percent"] == 77.0)
                ),
                timeout=20,
            )
            statuses = [m for m in seen if m["type"] == "status"]
            assert len(statuses) >= 2, "a lagging client is brought back with a fresh status"
            seqs = [m["seq"] for m in seen if m["type"] != "status" and m["type"] != "connection"]
            assert seqs == sorted(seqs)
            await slow.close()

    run(scenario(), timeout=60)


def test_resume_sent_at_once_keeps_connection_and_status(run, project):
    async def scenario():
        async with mirror([project]) as server:
            first = await open_client(server, "proj")
            await receive(first)
            status = await receive(first)
            await first.close()
            write_checkpoint(project, "later", completion=30)
            while server.sessions["proj"].store.status_message()["seq"] < status["seq"] + 3:
                await asyncio.sleep(0.02)

            again = await open_client(server, "proj")
            # Ask before reading anything: the queued connection and status must still arrive first.
            await again.send(json.dumps({"type": "resume", "epoch": status["epoch"], "last_seq": status["seq"]}))
            await again.send(json.dumps({"type": "ping"}))
            seen = await receive_until(again, lambda m: m["type"] == "pong")
            assert [m["type"] for m in seen[:2]] == ["connection", "status"]
            assert seen[1]["seq"] >= status["seq"] + 3  # the missed events are in it, and not sent again
            assert all(m["seq"] > seen[1]["seq"] for m in seen[2:-1])
            await again.close()

    run(scenario())


def test_only_get_is_served(run, project):
    async def scenario():
        async with mirror([project]) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 405"), answer[:80]
            assert b"Allow: GET" in answer

    run(scenario())


def test_session_ids_from_alias_or_folder_name_are_unique():
    from buildrunner_gui.model.session_ids import session_id_for

    assert session_id_for("my-app", "folder") == "my-app"
    assert session_id_for(None, "My Project (v2)!") == "MyProjectv2"
    assert session_id_for(None, "x" * 80) == "x" * 64
    assert session_id_for(None, "app", ["app"]) == "app-2"
    assert session_id_for(None, "app", ["app", "app-2"]) == "app-3"
    assert len(session_id_for(None, "y" * 80, ["y" * 64])) <= 64


@pytest.mark.parametrize(
    ("request_head", "expected"),
    [
        (b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello", b"HTTP/1.1 405"),
        (
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"HTTP/1.1 405",
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello", b"HTTP/1.1 400"),
    ],
)
def test_a_request_with_a_body_gets_an_answer(run, project, request_head, expected):
    async def scenario():
        async with mirror([project]) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request_head)
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert answer.startswith(expected), answer[:80]
            status, _ = await http_get(f"http://127.0.0.1:{server.port}/healthz")
            assert status == 200  # and the server goes on as before

    run(scenario())


def test_repeated_wrong_tokens_make_the_client_wait_not_fail(run, project):
    """After a few wrong tokens the server waits out the client's penalty before answering, so a right token
    then still gets its 200 (a server that skipped the wait would answer 429)."""

    async def scenario():
        async with mirror([project], token="s3cret-s3cret-16") as server:
            base = f"http://127.0.0.1:{server.port}"
            answers = [(await http_get(base + "/healthz?token=wrong-guess"))[0] for _ in range(4)]
            assert answers == [401] * 4
            assert server.access.penalty_seconds(("127.0.0.1", 1)) > 0
            assert (await http_get(base + "/healthz?token=s3cret-s3cret-16"))[0] == 200
            assert server.access.penalty_seconds(("127.0.0.1", 1)) == 0

    run(scenario())


def test_a_resume_before_the_first_status_never_comes_before_connection(run, project):
    async def scenario():
        async with mirror([project]) as server:
            first = await open_client(server, "proj")
            await receive(first)
            status = await receive(first)
            await first.close()
            write_checkpoint(project, "later", completion=30)
            while server.sessions["proj"].store.seq < status["seq"] + 3:
                await asyncio.sleep(0.02)
            for _ in range(5):  # the resume races the first status: whichever wins, `connection` comes first
                again = await open_client(server, "proj")
                await again.send(json.dumps({"type": "resume", "epoch": status["epoch"], "last_seq": status["seq"]}))
                await again.send(json.dumps({"type": "ping"}))
                seen = await receive_until(again, lambda m: m["type"] == "pong")
                assert [m["type"] for m in seen[:2]] == ["connection", "status"]
                assert all(m["seq"] > seen[1]["seq"] for m in seen[2:-1])
                await again.close()

    run(scenario())
