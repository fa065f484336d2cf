"""Scenarios 2-5 and 11: clients that ask too much, read too little, or a log that never ends its line.

They check that the server's memory stays bounded, that the honest client keeps its latency and its data, and
(where the run is long enough) that a client that does not drain for 30 s is closed with 1013.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from _attack_arena import Arena, Config, Row, arena
from _attack_server import cpu_seconds, kernel_send_queues
from _attack_wire import RawWebSocket

STALL_CLOSE = 1013
STALL_LIMIT_S = 30.0
CLOSE_SLACK_S = 3.0  # the server checks once a second; the suite notices within a quarter second
SMALL_RECEIVE_BUFFER = 4096
ATTACK_RATE = 90.0  # messages a second: just under the protocol's limit of 100


def stream_path(place: Arena) -> str:
    token = f"?token={place.server.token}" if place.server.token else ""
    return f"/api/build/stream/{place.server.session_id}{token}"


def pace(send: Callable[[], bool], rate: float, seconds: float, between: Callable[[], object] | None = None) -> int:
    """Call `send` `rate` times a second for `seconds` (no catching up after a delay: a burst would cross the
    server's rate limit); stops early when it returns False. `between` runs in the gaps. Returns the calls."""
    count = 0
    start = time.monotonic()
    next_at = start
    while time.monotonic() - start < seconds:
        if not send():
            break
        count += 1
        next_at = max(next_at + 1 / rate, time.monotonic())
        if between is not None:
            between()
        time.sleep(max(0.0, next_at - time.monotonic()))
    return count


def await_server_close(place: Arena, client: RawWebSocket, others: int, timeout: float) -> tuple[int | None, float]:
    """Wait (not reading) until the server drops `client`, seen in /api/build/sessions as fewer than
    `others + 1` clients; then read everything fast to find the close frame. Returns (close code, when)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not client.gone:
        count = place.server.client_count()
        if count is not None and count <= others:
            closed_at = time.monotonic()
            # The close frame waits behind what the client never read; websockets aborts after 5 s.
            return client.drain_until_closed(6.0), closed_at
        time.sleep(0.25)
    return client.close_code, time.monotonic()


def kernel_backlog(place: Arena, clients: list[RawWebSocket]) -> int:
    """Bytes the server's kernel still holds for these clients: unread data the server's RSS does not show."""
    queues = kernel_send_queues(place.server.port)
    return sum(queues.get(client.local_port, 0) for client in clients if not client.gone)


def backlog(place: Arena, clients: list[RawWebSocket]) -> str:
    return f"{kernel_backlog(place, clients) / 1024:.0f} KB unread in the kernel's send queues"


def honest_bytes(place: Arena) -> int:
    assert place.honest is not None
    received: int = place.honest.ask("report")["bytes"]
    return received


def describe_close(code: int | None, after: float, gone: bool) -> str:
    if code is not None:
        return f"closed {code} after {after:.1f} s"
    return f"reset without a close frame after {after:.1f} s" if gone else "not closed"


def judge_stall_close(row: Row, cfg: Config, code: int | None, after: float, gone: bool) -> None:
    """The long profile checks the close with 1013 (a failure if it does not come) and reports whether it came
    within ~31 s (a timing target); the short one only reports what it saw."""
    text = describe_close(code, after, gone)
    if not cfg.profile.stall_close_expected:
        row.note(f"{text} (info: the 30 s stall rule is beyond the short run)")
        return
    if code != STALL_CLOSE:
        row.fail(f"expected close {STALL_CLOSE}: {text}")
        return
    row.note(text)
    row.targets.append(f"close by ~31 s {'met' if after <= STALL_LIMIT_S + CLOSE_SLACK_S else 'MISSED'}")


# ---------------------------------------------------------------------------- 2


def request_status_flood(row: Row, cfg: Config) -> None:
    seconds = cfg.profile.flood_seconds
    hold = STALL_LIMIT_S + 10 - seconds if cfg.profile.stall_close_expected else 0.0
    with arena(row, cfg.window) as place:
        client = RawWebSocket.connect(place.server.port, stream_path(place), receive_buffer=SMALL_RECEIVE_BUFFER)
        started = time.monotonic()
        with place.attack():
            sent = pace(lambda: client.send_text('{"type":"request_status"}'), ATTACK_RATE, seconds)
            row.note(backlog(place, [client]))
            code, closed_at = await_server_close(place, client, others=1, timeout=max(hold, 1.0))
        row.count = f"{sent} msgs in {seconds:.0f} s"
        judge_stall_close(row, cfg, code, closed_at - started, client.gone)
        client.abort()


# ---------------------------------------------------------------------------- 3


def slow_reader(row: Row, cfg: Config) -> None:
    seconds, period = cfg.profile.slow_seconds, cfg.profile.slow_period
    with arena(row, cfg.window) as place:
        client = RawWebSocket.connect(place.server.port, stream_path(place), receive_buffer=SMALL_RECEIVE_BUFFER)
        started = time.monotonic()
        code, closed_at, reads, next_read, most = None, started, 0, started, 0
        stream_before = honest_bytes(place)
        with place.attack():
            while time.monotonic() - started < seconds and not client.gone:
                if time.monotonic() >= next_read:
                    client.read_some(4096)
                    reads += 1
                    next_read += period
                most = max(most, kernel_backlog(place, [client]))
                count = place.server.client_count()  # polled often: the close frame is only kept 5 s
                if count is not None and count <= 1:  # dropped: read the rest fast to see the close code
                    closed_at = time.monotonic()
                    code = client.drain_until_closed(6.0)
                    break
                time.sleep(0.25)
            else:
                closed_at = time.monotonic()
        row.note(f"up to {most / 1024:.0f} KB unread in the kernel's send queue")
        rate = (honest_bytes(place) - stream_before) / max(0.1, closed_at - started) / 1024
        row.note(f"event stream {rate:.0f} KB/s, read {reads * 4 / max(0.1, closed_at - started):.1f} KB/s")
        row.count = f"{reads} reads of 4 KB, every {period:g} s"
        judge_stall_close(row, cfg, code, closed_at - started, client.gone)
        client.abort()


# ---------------------------------------------------------------------------- 4


def many_nonreaders(row: Row, cfg: Config) -> None:
    clients_wanted, seconds = cfg.profile.nonreaders, cfg.profile.nonreader_seconds
    with arena(row, cfg.window, big=True) as place:
        place.clients_in_attack = clients_wanted
        clients: list[RawWebSocket] = []
        with place.attack():
            for _ in range(clients_wanted):
                clients.append(
                    RawWebSocket.connect(place.server.port, stream_path(place), receive_buffer=SMALL_RECEIVE_BUFFER)
                )
            time.sleep(max(0.0, seconds - (time.monotonic() - place.attack_start)))
            remaining = place.server.client_count()
            row.note(backlog(place, clients))
        closed = clients_wanted + 1 - remaining if remaining is not None else "?"
        row.count = f"{clients_wanted} clients, {seconds:.0f} s"
        row.note(f"status frame {place.snapshot_mb * 1024:.0f} KB; server closed {closed} of them (info)")
        for client in clients:
            client.abort()


# ---------------------------------------------------------------------------- 5


def resume_flood(row: Row, cfg: Config) -> None:
    seconds = cfg.profile.resume_seconds
    with arena(row, cfg.window) as place:
        client = RawWebSocket.connect(place.server.port, stream_path(place))
        epoch = None
        for text in client.wait_text(timeout=10):
            epoch = json.loads(text).get("epoch") or epoch
        if epoch is None:
            row.fail("no epoch in the first frames")
            return
        resume = json.dumps({"type": "resume", "epoch": epoch, "last_seq": 1})
        cpu_before = cpu_seconds(place.server.pid) or 0.0
        with place.attack():
            sent = pace(
                lambda: client.close_code is None and client.send_text(resume), ATTACK_RATE, seconds, client.pump
            )
        flooded = place.attack_end - place.attack_start
        cpu_used = (cpu_seconds(place.server.pid) or 0.0) - cpu_before
        row.count = f"{sent} resumes in {flooded:.1f} s"
        row.note(
            f"server CPU {cpu_used:.1f} s in {flooded:.1f} s; {client.frames_in} frames "
            f"({client.bytes_in / 2**20:.0f} MB) sent back"
        )
        if client.close_code is not None or client.gone:
            row.note(f"attacker closed by the server ({client.close_code}) after {flooded:.1f} s")
        client.abort()


# ---------------------------------------------------------------------------- 11


def partial_log_line(row: Row, cfg: Config) -> None:
    megabytes = cfg.profile.partial_mb
    chunk = b"z" * 2**20
    with arena(row, cfg.window) as place:
        log = place.project / ".buildrunner/logs/partial.log"
        cpu_before = cpu_seconds(place.server.pid) or 0.0
        with place.attack():
            with log.open("ab") as out:
                for _ in range(megabytes):
                    out.write(chunk)
                    out.flush()
                    time.sleep(0.1)  # the watcher sees each chunk as its own change
                out.write(b"\n")  # the line ends at last: the server must not send it whole
            time.sleep(2.0)
        cpu_used = (cpu_seconds(place.server.pid) or 0.0) - cpu_before
        row.count = f"{megabytes} MB, one line"
        assert place.honest is not None
        largest = place.honest.ask("report")["largest_frame"]
        row.note(f"largest frame {largest / 1024:.0f} KB; server CPU {cpu_used:.1f} s")
        if largest >= 2**20:
            row.fail(f"a frame of {largest} bytes reached the honest client (limit 1 MiB)")
