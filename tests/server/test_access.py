"""Who may talk to the mirror server (protocol.md, "Access"): AccessPolicy on its own, and `serve`'s refusals."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import subprocess
import sys

import pytest
from websockets.datastructures import Headers

from buildrunner_gui.server.access import MAX_PENALTY_SECONDS, MAX_TRACKED_CLIENTS, AccessPolicy

from .conftest import mirror

TOKEN = "a-token-of-twenty-chars"


def headers(*pairs: tuple[str, str], host: str | None = "127.0.0.1:8765") -> Headers:
    result = Headers()
    if host is not None:
        result["Host"] = host
    for name, value in pairs:
        result[name] = value
    return result


def policy(host: str = "127.0.0.1", token: str | None = None, origins: tuple[str, ...] = ()) -> AccessPolicy:
    made = AccessPolicy.for_bind(host, token, origins)
    made.port = 8765
    return made


# ---------------------------------------------------------------- the token given at start


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1", "::"])
@pytest.mark.parametrize("token", ["", "short", "x" * 15])
def test_an_empty_or_short_token_is_refused_at_start(host, token):
    with pytest.raises(ValueError) as refused:
        AccessPolicy.for_bind(host, token, ())
    assert "\n" not in str(refused.value) and "16" in str(refused.value)


@pytest.mark.parametrize(
    "token", [" " * 20, " a-token-of-twenty-chars", "a-token-of-twenty\tchars", "a-token-of-twenty-chars\n", "ä" * 20]
)
def test_a_token_a_header_cannot_carry_is_refused_at_start(token):
    """Bearer values are read without surrounding spaces, and header bytes beyond ASCII are not UTF-8."""
    with pytest.raises(ValueError):
        AccessPolicy.for_bind("127.0.0.1", token, ())


def test_no_token_means_none_on_loopback_and_a_generated_one_beyond():
    assert AccessPolicy.for_bind("127.0.0.1", None, ()).token is None
    assert AccessPolicy.for_bind("localhost", None, ()).token is None
    generated = AccessPolicy.for_bind("0.0.0.0", None, ()).token
    assert generated is not None and len(generated) >= 24


@pytest.mark.parametrize("token", ["x" * 16, "correct horse battery staple"])
def test_a_token_of_16_characters_or_more_is_kept(token):
    assert AccessPolicy.for_bind("0.0.0.0", token, ()).token == token


def test_direct_construction_is_checked_too():
    with pytest.raises(ValueError):
        AccessPolicy("127.0.0.1", "")


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", "serve", "--demo", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("token", ["", "short"])
@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_serve_refuses_an_empty_or_short_token_in_one_line(host, token):
    result = serve("--host", host, "--token", token)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("buildrunner-gui: ") and "token" in result.stderr


def test_the_window_shows_a_short_token_setting_as_a_server_error(run):
    from buildrunner_gui.app.server_host import ServerHost
    from buildrunner_gui.settings import Preferences

    host = ServerHost()
    run(host.start(Preferences(host="0.0.0.0", port=0, token="short")))
    assert host.server is None
    assert host.error.startswith("mirror server not started: ") and "16" in host.error
    assert host.status() == (None, 0, host.error)


def test_the_windows_empty_token_setting_beyond_loopback_still_gets_a_token(run):
    from buildrunner_gui.app.server_host import ServerHost
    from buildrunner_gui.settings import Preferences

    async def scenario() -> str | None:
        host = ServerHost()
        await host.start(Preferences(host="0.0.0.0", port=0, token=""))
        assert host.server is not None, host.error
        try:
            return host.server.token
        finally:
            await host.stop()

    token = run(scenario())
    assert token is not None and len(token) >= 24


# ---------------------------------------------------------------- repeated headers


SINGLE_VALUED = ["Host", "Origin", "Authorization", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"]


@pytest.mark.parametrize("name", SINGLE_VALUED)
def test_a_repeated_security_header_is_400_before_anything_else(name):
    request = headers(("Origin", "http://evil.example"), host="rebind.evil.example")
    request[name] = "one"
    request[name] = "two"
    for bind in (policy(token=TOKEN), policy(host="0.0.0.0", token=TOKEN)):
        refusal = bind.check("/api/build/sessions", request)
        assert refusal is not None and refusal[0] == 400
        assert name in refusal[1] and "\n" not in refusal[1]


def test_list_headers_may_repeat():
    request = headers(("Connection", "keep-alive"), ("Connection", "Upgrade"), ("Sec-WebSocket-Protocol", "a"))
    request["Sec-WebSocket-Protocol"] = "buildrunner.v1"
    assert policy().check("/", request) is None


async def raw_get(port: int, *header_lines: str, target: str = "/api/build/sessions") -> tuple[int, str]:
    """One HTTP/1.1 request written by hand (repeated or missing headers are the point)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("\r\n".join([f"GET {target} HTTP/1.1", "Connection: close", *header_lines]) + "\r\n\r\n").encode())
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def test_the_server_answers_a_repeated_header_with_400_and_one_line(run, project):
    async def scenario():
        async with mirror([project]) as server:
            here = f"Host: 127.0.0.1:{server.port}"
            for repeated in (["Origin: http://a.example", "Origin: http://b.example"], [here]):
                status, body = await raw_get(server.port, here, *repeated)
                assert status == 400 and body.count("\n") == 1 and "Traceback" not in body
            status, _ = await raw_get(
                server.port, here, "Upgrade: websocket", "Upgrade: websocket", target="/api/build/stream/proj"
            )
            assert status == 400

    run(scenario())


