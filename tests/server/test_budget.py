"""One send budget per client covers every frame, answers included, and a client that does not drain is
closed with 1013 whatever it keeps sending (the attacks that once grew the server to gigabytes)."""

from __future__ import annotations

import asyncio
import json
import socket

from buildrunner_gui.server import channel as channel_module

from .conftest import mirror, open_client, receive, receive_until
from .raw_client import RawClient


def big_log(project, lines: int = 300) -> None:
    """Terminal output worth a status frame of some hundreds of KB."""
    (project / ".buildrunner" / "logs" / "build.log").write_text(("x" * 900 + "\n") * lines)


def channel_of(server, session_id: str = "proj"):
    return next(iter(server._core.sessions[session_id].channels))


def test_a_client_that_never_reads_but_asks_for_status_stays_within_its_budget(run, project, monkeypatch):
    monkeypatch.setattr(channel_module, "STALL_SECONDS", 2.0)
    big_log(project)

    async def scenario():
        async with mirror([project]) as server:
            attacker = await RawClient.connect(server.port, "/api/build/stream/proj")
            honest = await open_client(server, "proj")
            await receive_until(honest, lambda m: m["type"] == "status")
            while server.client_count("proj") < 2:
                await asyncio.sleep(0.01)
            status_bytes = len(server.sessions["proj"].store.status_frame())
            held: list[int] = []
            channel = next(c for c in server._core.sessions["proj"].channels if c.client_id == "c1")
            # About 60 requests a second for three seconds: well within the rate limit (100 a second) even when a
            # loaded machine delays the server's reads and they arrive bunched.
            for index in range(180):
                attacker.send_text(json.dumps({"type": "request_status" if index % 3 else "ping"}))
                held.append(channel.queued_bytes)
                await asyncio.sleep(0.016)
            # Queued for it: at most the budget and the one status that supersedes everything before it.
            assert max(held) <= channel_module.SEND_BUDGET + status_bytes
            async with asyncio.timeout(10):
                while server.client_count("proj") > 1:
                    await asyncio.sleep(0.05)
            assert channel.connection.protocol.close_sent.code == 1013
            await honest.send(json.dumps({"type": "ping"}))
            assert (await receive_until(honest, lambda m: m["type"] == "pong"))[-1]["type"] == "pong"
            await honest.close()
            attacker.abort()

    run(scenario(), timeout=60)


def test_a_client_that_reads_a_little_now_and_then_is_still_closed(run, project, monkeypatch):
    """Every completed send once restarted the stall clock; now only a drained queue does."""
    monkeypatch.setattr(channel_module, "STALL_SECONDS", 2.0)
    log = project / ".buildrunner" / "logs" / "build.log"
    log.write_text("")

    async def scenario():
        async with mirror([project]) as server:
            trickle = await RawClient.connect(server.port, "/api/build/stream/proj")
            while server.client_count("proj") < 1:
                await asyncio.sleep(0.01)
            channel = channel_of(server)
            async with asyncio.timeout(20):
                while server.client_count("proj"):
                    with log.open("a") as handle:
                        handle.write(("t" * 2000 + "\n") * 50)
                    await trickle.read_some(4096)  # it reads, just never enough
                    await asyncio.sleep(0.1)
            assert channel.connection.protocol.close_sent.code == 1013
            trickle.abort()

    run(scenario(), timeout=60)


def test_a_resume_beyond_the_budget_is_answered_with_a_status(run, project, monkeypatch):
    monkeypatch.setattr(channel_module, "SEND_BUDGET", 32 * 1024)
    log = project / ".buildrunner" / "logs" / "build.log"
    log.write_text("")

    async def scenario():
        async with mirror([project]) as server:
            client = await open_client(server, "proj")
            await receive(client)
            status = await receive(client)
            for index in range(20):  # about 100 KB of events: more than the budget
                with log.open("a") as handle:
                    handle.write(f"{index} " + "r" * 5000 + "\n")
                await receive_until(client, lambda m: m["type"] == "terminal_output")
            await client.send(json.dumps({"type": "resume", "epoch": status["epoch"], "last_seq": status["seq"]}))
            answer = await receive(client)
            assert answer["type"] == "status" and answer["seq"] > status["seq"]
            # A small gap still gets exactly its events.
            last = answer["seq"]
            with log.open("a") as handle:
                handle.write("small\n")
            await receive_until(client, lambda m: m["type"] == "terminal_output")
            await client.send(json.dumps({"type": "resume", "epoch": status["epoch"], "last_seq": last}))
            again = await receive(client)
            assert again["type"] == "terminal_output" and again["seq"] == last + 1
            await client.close()

    run(scenario(), timeout=60)


def test_a_client_whose_backlog_sits_in_the_kernel_is_closed(run, project, monkeypatch):
    """The transport's buffer empties into a large kernel send queue: that backlog is unread all the same."""
    monkeypatch.setattr(channel_module, "STALL_SECONDS", 1.5)
    log = project / ".buildrunner" / "logs" / "build.log"
    log.write_text("")

    async def scenario():
        async with mirror([project]) as server:
            reader = await RawClient.connect(server.port, "/api/build/stream/proj")
            while server.client_count("proj") < 1:
                await asyncio.sleep(0.01)
            channel = channel_of(server)
            raw = channel.connection.transport.get_extra_info("socket")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
            room = raw.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            with log.open("a") as handle:  # well within the send budget, and within what the kernel takes
                handle.write(("k" * 1000 + "\n") * min(250, room // 2000))
            async with asyncio.timeout(5):
                while channel.queued_bytes or channel._unsent():
                    await asyncio.sleep(0.05)
            async with asyncio.timeout(10):
                while server.client_count("proj"):
                    await asyncio.sleep(0.05)
            assert channel.connection.protocol.close_sent.code == 1013
            reader.abort()

    run(scenario(), timeout=60)
