"""Scenarios 1 and 7-10: who may talk to the server (protocol.md, "Access") and how a refusal is answered.

Every expected refusal is checked (a wrong status, a 5xx or a silent close is a failure); the slow-down of repeated
wrong tokens is reported only.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _benchlib as bl
from _attack_arena import Arena, Config, Row, arena
from _attack_server import make_project
from _attack_wire import HttpAnswer, handshake_headers, http_exchange, request_head

ATTACKER_ADDRESS = "127.0.0.2"  # another loopback address: the wrong tokens are not the honest client's


def expect(row: Row, what: str, answer: HttpAnswer, wanted: set[int]) -> None:
    """One checked request: its status must be one of `wanted`, with an answer (not a silent close)."""
    if answer.status in wanted:
        return
    shown = "no answer (connection closed)" if answer.status == 0 else f"HTTP {answer.status}"
    row.fail(f"{what}: {shown}, expected {'/'.join(map(str, sorted(wanted)))}")


def status_path(place: Arena) -> str:
    return f"/api/build/status/{place.server.session_id}"


# ---------------------------------------------------------------------------- 1


def start_with_token(project: Path, token: str) -> subprocess.CompletedProcess[str] | None:
    """`serve --host 127.0.0.1 --token TOKEN` run to its end (None if it is still running after 20 s)."""
    command = [sys.executable, "-m", "buildrunner_gui", "serve", str(project), "--port", "0"]
    command += ["--host", "127.0.0.1", "--token", token]
    try:
        return subprocess.run(command, cwd=bl.REPO, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None


def refused_tokens(row: Row, cfg: Config) -> None:
    """`serve --token ""` and `--token short` must exit 2 with one line on stderr, before serving anything."""
    row.count = "2 starts"
    root = Path(tempfile.mkdtemp(prefix="attack-1-"))
    try:
        project = make_project(root)
        shown = ""
        for token in ("", "short"):
            result = start_with_token(project, token)
            if result is None:
                row.fail(f"--token {token!r}: still running after 20 s (the token was accepted)")
                continue
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            if result.returncode != 2 or len(lines) != 1 or "Traceback" in result.stderr:
                row.fail(f"--token {token!r}: exit {result.returncode}, {len(lines)} stderr lines")
            else:
                row.note(f"--token {token!r}: exit 2, one line")
                shown = lines[0]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if shown:
        row.note(repr(shown[:70]))
    if cfg.window:
        row.note("(`serve` only: the window takes its token from the settings)")


# ---------------------------------------------------------------------------- 7


def dns_rebinding(row: Row, cfg: Config) -> None:
    with arena(row, cfg.window) as place:
        port = place.server.port
        with place.attack():
            evil = http_exchange(
                port, request_head("GET", status_path(place), [("Host", f"rebind.evil.example:{port}")])
            )
            stream = [("Host", f"rebind.evil.example:{port}"), *handshake_headers(port)[1:]]
            evil_ws = http_exchange(port, request_head("GET", f"/api/build/stream/{place.server.session_id}", stream))
            good = http_exchange(port, request_head("GET", status_path(place), [("Host", f"127.0.0.1:{port}")]))
        row.count = "3 requests"
        expect(row, "status with Host rebind.evil.example", evil, {421})
        expect(row, "stream handshake with Host rebind.evil.example", evil_ws, {421})
        expect(row, "status with Host 127.0.0.1", good, {200})
        row.note(f"evil Host -> {evil.status}, {evil_ws.status} (stream); 127.0.0.1 -> {good.status}")


# ---------------------------------------------------------------------------- 8


def duplicate_headers(row: Row, cfg: Config) -> None:
    with arena(row, cfg.window) as place:
        port = place.server.port
        host = ("Host", f"127.0.0.1:{port}")
        origin = ("Origin", f"http://127.0.0.1:{port}")
        auth = ("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz")
        handshake = handshake_headers(port)
        stream = f"/api/build/stream/{place.server.session_id}"
        cases = [
            ("two Origin", status_path(place), [host, origin, origin]),
            ("two Authorization", status_path(place), [host, auth, auth]),
            ("two Host", status_path(place), [host, host]),
            ("two Upgrade", stream, [*handshake, ("Upgrade", "websocket")]),
        ]
        statuses = []
        with place.attack():
            for what, path, headers in cases:
                answer = http_exchange(port, request_head("GET", path, headers))
                statuses.append(f"{what} {answer.status}")
                expect(row, what, answer, {400})
        row.count = f"{len(cases)} requests"
        row.note(", ".join(statuses))


# ---------------------------------------------------------------------------- 9


def request_bodies(row: Row, cfg: Config) -> None:
    with arena(row, cfg.window) as place:
        port = place.server.port
        host = ("Host", f"127.0.0.1:{port}")
        body = b'{"start": 1}'
        length = ("Content-Length", str(len(body)))
        chunked = ("Transfer-Encoding", "chunked")
        cases = [
            ("POST with a body", "POST", [host, length], body, {405}),
            ("POST chunked", "POST", [host, chunked], b"c\r\n" + body + b"\r\n0\r\n\r\n", {405}),
            ("GET with a body", "GET", [host, length], body, {400, 405}),
        ]
        shown = []
        with place.attack():
            for what, method, headers, payload, wanted in cases:
                answer = http_exchange(port, request_head(method, status_path(place), headers) + payload, timeout=10)
                shown.append(f"{what} {answer.status}")
                expect(row, what, answer, wanted)
                if answer.status and not answer.body.strip():
                    row.fail(f"{what}: HTTP {answer.status} without a reason")
        row.count = f"{len(cases)} requests"
        row.note(", ".join(shown))


# ---------------------------------------------------------------------------- 10


def repeated_bad_tokens(row: Row, cfg: Config) -> None:
    token = secrets.token_urlsafe(24)  # 32 characters
    count = cfg.profile.bad_tokens
    with arena(row, cfg.window, token=token) as place:
        port = place.server.port
        host = ("Host", f"127.0.0.1:{port}")
        answers: list[HttpAnswer] = []
        with place.attack():
            for number in range(count):
                wrong = ("Authorization", f"Bearer wrong-token-{number:04d}-{'x' * 16}")
                request = request_head("GET", status_path(place), [host, wrong])
                answers.append(http_exchange(port, request, timeout=20, source=ATTACKER_ADDRESS))
            right = http_exchange(
                port,
                request_head("GET", status_path(place), [host, ("Authorization", f"Bearer {token}")]),
                source=ATTACKER_ADDRESS,
            )
        row.count = f"{count} wrong tokens"
        for number, answer in enumerate(answers):
            expect(row, f"wrong token {number + 1}", answer, {401, 429})
        expect(row, "the right token afterwards", right, {200, 429})
        statuses = sorted({answer.status for answer in answers})
        row.note(
            f"statuses {statuses}; first answer {answers[0].seconds * 1000:.0f} ms, "
            f"last {answers[-1].seconds * 1000:.0f} ms (info); right token -> {right.status}"
        )