# ---------------------------------------------------------------- Host (DNS rebinding)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:8765", "localhost", "LocalHost:8765", "[::1]", "[::1]:8765", "localhost:9000"],
)
def test_loopback_bind_serves_its_own_names(host):
    assert policy().check("/api/build/sessions", headers(host=host)) is None


@pytest.mark.parametrize(
    "host", ["rebind.evil.example:8765", "rebind.evil.example", "localhost.evil.example", "127.0.0.1.nip.io:8765"]
)
def test_loopback_bind_refuses_any_other_name_with_421(host):
    for bind in (policy(), policy(token=TOKEN)):  # before the token: a rebinding page learns nothing
        refusal = bind.check("/api/build/sessions", headers(host=host))
        assert refusal is not None and refusal[0] == 421 and "\n" not in refusal[1]


def test_loopback_bind_serves_the_hosts_of_allowed_origins():
    bind = policy(origins=("https://dash.example/", "http://build-ui.example:3001"))
    for host in ("dash.example", "dash.example:443", "build-ui.example:3001"):
        assert bind.check("/", headers(host=host)) is None
    assert bind.check("/", headers(host="other.example"))[0] == 421


@pytest.mark.parametrize("host", ["evil.example@127.0.0.1", "127.0.0.1:http", "a b", "[::1", "127.0.0.1:8765/x"])
def test_a_malformed_host_is_400(host):
    for bind in (policy(), policy(host="0.0.0.0", token=TOKEN)):
        refusal = bind.check("/", headers(host=host))
        assert refusal is not None and refusal[0] == 400


@pytest.mark.parametrize("host", [None, ""])
def test_a_missing_host_is_400(host):
    for bind in (policy(), policy(host="0.0.0.0", token=TOKEN)):
        refusal = bind.check("/", headers(host=host))
        assert refusal is not None and refusal[0] == 400 and "Host" in refusal[1]


def test_beyond_loopback_any_host_is_served_with_the_token():
    bind = policy(host="0.0.0.0", token=TOKEN)
    assert bind.check(f"/?token={TOKEN}", headers(host="buildbox.example:8765")) is None
    assert bind.check("/", headers(host="buildbox.example:8765"))[0] == 401


def test_the_default_server_refuses_a_rebound_name(run, project):
    async def scenario():
        async with mirror([project]) as server:
            status, body = await raw_get(server.port, f"Host: rebind.evil.example:{server.port}")
            assert status == 421 and "session" not in body
            status, _ = await raw_get(server.port)
            assert status == 400
            status, body = await raw_get(server.port, f"Host: localhost:{server.port}")
            assert status == 200 and '"session_id": "proj"' in body

    run(scenario())


