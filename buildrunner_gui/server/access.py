"""Who may talk to the mirror server (protocol.md, "Access"): header, Host, Origin and token checks.

websockets skips its own origin check for answers produced in `process_request`, so every check lives
here and runs before any route, HTTP and WebSocket alike: repeated single-valued headers (400), the Host
(400 missing or malformed; 421 on a loopback bind for a name that is not this machine's), the Origin (403),
then the token (401; 429 while the client still owes the penalty of its repeated wrong tokens).

The server waits `penalty_seconds(remote_address)` before answering a request, then calls `check`. Wrong
tokens are counted per client under a lock, so the policy may be used from the server's own thread.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers

MIN_TOKEN_LENGTH = 16

# Headers read as one value, here or in the handshake: repeated, they are refused before anything reads them
# (websockets' Headers.get raises on a repeated name). List headers (Connection, Sec-WebSocket-Protocol,
# Sec-WebSocket-Extensions) may legitimately repeat and are left to the handshake.
SINGLE_VALUED_HEADERS = (
    "Host",
    "Origin",
    "Authorization",
    "Upgrade",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Access-Control-Request-Method",
)

# Repeated wrong tokens from one client: the first FREE_FAILURES cost nothing (a typo), then each makes the
# client wait before its next answer, doubling up to MAX_PENALTY_SECONDS (well under websockets' 10 s
# opening handshake timeout). A right token forgets the client; so does FORGET_AFTER_SECONDS without a wrong one.
FREE_FAILURES = 2
FIRST_PENALTY_SECONDS = 0.5
MAX_PENALTY_SECONDS = 4.0
FORGET_AFTER_SECONDS = 15 * 60.0
MAX_TRACKED_CLIENTS = 4096  # beyond this, the client whose last wrong token is oldest is forgotten

# A client's address as websockets gives it ((host, port) or (host, port, flowinfo, scope_id)), or its host.
RemoteAddress = tuple[Any, ...] | str | None

# uri-host [ ":" port ]: a name or IPv4 address, or a bracketed IPv6 address (RFC 9110, 7.2).
_HOST_HEADER = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::[0-9]{0,5})?")


class TokenRefused(ValueError):
    """A token given at start that must not be used (empty, too short, or not carriable in a header)."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _hostname(origin: str) -> str | None:
    try:
        return urlsplit(origin).hostname
    except ValueError:  # an origin that is no URL names no host
        return None


def host_name(host_header: str) -> str | None:
    """The Host header's name without its port, lower-cased (IPv6 without brackets); None if malformed."""
    parsed = _HOST_HEADER.fullmatch(host_header)
    if parsed is None:
        return None
    return (parsed["ipv6"] or parsed["name"]).lower()


