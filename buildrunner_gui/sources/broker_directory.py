"""Every session published to a broker, as sources (`serve redis://…`, the window's `redis://…`).

It reads the sessions hash every POLL_SECONDS on the app's loop: a session listed for the first time becomes a
`BrokerSource` (handed to `added`; the receiver serves or shows it and starts it), and a session whose entry is
no longer refreshed (`GoneRule`), or was taken off by its publisher (MISSING_SECONDS), is marked gone on its
source (it stays on show, stale, and comes back to life if it is published again). The sources share the
directory's client and its connection pool (each blocking read holds one connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError

from ..model import broker_keys as keys
from .broker import BLOCK_MS, BrokerSource
from .subscribers import Subscribers

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
# A session taken off the hash is gone once it stays off this long: a publisher that stopped takes its sessions
# off, but a broker that restarted empty lists nothing until its publishers are back (within a few seconds).
MISSING_SECONDS = 5.0
CONNECT_TIMEOUT = 8.0  # an unreachable broker is reported within 10 s

Added = Callable[[BrokerSource], None]
Notice = Callable[[str], None]


def broker_client(url: str) -> redis.Redis:
    """A client for `url` (`redis://`, `rediss://` and a password in the URL as redis-py takes them). Its reads
    may block for BLOCK_MS, so its socket timeout is longer; a half-open connection is found within it. Our own
    loops retry and say so: redis-py's retries are off."""
    return redis.from_url(
        url,
        socket_timeout=BLOCK_MS / 1000 + 5.0,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )


class BrokerDirectory:
    def __init__(self, url: str, claim: Callable[[str], str] | None = None) -> None:
        if not keys.is_broker_url(url):
            raise ValueError(f"not a broker URL: {keys.shown_url(url)} (expected redis://HOST:PORT/DB)")
        self.url = keys.shown_url(url)
        try:
            self.client = broker_client(url)
        except (ValueError, TypeError) as exc:
            raise keys.unusable(url, exc) from None
        self.sources: dict[str, BrokerSource] = {}  # by the publisher's session id
        self.added: Subscribers[Added] = Subscribers()
        self.notices: Subscribers[Notice] = Subscribers()
        self.listed = asyncio.Event()  # set after the first attempt to read the sessions hash (read or not)
        self._claim = claim or (lambda session_id: session_id)  # the session id to serve it under
        self._rule = keys.GoneRule()
        self._missing: dict[str, float] = {}  # session id -> loop time it was first found off the hash
        self.failing = ""  # why the sessions cannot be read now ("" while they can)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"broker-directory:{self.url}")

    async def aclose(self) -> None:
        """Stop reading, stop every source, close the connections."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for source in self.sources.values():
            await source.aclose()
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                listed: Any = await self.client.hgetall(keys.SESSIONS_KEY)
                self._update(listed)
                if self.failing:
                    self.failing = ""
                    self._notices(f"reading sessions from {self.url} again")
            except AuthenticationError as exc:
                self._say(keys.refusal(str(exc)))
                self.listed.set()
                return  # a password the broker refuses: retrying cannot fix it
            except (RedisError, OSError) as exc:
                self._say(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
            self.listed.set()
            await asyncio.sleep(POLL_SECONDS)

    def _update(self, listed: dict[bytes, bytes]) -> None:
        entries = {}
        for raw_id, raw_entry in listed.items():
            entry = keys.read_entry(raw_entry)
            session_id = raw_id.decode("utf-8", "replace")
            if entry is not None and session_id:
                entries[session_id] = entry
        stale = self._rule.gone(entries, datetime.now(UTC))
        # One already gone when first met is left out (a publisher killed long ago leaves its entry behind) until
        # it is published again.
        for session_id in sorted(entries.keys() - self.sources.keys() - stale):
            source = BrokerSource(self.client, self.url, session_id, self._claim(session_id))
            self.sources[session_id] = source
            self.added.emit(source)
        clock = asyncio.get_running_loop().time()
        for session_id, source in self.sources.items():
            if session_id not in entries:
                if clock - self._missing.setdefault(session_id, clock) >= MISSING_SECONDS:
                    source.set_gone("gone: its publisher stopped")
                continue  # until then, as it was
            self._missing.pop(session_id, None)
            if session_id in stale:
                source.set_gone(f"gone: not published for {self._rule.gone_after:g} s")
            else:
                source.set_gone("")

    def _say(self, reason: str) -> None:
        if reason != self.failing:
            self.failing = reason
            self._notices(f"cannot read sessions from {self.url}: {reason}")
        log.info("broker %s: %s", self.url, reason)

    def _notices(self, text: str) -> None:
        self.notices.emit(text)