def test_an_allowed_origin_that_is_no_url_names_no_host():
    bind = policy(origins=("http://[bad", "null"))
    for host in ("bad", "null"):
        assert bind.check("/", headers(host=host))[0] == 421


# ---------------------------------------------------------------- the token on each request


@pytest.mark.parametrize(
    "path, authorization",
    [
        (f"/?token={TOKEN}", None),
        ("/", f"Bearer {TOKEN}"),
        ("/", f"bearer  {TOKEN} "),
        (f"/?token={TOKEN}&token={TOKEN}", f"Bearer {TOKEN}"),
        (f"/?v=1&token={TOKEN.replace('-', '%2D')}", None),
    ],
)
def test_the_token_in_a_header_or_the_query_is_accepted(path, authorization):
    request = headers(("Authorization", authorization)) if authorization else headers()
    assert policy(token=TOKEN).check(path, request) is None


@pytest.mark.parametrize(
    "path, authorization",
    [
        ("/", None),
        ("/?token=", None),
        ("/?token=wrong", None),
        (f"/?token={TOKEN[:-1]}", None),
        ("/", f"Basic {TOKEN}"),
        ("/", "Bearer wrong"),
        # One request tests one token: extra guesses alongside the right one do not pass.
        (f"/?token=wrong&token={TOKEN}", None),
        (f"/?token={TOKEN}", "Bearer wrong"),
        ("/?token=wrong", f"Bearer {TOKEN}"),
    ],
)
def test_a_missing_or_wrong_token_is_401(path, authorization):
    request = headers(("Authorization", authorization)) if authorization else headers()
    refusal = policy(token=TOKEN).check(path, request)
    assert refusal is not None and refusal[0] == 401 and "\n" not in refusal[1]


def test_origin_is_checked_before_the_token():
    bind = policy(token=TOKEN, origins=("https://dash.example",))
    assert bind.check("/", headers(("Origin", "http://evil.example")))[0] == 403
    assert bind.check(f"/?token={TOKEN}", headers(("Origin", "https://dash.example"))) is None
    assert bind.check(f"/?token={TOKEN}", headers(("Origin", "http://localhost:8765"))) is None


# ---------------------------------------------------------------- repeated wrong tokens from one address


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def slowed(clock: Clock | None = None, host: str = "0.0.0.0") -> AccessPolicy:
    made = AccessPolicy(host, TOKEN, clock=clock or Clock())
    made.port = 8765
    return made


def guess(bind: AccessPolicy, address, token: str = "wrong") -> tuple[int, str] | None:
    return bind.check(f"/?token={token}", headers(), address)


def wait_out(bind: AccessPolicy, clock: Clock, address) -> float:
    """What a server does before answering: wait the penalty (here: move the clock past it)."""
    penalty = bind.penalty_seconds(address)
    clock.now += penalty
    return penalty


def test_consecutive_wrong_tokens_make_the_next_answer_wait_longer_up_to_a_cap():
    clock = Clock()
    bind = slowed(clock)
    address = ("203.0.113.9", 50000)
    assert bind.penalty_seconds(address) == 0
    penalties = []
    for _ in range(12):
        penalties.append(wait_out(bind, clock, address))
        assert guess(bind, address)[0] == 401
    assert penalties[:3] == [0, 0, 0]  # a typo or two costs nothing
    assert all(later >= earlier for earlier, later in itertools.pairwise(penalties))
    assert 0 < penalties[3] < penalties[-1] == MAX_PENALTY_SECONDS <= 5
    assert bind.penalty_seconds(address) == MAX_PENALTY_SECONDS


