"""A session mirrored from a remote server (`mirror URL`, or `serve ws://…` as a relay): the store fed by frames.

Runs as a task on the app's asyncio loop (the GUI thread, via qasync); reconnects with jittered backoff
(1-16 s) and asks to resume from the last upstream event it applied. The store numbers events itself (its own
`epoch` and `seq`), so clients of a relay resume against the relay; the upstream's position is kept here.
Frames that arrive together are published as one batch, once the receiving loop waits for more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from ..model.clock import utc_now_iso
from ..model.follow import MalformedFrame, UpstreamFollower, read_upstream_frame
from ..model.messages import Message, SourceOut, SourceState
from ..model.store import SessionStore
from .source import BatchCallback, Notify
from .subscribers import Subscribers

log = logging.getLogger(__name__)

BACKOFF_START, BACKOFF_MAX = 1.0, 16.0
SUBPROTOCOL = "buildrunner.v1"


def is_stream_url(project: str) -> bool:
    """A PROJECT argument naming a remote session (`ws://HOST:PORT/api/build/stream/ID`) rather than a folder."""
    return project.startswith(("ws://", "wss://"))


class RemoteSource:
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
        self._pending: list[Message] = []
        self._flush_scheduled = False
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- the source's face

    @property
    def session_id(self) -> str:
        return self.store.session_id

    @property
    def is_ready(self) -> bool:
        return self._loaded

    @property
    def location(self) -> str:
        return f"mirror of {self.host}"

    @property
    def is_local(self) -> bool:
        return False

    @property
    def connected(self) -> bool:
        return self.store.source.get("state") == "live"

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mirror:{self.session_id}")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---------------------------------------------------------------- the connection

    async def _run(self) -> None:
        delay = BACKOFF_START
        while True:
            try:
                await self._session()
                delay = BACKOFF_START
            except (OSError, ConnectionClosed, InvalidStatus, InvalidURI, TimeoutError, MalformedFrame) as exc:
                self.last_error = _describe(exc)
                log.info("mirror %s: %s", self.session_id, self.last_error)
                if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403, 404):
                    self._set_state("refused", self.last_error)
                    return  # retrying cannot fix a refusal
            self._flush()
            wait = delay * random.uniform(0.75, 1.0)
            was_live = self.store.source.get("state") == "live" or self._loaded
            self._set_state("reconnecting" if was_live else "unreachable", self.last_error or "connection closed")
            await asyncio.sleep(wait)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _session(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with connect(
            self.url,
            additional_headers=headers,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            compression=None,
            max_size=None,
            open_timeout=10,
        ) as socket:
            self.last_error = ""
            resume = self._follower.resume_request()
            if resume is not None:
                await socket.send(json.dumps(resume))
            async for frame in socket:
                message = read_upstream_frame(frame)
                if message is not None:
                    self._receive(message)

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

    def _set_state(self, state: SourceState, reason: str = "") -> None:
        source = self.store.source
        now = utc_now_iso()
        if source.get("state") == state and source.get("reason", "") == reason:
            if state == "live":
                self.store.set_source({**source, "last_contact": now})
            return
        updated: dict[str, Any] = {**source, "state": state, "since": now}
        if state == "live":
            updated["last_contact"] = now
        if reason:
            updated["reason"] = reason
        else:
            updated.pop("reason", None)
        event: Message = {"type": "source_update", "session_id": "", "epoch": "", "seq": 0, "timestamp": now}
        event["source"] = updated
        self.batches.emit(self.store.publish([event]))


def _without_token(url: str) -> str:
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "token"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MalformedFrame):
        return f"the server sent {exc}"
    if isinstance(exc, InvalidStatus):
        return f"server refused: HTTP {exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        return "connection closed"
    return str(exc) or type(exc).__name__
