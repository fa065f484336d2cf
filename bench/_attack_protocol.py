"""Scenarios 6, 12 and 13: a `.buildrunner/` folder deleted and restored in a loop, the protocol's bad-input table
checked answer by answer, and random frames.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from collections import Counter
from datetime import datetime
from typing import Any

from _attack_arena import Arena, Config, Row, arena
from _attack_floods import stream_path
from _attack_wire import RawWebSocket

LIVE_LIMIT_S = 2.0  # the server's periodic re-scan is every 10 s: only live watching is this fast
MARKER_WAIT_S = 12.0
MAX_MESSAGE = 64 * 1024


# ---------------------------------------------------------------------------- 6


def buildrunner_churn(row: Row, cfg: Config) -> None:
    churns = cfg.profile.churns
    with arena(row, cfg.window) as place:
        backup = place.root / "backup"
        shutil.copytree(place.project / ".buildrunner", backup)
        raced = 0
        with place.attack():
            for _ in range(churns):  # no pause between them: the watcher sees the folder vanish and return
                result = subprocess.run(
                    ["sh", "-c", f"rm -rf .buildrunner && cp -r '{backup}' .buildrunner"],
                    cwd=place.project,
                    capture_output=True,
                    timeout=60,
                )
                # cp refuses a file the busy writer created first in the folder cp just made: the writer's
                # newer file stays, as it would when a build writes during a restore.
                raced += result.returncode != 0
        row.count = f"{churns} rm -rf + cp -r"
        if raced:
            row.note(f"in {raced} rounds cp met a file the writer had just written")
        seen_after = write_marker(place)
        if seen_after is None:
            row.fail(f"a checkpoint written after the churn was not seen in {MARKER_WAIT_S:.0f} s")
        elif seen_after > LIVE_LIMIT_S:
            row.fail(f"a checkpoint written after the churn was seen after {seen_after:.1f} s (re-scan, not live)")
        else:
            row.note(f"checkpoint written after the churn seen live in {seen_after * 1000:.0f} ms")


def write_marker(place: Arena) -> float | None:
    """Write a new checkpoint file; seconds until the honest client had it (None if not within the wait)."""
    assert place.honest is not None
    marker = f"checkpoint_marker_{random.randrange(10**9):09d}"
    content = {"id": marker, "timestamp": datetime.now().isoformat(), "phase": "build_marker", "status": "created"}
    written = time.monotonic()
    (place.project / f".buildrunner/checkpoints/{marker}.json").write_text(json.dumps(content))
    while time.monotonic() - written < MARKER_WAIT_S:
        seen = place.honest.ask("report")["checkpoints"].get(marker)
        if seen is not None:
            return max(0.0, seen - written)
        time.sleep(0.1)
    return None


# ---------------------------------------------------------------------------- 12


def expect_error(row: Row, client: RawWebSocket, what: str, sent: bool, wanted: str) -> None:
    """The next `error` answer (file_path null: not a watcher's error event) must have `error_type` wanted."""
    deadline = time.monotonic() + 5
    while sent and time.monotonic() < deadline:
        for text in client.wait_text(timeout=max(0.05, deadline - time.monotonic())):
            message = json.loads(text)
            if message.get("type") == "error" and message.get("file_path") is None:
                if message.get("error_type") != wanted:
                    row.fail(f"{what}: error_type {message.get('error_type')!r}, expected {wanted!r}")
                return
        if client.gone or client.close_code is not None:
            break
    row.fail(f"{what}: no error answer (expected {wanted!r}; close {client.close_code})")


def expect_close(row: Row, client: RawWebSocket, what: str, wanted: int) -> None:
    code = client.drain_until_closed(8.0)
    if code != wanted:
        row.fail(f"{what}: close {code}, expected {wanted}")


def bad_input_table(row: Row, cfg: Config) -> None:
    with arena(row, cfg.window) as place:
        port, path = place.server.port, stream_path(place)
        with place.attack():
            client = RawWebSocket.connect(port, path)
            client.wait_text()  # `connection` and `status` first
            cases = [
                ("not JSON", "{not json", "invalid_json"),
                ("[1,2]", "[1,2]", "unknown_message"),
                ("unknown type", '{"type":"make_coffee"}', "unknown_message"),
                ("bad topic", '{"type":"subscribe","topics":["weather"]}', "invalid_topic"),
            ]
            for what, text, wanted in cases:
                expect_error(row, client, what, client.send_text(text), wanted)
            expect_error(row, client, "binary frame", client.send_frame(0x2, b"\x00\x01\x02"), "unsupported_frame")
            if client.close_code is not None or client.gone or not client.send_text('{"type":"ping"}'):
                row.fail(f"bad input closed the connection ({client.close_code})")
            client.abort()

            big = RawWebSocket.connect(port, path)
            big.send_text('{"type":"ping","pad":"' + "x" * MAX_MESSAGE + '"}')
            expect_close(row, big, "a message over 64 KiB", 1009)
            big.abort()

            fast = RawWebSocket.connect(port, path)
            for _ in range(150):
                fast.send_text('{"type":"ping"}')
            expect_close(row, fast, "150 messages at once", 1008)
            fast.abort()
        row.count = "7 inputs, 3 connections"
        if not row.failures:
            row.note("every answer as the table says")


# ---------------------------------------------------------------------------- 13


VALID: list[dict[str, Any]] = [
    {"type": "ping"},
    {"type": "request_status"},
    {"type": "subscribe", "topics": ["progress", "terminal"]},
    {"type": "subscribe", "topics": ["all"]},
    {"type": "resume", "epoch": "0123456789abcdef", "last_seq": 5},
]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 1e308, -0.0, rng.randrange(-(10**6), 10**6)])
    if kind in (3, 4):
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 20)))
    if kind in (5, 6):
        return {rng.choice(["type", "topics", "epoch", "last_seq", "x"]): random_json(rng, depth + 1) for _ in range(3)}
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(0, 5))]


