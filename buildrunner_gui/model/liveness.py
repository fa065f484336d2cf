"""Whether a session's state is live, and how to say so (no Qt): one reading of the snapshot's `source` that the
sidebar, the overview, the stale banner over every panel, the window title and the tray all show.

A local project is always live. A mirrored one is live only while its upstream connection is (protocol.md,
"Sessions served from a mirror"); otherwise everything it shows is as of its last contact, and the words say
why and what happens next: the next try's countdown, the reason it cannot connect, or what to fix when refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .activity import ago, local_time
from .clock import parse_iso

# What to fix when a server refuses us, by the refusal's reason (HTTP 401 / 403 / 404).
_FIXES = (
    (("token", "401"), "check the token"),
    (("origin", "403"), "the server must allow this client's origin (--allow-origin)"),
    (("session", "404"), "check the session id: the server does not serve it"),
)


@dataclass(frozen=True)
class Liveness:
    live: bool
    state: str  # "local", or the mirror's state: connecting, live, reconnecting, unreachable, refused
    summary: str  # a few words for a list row or a badge: "live", "reconnecting in 12 s", "refused: token"
    detail: str  # one line for a banner: the summary, the reason or the fix, and the last contact

    @property
    def stale(self) -> bool:
        return not self.live


LOCAL = Liveness(True, "local", "", "")
LIVE = Liveness(True, "live", "live", "live")


def liveness(source: Mapping[str, object], now: datetime | None = None) -> Liveness:
    if source.get("kind", "local") == "local":
        return LOCAL
    state = str(source.get("state") or "connecting")
    if state == "live":
        return LIVE  # the common case, read often: nothing to format
    now = now or datetime.now(UTC)
    reason = str(source.get("reason") or "")
    contact = last_contact(source.get("last_contact"), now)
    if state == "reconnecting":
        wait = _seconds_until(source.get("next_try"), now)
        summary = f"reconnecting in {wait} s" if wait is not None and wait > 0 else "reconnecting…"
    elif state == "unreachable":
        wait = _seconds_until(source.get("next_try"), now)
        summary = f"unreachable, retrying in {wait} s" if wait is not None and wait > 0 else "unreachable"
    elif state == "refused":
        summary = reason if reason.startswith("refused") else f"refused: {reason}" if reason else "refused"
        return Liveness(False, state, summary, "; ".join(filter(None, [summary, _fix(reason), contact])))
    else:
        summary = "connecting…"
    because = reason if reason and reason not in summary else ""
    return Liveness(False, state, summary, " · ".join(filter(None, [summary, because, contact])))


def last_contact(stamp: object, now: datetime) -> str:
    """`last contact 14:02:11, 2 min ago` (local time), or `no contact yet`."""
    moment = parse_iso(stamp)
    if moment is None:
        return "no contact yet"
    return f"last contact {local_time(moment, now)}, {ago(moment, now)}"


def _fix(reason: str) -> str:
    lowered = reason.lower()
    for words, fix in _FIXES:
        if any(word in lowered for word in words):
            return fix
    return ""


def _seconds_until(stamp: object, now: datetime) -> int | None:
    moment = parse_iso(stamp)
    return None if moment is None else max(0, round((moment - now).total_seconds()))