def test_the_penalty_runs_down_with_time_and_a_right_token_resets_it():
    clock = Clock()
    bind = slowed(clock)
    address = ("203.0.113.9", 50000)
    for _ in range(8):
        wait_out(bind, clock, address)
        guess(bind, address)
    clock.now += 1.0
    assert bind.penalty_seconds(address) == MAX_PENALTY_SECONDS - 1.0
    wait_out(bind, clock, address)
    assert guess(bind, address, TOKEN) is None
    assert bind.penalty_seconds(address) == 0
    wait_out(bind, clock, address)
    guess(bind, address)
    assert bind.penalty_seconds(address) == 0  # counting starts again


def test_a_guess_while_the_address_must_wait_is_429_and_not_tested():
    """Parallel requests cannot multiply the guesses: while its penalty runs, an address's tokens are not
    compared at all (not even the right one), so one guess per penalty is tested."""
    clock = Clock()
    bind = slowed(clock)
    address = ("203.0.113.9", 50000)
    for _ in range(3):
        guess(bind, address)
    waiting = bind.penalty_seconds(address)
    assert waiting > 0
    for token in ("wrong", "another", TOKEN):
        refusal = guess(bind, address, token)
        assert refusal is not None and refusal[0] == 429 and "\n" not in refusal[1]
    assert bind.penalty_seconds(address) == waiting  # refused guesses do not add up
    assert bind.check("/", headers(), address)[0] == 401  # offering no token is no guess
    clock.now += waiting
    assert guess(bind, address, TOKEN) is None


def test_addresses_are_counted_apart():
    bind = slowed()
    for _ in range(5):
        guess(bind, ("203.0.113.9", 1))
    assert bind.penalty_seconds(("203.0.113.9", 2)) > 0  # another port of the same host
    assert bind.penalty_seconds(("203.0.113.10", 1)) == 0
    assert guess(bind, ("203.0.113.10", 1), TOKEN) is None


def test_an_ipv6_client_is_counted_by_its_64_bit_prefix():
    bind = slowed()
    for suffix in range(5):  # a client picks any address in its own /64
        guess(bind, (f"2001:db8:1:2::{suffix + 1}", 1, 0, 0))
    assert bind.penalty_seconds("2001:db8:1:2:ffff::7") > 0
    assert bind.penalty_seconds(("2001:db8:1:3::1", 1, 0, 0)) == 0
    for _ in range(5):
        guess(bind, ("::ffff:198.51.100.7", 1, 0, 0))
    assert bind.penalty_seconds("198.51.100.7") > 0


def test_memory_is_bounded_oldest_address_forgotten_first():
    bind = slowed()
    for _ in range(5):
        guess(bind, "198.51.100.1")
    for number in range(MAX_TRACKED_CLIENTS + 10):
        guess(bind, str(ipaddress.IPv4Address("10.0.0.0") + number))
    assert bind.tracked_clients == MAX_TRACKED_CLIENTS
    assert bind.penalty_seconds("198.51.100.1") == 0


def test_failures_long_ago_are_forgotten():
    clock = Clock()
    bind = slowed(clock)
    address = "203.0.113.9"
    for _ in range(5):
        wait_out(bind, clock, address)
        guess(bind, address)
    clock.now += 3600
    assert bind.penalty_seconds(address) == 0
    guess(bind, address)
    assert bind.penalty_seconds(address) == 0


def test_without_an_address_or_a_token_nothing_is_counted():
    bind = slowed()
    for _ in range(10):
        assert guess(bind, None)[0] == 401
    assert bind.penalty_seconds(None) == 0 and bind.tracked_clients == 0
    open_bind = policy()
    for _ in range(10):
        assert guess(open_bind, "203.0.113.9") is None
    assert open_bind.penalty_seconds("203.0.113.9") == 0


def test_other_refusals_are_not_token_failures():
    bind = slowed(host="127.0.0.1")
    for _ in range(10):
        assert bind.check(f"/?token={TOKEN}", headers(host="rebind.evil.example"), "127.0.0.1")[0] == 421
        assert bind.check("/?token=x", headers(("Origin", "http://evil.example")), "127.0.0.1")[0] == 403
    assert bind.penalty_seconds("127.0.0.1") == 0
