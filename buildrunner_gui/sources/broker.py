"""A session served from a broker (`serve redis://…`, the window's `redis://…`): the store fed by a Redis stream.

The broker-side twin of `RemoteSource` (protocol.md, "Past one machine"): it runs as a task on the app's loop,
numbers events itself (its clients resume against this server), and keeps the publisher's position with the
same `UpstreamFollower`. It starts from the session's snapshot key (the publisher's `status` frame and the id of
the last stream entry it includes) and reads the stream after that id with a blocking XREAD. A gap in the
events' seq (the stream was trimmed past what it had read, or the publisher dropped a backlog) or an event of
another epoch (the publisher restarted) reloads the snapshot; after a gap it waits for a snapshot newer than
what it holds, which the publisher writes within a second.

`source` is a mirror's (`kind: "broker"`, `upstream` the broker URL without its password): `connecting`, `live`,
`reconnecting`/`unreachable` while the broker cannot be reached (retried with backoff, resumed from the last
entry read), `refused` for a password the broker refuses. A session whose publisher stopped refreshing it is
gone (the directory says so): `unreachable`, with a reason that says gone, until it is published again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis.asyncio as redis
from redis.exceptions import AuthenticationError, RedisError

from ..model import broker_keys as keys
from ..model.clock import iso_from_epoch, utc_now_iso
from ..model.follow import NOT_EVENTS, MalformedFrame, UpstreamFollower, read_upstream_frame
from ..model.messages import Message, SourceOut, SourceState
from ..model.store import SessionStore
from .backoff import Backoff
from .remote_link import Failure
from .source import BatchCallback, Notify
from .subscribers import Subscribers
from .upstream_task import UpstreamTask

log = logging.getLogger(__name__)

BACKOFF_START, BACKOFF_MAX = 0.5, 2.0  # a broker is one service near by: back soon after it returns
BLOCK_MS = 5_000  # one XREAD waits this long for entries; the client's socket timeout is longer
READ_COUNT = 1_000  # entries taken per read
SNAPSHOT_WAIT = 0.25  # seconds between looks for a snapshot newer than a gap


class BrokerSource(UpstreamTask):
    task_prefix = "broker"

    def __init__(self, client: redis.Redis, broker_url: str, upstream_id: str, session_id: str | None = None) -> None:
        self.client = client
        self.broker_url = keys.shown_url(broker_url)
        self.upstream_id = upstream_id
        self.host = self.broker_url.split("://", 1)[-1].split("/", 1)[0]
        source: SourceOut = {
            "kind": "broker",
            "upstream": self.broker_url,
            "state": "connecting",
            "since": utc_now_iso(),
            "last_contact": None,
        }
        project = {"name": upstream_id, "alias": None, "path": ""}
        self.store = SessionStore(session_id or upstream_id, project, source)  # type: ignore[arg-type]
        self.batches: Subscribers[BatchCallback] = Subscribers()
        self.reloads: Subscribers[Notify] = Subscribers()
        self.ready: Subscribers[Notify] = Subscribers()
        self.last_error = ""
        self.gone = ""  # why the session is gone ("" while it is published)
        self.reloaded = 0  # snapshots taken after the first (for logs and tests)
        self._follower = UpstreamFollower(self.store)
        self._events_key = keys.events_key(upstream_id)
        self._snapshot_key = keys.snapshot_key(upstream_id)
        self._entry = "0-0"  # the last stream entry read
        self._loaded = False
        self._went_live = False
        self._link: tuple[SourceState, str, str | None] = ("connecting", "", None)  # the broker link's own state
        self._pending: list[Message] = []
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- the source's face

    @property
    def location(self) -> str:
        return f"broker {self.host}"

    @property
    def url(self) -> str:
        """What reopens this session: the broker, and the session in the fragment (never a password)."""
        return f"{self.broker_url}#{self.upstream_id}"

    def set_gone(self, reason: str) -> None:
        """The directory's word: why the session is gone (its publisher stopped refreshing it, or took it off), or
        "" when it is published again."""
        if reason != self.gone:
            self.gone = reason
            self._show()

    # ---------------------------------------------------------------- following the stream

    async def _run(self) -> None:
        backoff = Backoff(BACKOFF_START, BACKOFF_MAX)
        while True:
            self._went_live = False
            failure = await self._attempt()
            self._flush()
            self.last_error = failure.reason
            log.info("broker session %s: %s", self.session_id, failure.reason)
            if failure.refused:
                self._set_link("refused", failure.reason)
                return
            if self._went_live:
                backoff.reset()
            delay = backoff.next_delay()
            state: SourceState = "reconnecting" if self._loaded else "unreachable"
            self._set_link(state, failure.reason, iso_from_epoch(time.time() + delay))
            await asyncio.sleep(delay)

    async def _attempt(self) -> Failure:
        try:
            await self._follow()
        except AuthenticationError as exc:
            return Failure(keys.refusal(str(exc)), refused=True)
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            return Failure(_first_line(exc))
        except MalformedFrame as exc:
            return Failure(f"the broker holds {exc}")
        except Exception as exc:  # a bug must not end the session silently: say so, and try again
            log.exception("broker session %s failed", self.session_id)
            return Failure(f"unexpected error: {exc!r}")
        return Failure("stopped")  # not reached: following ends by an exception

    async def _follow(self) -> None:
        self._follower.connected()
        self._follower.requests()  # a resume is reading on after the last entry, as below
        if not self._loaded:
            await self._load(after_gap=False)
        self._went_live = True
        self._set_link("live")
        while True:
            reply: Any = await self.client.xread({self._events_key: self._entry}, count=READ_COUNT, block=BLOCK_MS)
            self._contact()
            for _stream, entries in reply or []:
                await self._take(entries)
            self._flush()

    async def _take(self, entries: list[Any]) -> None:
        for entry_id, fields in entries:
            self._entry = _text(entry_id)
            raw = fields.get(b"m") if isinstance(fields, dict) else None
            try:
                message = read_upstream_frame(_text(raw) if raw is not None else "")
            except MalformedFrame as exc:
                log.warning("broker session %s: entry %s skipped: %s", self.session_id, self._entry, exc)
                continue
            if message.get("type") in NOT_EVENTS or message.get("type") == "status":
                continue
            if message.get("epoch") != self._follower.epoch:  # the publisher started over
                self._flush()
                await self._load(after_gap=False)
                return  # read on from where the snapshot says
            if self._follower.take_event(message):
                self._pending.append(message)
            if any(request["type"] == "request_status" for request in self._follower.requests()):
                self._flush()
                await self._load(after_gap=True)
                return

    async def _load(self, after_gap: bool) -> None:
        """Take the snapshot: the first one, one of a new epoch, or (`after_gap`) one newer than what we hold."""
        while True:
            raw = await self.client.get(self._snapshot_key)
            if raw is not None:
                status = read_upstream_frame(_text(raw))
                entry = status.pop("entry_id", None)
                if status.get("type") != "status" or not isinstance(entry, str):
                    raise MalformedFrame("a snapshot that is not a status message with its entry_id")
                newer = status["epoch"] != self._follower.epoch or status["seq"] > self._follower.seq
                if newer:
                    self._reload(status)
                    self._entry = entry
                    return
                if not after_gap:
                    return  # nothing newer than what we hold: read on from our own entry
            await asyncio.sleep(SNAPSHOT_WAIT)  # none yet, or not past the gap yet: the publisher writes it soon

    def _reload(self, status: Message) -> None:
        if self._loaded:
            self.reloaded += 1
        published = self._follower.take_status(status)
        self._contact()
        if published is None:
            return
        self.reloads.emit()
        if published:
            self.batches.emit(published)
        if not self._loaded:
            self._loaded = True
            self.ready.emit()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        published = self.store.publish(pending)
        if published:
            self.batches.emit(published)

    def _contact(self) -> None:
        self.store.set_source({**self.store.source, "last_contact": utc_now_iso()})

    # ---------------------------------------------------------------- `source`

    def _set_link(self, state: SourceState, reason: str = "", next_try: str | None = None) -> None:
        self._link = (state, reason, next_try)
        self._show()

    def _show(self) -> None:
        """Publish `source` as the link and the directory say: a new state, reason or next try is an event."""
        state, reason, next_try = self._link
        if self.gone:
            state, reason, next_try = "unreachable", self.gone, None
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
            self.store.set_source(updated)  # type: ignore[arg-type]
            return
        event: Message = {"type": "source_update", "session_id": "", "epoch": "", "seq": 0, "timestamp": now}
        event["source"] = updated
        self.batches.emit(self.store.publish([event]))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
