"""A session mirrored from a remote server (`mirror URL`, or `serve ws://…` as a relay): the store fed by frames.

Runs as a task on the app's asyncio loop (the GUI thread, via qasync). The store numbers events itself (its own
`epoch` and `seq`), so clients of a relay resume against the relay; the upstream's position is kept by the
`UpstreamFollower`, which also says what to send upstream (`resume` on each connection, `request_status` after a
gap). Frames that arrive together are published as one batch, once the receiving loop waits for more.

The store's `source` says how the link is (protocol.md, "Sessions served from a mirror"): `connecting` until the
first attempt ends; `live` from the first `status` of a connection; `reconnecting` (the state shown is kept, and
stale) or `unreachable` (nothing loaded yet) while it retries, with `reason` and `next_try` (ISO time of the next
attempt; in the past while that attempt is under way); `refused` when the server said no (a bad token, origin or
session id): retrying cannot fix that, so it stops. Waits grow from 1 s to 30 s with jitter, and start over after
a connection that reached live. Our own pings find a connection that went silent (half-open) within 25 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from ..model.clock import iso_from_epoch, utc_now_iso
from ..model.follow import MalformedFrame, UpstreamFollower, read_upstream_frame
from ..model.messages import Message, SourceOut, SourceState
from ..model.store import SessionStore
from .backoff import Backoff
from .remote_link import FRAME_LIMIT, Failure, LimitedConnection, describe_close, describe_failure
from .source import BatchCallback, Notify
from .subscribers import Subscribers
from .upstream_task import UpstreamTask

log = logging.getLogger(__name__)

BACKOFF_START, BACKOFF_MAX = 1.0, 30.0
OPEN_TIMEOUT = 8.0  # TCP connect and handshake: an unreachable host is reported within 10 s
PING_INTERVAL, PING_TIMEOUT = 10.0, 10.0  # with CLOSE_TIMEOUT: a silent connection is given up within 25 s
CLOSE_TIMEOUT = 5.0
SUBPROTOCOL = "buildrunner.v1"
LINK_ERRORS = (OSError, WebSocketException, MalformedFrame)  # TimeoutError is an OSError


def is_stream_url(project: str) -> bool:
    """A PROJECT argument naming a remote session (`ws://HOST:PORT/api/build/stream/ID`) rather than a folder."""
    return project.startswith(("ws://", "wss://"))


class RemoteSource(UpstreamTask):
    task_prefix = "mirror"

    def __init__(self, url: str, token: str | None = None, session_id: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or "/api/build/stream/" not in parts.path:
            raise ValueError(f"not a mirror stream URL: {url} (expected ws://HOST:PORT/api/build/stream/ID)")
        self.url = _without_token(url)  # the token travels in a header: URLs end up in logs and snapshots
        self.upstream_id = parts.path.rsplit("/", 1)[-1]
        self.host = parts.netloc.rsplit("@", 1)[-1]
        self._token = token or dict(parse_qsl(parts.query)).get("token")
        source: SourceOut = {
            "kind": "mirror",
            "upstream": self.url,
            "state": "connecting",
            "since": utc_now_iso(),
            "last_contact": None,
        }
        project = {"name": self.upstream_id, "alias": None, "path": ""}
        self.store = SessionStore(session_id or self.upstream_id, project, source)  # type: ignore[arg-type]
        self.batches: Subscribers[BatchCallback] = Subscribers()
        self.reloads: Subscribers[Notify] = Subscribers()
        self.ready: Subscribers[Notify] = Subscribers()
        self.last_error = ""
        self._follower = UpstreamFollower(self.store)
        self._loaded = False
        self._went_live = False  # on the current connection: a status came (the backoff starts over after it)
        self._pending: list[Message] = []
        self._flush_scheduled = False
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- the source's face

    @property
    def location(self) -> str:
        return f"mirror of {self.host}"

    @property
    def connected(self) -> bool:
        return self.store.source.get("state") == "live"

    # ---------------------------------------------------------------- the connection

    async def _run(self) -> None:
        # Our own loop rather than websockets' reconnecting `connect()` iterator: that one starts over at once
        # after any connection that opened (one closed right away, or one that never got to live, included), and
        # its waits are not visible, so the source could not show when the next try is.
        backoff = Backoff(BACKOFF_START, BACKOFF_MAX)
        while True:
            self._went_live = False
            failure = await self._attempt()
            self._flush()
            self.last_error = failure.reason
            log.info("mirror %s: %s", self.session_id, failure.reason)
            if failure.refused:
                self._set_state("refused", failure.reason)
                return  # retrying cannot fix a refusal
            if self._went_live:
                backoff.reset()
            delay = backoff.next_delay()
            state: SourceState = "reconnecting" if self._loaded else "unreachable"
            self._set_state(state, failure.reason, next_try=iso_from_epoch(time.time() + delay))
            await asyncio.sleep(delay)

    async def _attempt(self) -> Failure:
        """One connection, from opening to its end: what ended it (or kept it from opening)."""
        socket: ClientConnection | None = None
        try:
            async with connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self._token}"} if self._token else {},
                subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                compression=None,
                open_timeout=OPEN_TIMEOUT,
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
                close_timeout=CLOSE_TIMEOUT,
                max_size=FRAME_LIMIT,
                create_connection=LimitedConnection,
            ) as socket:
                await self._follow(socket)
            return Failure(describe_close(socket.close_code, socket.close_reason or ""))
        except LINK_ERRORS as exc:
            return describe_failure(exc, getattr(socket, "frame_limit", FRAME_LIMIT))
        except Exception as exc:  # a bug must not end the mirror silently: say so, and try again
            log.exception("mirror %s failed", self.session_id)
            return describe_failure(exc, None)

    async def _follow(self, socket: ClientConnection) -> None:
        self._follower.connected()
        await self._send_requests(socket)
        async for frame in socket:
            self._receive(read_upstream_frame(frame))
            await self._send_requests(socket)

    async def _send_requests(self, socket: ClientConnection) -> None:
        for request in self._follower.requests():
            if request["type"] == "request_status":
                log.info("mirror %s: a gap in the upstream's events; asking for its status", self.session_id)
            await socket.send(json.dumps(request))

    def _receive(self, message: Message) -> None:
        if message.get("type") == "status":
            self._flush()  # events before the status first, in order
            self._reload(message)
        elif self._follower.take_event(message):
            self._pending.append(message)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)

    def _reload(self, status: Message) -> None:
        published = self._follower.take_status(status)
        self._went_live = True
        self._set_state("live")
        if published is None:
            return  # nothing new in it
        self.reloads.emit()
        if published:
            self.batches.emit(published)
        if not self._loaded:
            self._loaded = True
            self.ready.emit()

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, []
        if not pending:
            return
        published = self.store.publish(pending)
        self.store.set_source({**self.store.source, "last_contact": utc_now_iso()})
        if published:
            self.batches.emit(published)

    def _set_state(self, state: SourceState, reason: str = "", next_try: str | None = None) -> None:
        """Change `source`: a new state, reason or next try is an event (`source_update`); `since` is when the
        state began, so it stays while only the reason or the next try changes."""
        source = self.store.source
        now = utc_now_iso()
        updated: dict[str, Any] = {**source, "state": state}
        if source.get("state") != state:
            updated["since"] = now
        if state == "live":
            updated["last_contact"] = now
        for key, value in (("reason", reason), ("next_try", next_try)):
            if value:
                updated[key] = value
            else:
                updated.pop(key, None)
        if all(updated.get(key) == source.get(key) for key in ("state", "reason", "next_try")):
            self.store.set_source(updated)  # type: ignore[arg-type]  # only last_contact moved: no event
            return
        event: Message = {"type": "source_update", "session_id": "", "epoch": "", "seq": 0, "timestamp": now}
        event["source"] = updated
        self.batches.emit(self.store.publish([event]))


def _without_token(url: str) -> str:
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "token"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