def mutated(rng: random.Random) -> str:
    message = dict(rng.choice(VALID))
    if rng.random() < 0.5:  # a field given a value of any type
        message[rng.choice([*message, "topics", "last_seq"])] = random_json(rng)
        return json.dumps(message)
    text = list(json.dumps(message))
    for _ in range(rng.randrange(1, 4)):  # a few characters changed, dropped or added
        position = rng.randrange(len(text))
        action = rng.randrange(3)
        if action == 0:
            text[position] = chr(rng.randrange(32, 127))
        elif action == 1:
            del text[position]
        else:
            text.insert(position, rng.choice('{}[]",:0aé\\'))
    return "".join(text)


def fuzz_frame(rng: random.Random) -> tuple[int, bytes, bool, bool]:
    """(opcode, payload, fin, masked) of one random frame."""
    roll = rng.random()
    if roll < 0.35:
        return 0x1, mutated(rng).encode(), True, True
    if roll < 0.65:
        return 0x1, json.dumps(random_json(rng)).encode(), True, True
    if roll < 0.80:
        text = "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(1, 200)))
        return 0x1, text.encode(), True, True
    if roll < 0.90:
        return 0x2, rng.randbytes(rng.randrange(0, 300)), True, True
    if roll < 0.94:
        return 0x1, rng.randbytes(rng.randrange(1, 100)), True, True  # mostly invalid UTF-8: close 1007
    if roll < 0.97:
        return 0x9, rng.randbytes(rng.randrange(0, 125)), True, True  # a ping of our own
    if roll < 0.98:
        return rng.choice([0x3, 0x4, 0xB, 0x0]), rng.randbytes(10), True, True  # reserved or stray continuation
    if roll < 0.99:
        return 0x1, b'{"type":"ping"}', False, True  # a fragment left open
    return 0x1, b'{"type":"ping"}', True, False  # unmasked: a protocol error


class FuzzConnection:
    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.client = RawWebSocket.connect(port, path)
        self.reconnects = 0

    def ensure_open(self, closes: Counter[str]) -> None:
        client = self.client
        if client.close_code is None and not client.gone:
            return
        closes[str(client.close_code) if client.close_code is not None else "reset"] += 1
        client.abort()
        self.client = RawWebSocket.connect(self.port, self.path)
        self.reconnects += 1


def fuzz(row: Row, cfg: Config) -> None:
    frames, width = cfg.profile.fuzz_frames, cfg.profile.fuzz_connections
    rng = random.Random(cfg.seed)
    rate = 60.0 * width  # 60 a second per connection: under the limit of 100 even when the server reads in bursts
    closes: Counter[str] = Counter()
    with arena(row, cfg.window) as place:
        connections = [FuzzConnection(place.server.port, stream_path(place)) for _ in range(width)]
        started = time.monotonic()
        with place.attack():
            for number in range(frames):
                connection = connections[number % width]
                connection.ensure_open(closes)
                opcode, payload, fin, masked = fuzz_frame(rng)
                connection.client.send_frame(opcode, payload, fin=fin, masked=masked)
                connection.client.pump()
                time.sleep(max(0.0, started + (number + 1) / rate - time.monotonic()))
            for connection in connections:
                connection.client.pump()
        alive = place.server.alive()
        row.count = f"{frames} frames, {width} connections"
        reconnects = sum(connection.reconnects for connection in connections)
        row.note(f"{reconnects} reconnects; closes {dict(sorted(closes.items()))}; seed {cfg.seed}")
        if not alive:
            row.fail("server died")
        for connection in connections:
            connection.client.abort()