def penalty_for(failures: int) -> float:
    """Seconds a client waits before its next answer after `failures` consecutive wrong tokens."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(MAX_PENALTY_SECONDS, FIRST_PENALTY_SECONDS * 2 ** (failures - FREE_FAILURES - 1))


def client_key(remote_address: RemoteAddress) -> str | None:
    """Who a client is, for counting its wrong tokens: its IPv4 address, or its IPv6 /64 (a client can pick
    any address in its own /64). None when unknown."""
    host = remote_address[0] if isinstance(remote_address, tuple) and remote_address else remote_address
    if not isinstance(host, str) or not host:
        return None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0  # when the last wrong token was seen
    wait_until: float = 0.0  # the client's tokens are not compared before this


def new_token() -> str:
    return secrets.token_urlsafe(24)


def check_token(token: str) -> None:
    """Raise TokenRefused, with a one-line reason, unless `token` may protect the server.

    An empty token is refused like any short one: `--token "$UNSET"` must never mean "no token".
    """
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenRefused(f"the access token must be at least {MIN_TOKEN_LENGTH} characters (got {len(token)})")
    if not all(" " <= character <= "~" for character in token) or token != token.strip():
        raise TokenRefused(
            "the access token must be printable ASCII, without leading or trailing spaces "
            "(it travels in an Authorization header)"
        )


@dataclass
class AccessPolicy:
    host: str
    token: str | None = None
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    port: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    _origin_hosts: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    _failures: OrderedDict[str, _Failures] = field(init=False, repr=False, compare=False, default_factory=OrderedDict)
    _failures_lock: threading.Lock = field(init=False, repr=False, compare=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.token is not None:
            check_token(self.token)
        self._origin_hosts = frozenset(filter(None, (_hostname(origin) for origin in self.allowed_origins)))

    @classmethod
    def for_bind(cls, host: str, token: str | None, allowed_origins: Iterable[str]) -> AccessPolicy:
        """Loopback binds may run without a token; any other bind always gets one (generated if not given).

        A given token is never dropped: an empty or short one raises TokenRefused (a ValueError).
        """
        if token is None and not is_loopback(host):
            token = new_token()
        return cls(host, token, frozenset(o.rstrip("/") for o in allowed_origins))

    def _host_refusal(self, host_header: str | None) -> tuple[int, str] | None:
        """A Host header is required everywhere; on a loopback bind it must name this machine or an allowed
        origin's host, so a page cannot reach the server under a name of its own (DNS rebinding)."""
        if not host_header:
            return 400, "a Host header is required"
        name = host_name(host_header)
        if name is None:
            return 400, "the Host header is malformed"
        if not is_loopback(self.host) or is_loopback(name) or name in self._origin_hosts:
            return None
        return 421, f"misdirected request: this server does not answer for {name} (use 127.0.0.1 or localhost)"

    def own_origins(self, request_host: str | None) -> set[str]:
        origins = {f"http://{self.host}:{self.port}"}
        if is_loopback(self.host):
            origins |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}", f"http://[::1]:{self.port}"}
        elif request_host:
            # Safe only because a non-loopback bind always requires the token (no DNS-rebinding read).
            origins.add(f"http://{request_host}")
        return origins

    def check(
        self, path: str, headers: Headers, remote_address: RemoteAddress = None, need_token: bool = True
    ) -> tuple[int, str] | None:
        """None if the request may proceed, else (HTTP status, one-line reason).

        `remote_address` (the connection's, as websockets gives it) counts wrong tokens per client: while
        `penalty_seconds` is not over for a client, a token it offers is not compared at all (429).
        `need_token=False` is for a CORS preflight, which a browser sends without credentials.
        """
        for name in SINGLE_VALUED_HEADERS:
            if len(headers.get_all(name)) > 1:
                return 400, f"the {name} header is repeated"
        refusal = self._host_refusal(headers.get("Host"))
        if refusal is not None:
            return refusal
        origin = headers.get("Origin")
        if origin is not None:
            origin = origin.rstrip("/")
            if origin not in self.allowed_origins and origin not in self.own_origins(headers.get("Host")):
                return 403, f"origin {origin} is not allowed"
        if self.token is None or not need_token:
            return None
        offered = _offered_tokens(path, headers)
        if offered:  # a guess: judged and counted in one step, so parallel requests cannot slip between
            client = client_key(remote_address)
            with self._failures_lock:
                waiting = self._waiting(client)
                if waiting > 0:
                    return 429, f"too many wrong tokens from this address; try again in {waiting:.1f} s"
                if self._token_matches(offered):
                    self._forget(client)
                    return None
                self._count_failure(client)
        return 401, "a valid token is required (Authorization: Bearer TOKEN or ?token=TOKEN)"

    def penalty_seconds(self, remote_address: RemoteAddress) -> float:
        """Seconds the server should wait before answering this client's next request (0.0 for most): the
        rest of the penalty its consecutive wrong tokens earned. Waiting it out keeps the answer from being
        a 429."""
        with self._failures_lock:
            return self._waiting(client_key(remote_address))

    @property
    def tracked_clients(self) -> int:
        """How many clients' wrong tokens are remembered (at most MAX_TRACKED_CLIENTS)."""
        return len(self._failures)

    # The three below run under _failures_lock.

    def _waiting(self, client: str | None) -> float:
        failures = None if client is None else self._failures.get(client)
        return 0.0 if failures is None else max(0.0, failures.wait_until - self.clock())

    def _count_failure(self, client: str | None) -> None:
        if client is None:
            return
        now = self.clock()
        failures = self._failures.pop(client, None)
        if failures is None or now - failures.last > FORGET_AFTER_SECONDS:
            failures = _Failures()
        failures.count += 1
        failures.last = now
        failures.wait_until = now + penalty_for(failures.count)
        self._failures[client] = failures  # newest last
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)

    def _forget(self, client: str | None) -> None:
        if client is not None:
            self._failures.pop(client, None)

    def _token_matches(self, offered: list[str]) -> bool:
        """True if a token is offered and every one offered is the token: one request tests one token, so
        extra guesses beside it (`?token=a&token=b…`) gain nothing."""
        assert self.token is not None
        expected = self.token.encode()
        # Compare every candidate in constant time, without short-circuiting on the first.
        matched = bool(offered)
        for candidate in offered:
            matched &= hmac.compare_digest(candidate.encode(), expected)
        return matched


def _offered_tokens(path: str, headers: Headers) -> list[str]:
    """Every token the request offers: an `Authorization: Bearer` value and each `?token=`."""
    offered: list[str] = []
    scheme, _, value = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        offered.append(value.strip())
    offered.extend(parse_qs(urlsplit(path).query).get("token", []))
    return offered
