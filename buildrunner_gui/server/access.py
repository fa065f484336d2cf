"""Who may talk to the mirror server (protocol.md, "Access"): header, Host, Origin and token checks.

websockets skips its own origin check for answers produced in `process_request`, so every check lives
here and runs before any route, HTTP and WebSocket alike: repeated single-valued headers (400), the Host
(400 missing or malformed; 421 on a loopback bind for a name that is not this machine's), the Origin (403),
then the token (401).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
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
    _origin_hosts: frozenset[str] = field(init=False, repr=False, default=frozenset())

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

    def check(self, path: str, headers: Headers) -> tuple[int, str] | None:
        """None if the request may proceed, else (HTTP status, one-line reason)."""
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
        if self.token is not None and not self._token_matches(_offered_tokens(path, headers)):
            return 401, "a valid token is required (Authorization: Bearer TOKEN or ?token=TOKEN)"
        return None

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
