"""Sessions through Redis Streams (protocol.md, "Past one machine"), the parts that need no Redis: key names,
the sessions hash's entries, when an entry means a session gone, and a broker URL as it may be shown.

The timings are the spec's; an environment variable may shorten them (tests do: a killed publisher is then
marked gone in seconds rather than a minute).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from .clock import parse_iso

SESSIONS_KEY = "buildrunner:sessions"
STREAM_MAXLEN = 10_000  # `MAXLEN ~`: like the replay buffer
SCHEMES = ("redis://", "rediss://", "unix://")


def _seconds(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable, ""))
    except ValueError:
        return default
    return value if value > 0 else default


REFRESH_SECONDS = _seconds("BUILDRUNNER_BROKER_REFRESH", 10.0)  # the sessions hash is rewritten this often
GONE_SECONDS = _seconds("BUILDRUNNER_BROKER_GONE", 60.0)  # an entry not refreshed for this long: a session gone
SNAPSHOT_SECONDS = 1.0  # the snapshot key is rewritten at most this often while events flow
# A session's stream and snapshot outlive its publisher by this long (a publisher killed cannot delete them; each
# refresh of the sessions hash sets it again).
KEEP_SECONDS = 7 * 24 * 3600


def is_broker_url(project: str) -> bool:
    """A PROJECT argument naming a broker (`redis://HOST:PORT/DB`) rather than a folder or a mirror URL."""
    return project.startswith(SCHEMES)


class UnusableBrokerURL(ValueError):
    """A broker URL given on the command line (or in the settings) that the client cannot take: a usage error."""


def unusable(url: str, exc: Exception) -> UnusableBrokerURL:
    """A broker URL the client cannot take, in one line that never shows its password."""
    said = str(exc).replace(url, shown_url(url))
    return UnusableBrokerURL(f"not a usable broker URL: {shown_url(url)} ({said})")


def events_key(session_id: str) -> str:
    return f"buildrunner:{session_id}:events"


def snapshot_key(session_id: str) -> str:
    return f"buildrunner:{session_id}:snapshot"


def snapshot_value(status_frame: str, entry_id: str) -> str:
    """The snapshot key's value (protocol.md): the `status` message JSON, carrying the id of the last stream entry
    it includes as `entry_id`. Written into the encoded frame as is: a status of a big project is not re-encoded."""
    return '{"entry_id":' + json.dumps(entry_id) + "," + status_frame[1:]


def shown_url(url: str) -> str:
    """The broker URL without its user and password: what logs, notices and a snapshot's `source` may carry."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def session_entry(name: str, publisher: str, updated: str) -> str:
    return json.dumps({"name": name, "publisher": publisher, "updated": updated})


@dataclass(frozen=True)
class SessionEntry:
    name: str
    publisher: str
    updated: str


def read_entry(raw: bytes | str) -> SessionEntry | None:
    """An entry of the sessions hash; None when it is not one (someone else's key, a newer format)."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("updated"), str):
        return None
    return SessionEntry(str(value.get("name") or ""), str(value.get("publisher") or ""), value["updated"])


class GoneRule:
    """Which sessions are gone: those whose entry has not been refreshed for GONE_SECONDS.

    Judged by this machine's clock, from when an entry was last seen to change, so a publisher whose clock is
    off does not look gone (or alive) for it; an entry met for the first time counts from its own `updated`
    when that is older (a publisher killed long ago is gone at once)."""

    def __init__(self, gone_after: float | None = None) -> None:
        self.gone_after = GONE_SECONDS if gone_after is None else gone_after
        self._seen: dict[str, tuple[str, float]] = {}  # session id -> (updated, our time it was first seen so)

    def gone(self, entries: dict[str, SessionEntry], now: datetime) -> set[str]:
        clock = now.timestamp()
        for session_id, entry in entries.items():
            known = self._seen.get(session_id)
            if known is not None and known[0] == entry.updated:
                continue
            stamp = parse_iso(entry.updated)
            since = clock if known is not None or stamp is None else min(clock, stamp.timestamp())
            self._seen[session_id] = (entry.updated, since)
        for session_id in set(self._seen) - set(entries):
            del self._seen[session_id]  # removed from the hash (a publisher that stopped cleanly)
        return {sid for sid, (_, since) in self._seen.items() if clock - since > self.gone_after}


def refusal(said: str) -> str:
    """A broker's refusal of our credentials, in words that say what to fix (its own are about HELLO and AUTH)."""
    lowered = said.lower()
    if "invalid" in lowered or "wrongpass" in lowered:
        return "refused: wrong password (or user) in the broker URL"
    if "noauth" in lowered or "authenticat" in lowered:
        return "refused: the broker needs a password (redis://:PASSWORD@HOST:PORT/DB)"
    return f"refused: {said.strip().splitlines()[0][:200] if said.strip() else 'access denied'}"
