"""Publishing to Redis, on the publisher's own thread: a bounded backlog written out by one task (protocol.md,
"Past one machine").

The owner (the thread of the session stores) posts each session's batches and, when asked, its `status` frame;
they arrive here through one ordered mailbox and wait in one queue, in that order. One task writes the queue out
with redis-py's asyncio client: a run of events as one pipeline of `XADD … MAXLEN ~ 10000`, and a snapshot as
the `status` frame with the id of the last entry written before it (every event up to the frame's seq was
queued, so written, before it; a dashboard reads on from that id). Items leave the queue only once Redis took
them, so a broker that went away is resumed from where it stopped.

The backlog is bounded: when a slow or absent broker lets it grow past MAX_EVENTS or MAX_BYTES, the events
waiting are dropped and each of their sessions gets a fresh snapshot instead (as a lagging client does); until
it comes, that session's new events are dropped too, so a dashboard that sees the gap finds a snapshot past it.
The snapshot key is rewritten at most once a second while events flow, and once more after the last of them;
the sessions hash every REFRESH_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError

from ..model import broker_keys as keys
from ..model.clock import utc_now_iso
from ..model.messages import Message
from ..model.snapshot_frame import encode

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000  # events waiting, all sessions together
MAX_BYTES = 32 * 1024 * 1024  # their encoded size
PIPELINE_EVENTS = 500  # events written in one round trip
RETRY_START, RETRY_MAX = 0.5, 2.0  # seconds between attempts while the broker is away
TIMEOUT = 5.0  # a command (or a connection) that takes longer: the broker is treated as away


@dataclass
class _Session:
    name: str
    last_id: str | None = None  # the last entry this publisher wrote to the session's stream
    dirty: bool = False  # its backlog was dropped: events wait for the fresh snapshot
    asked: bool = False  # a snapshot is asked of the owner
    written_at: float = -1e9  # loop time of the last snapshot written
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Events:
    session_id: str
    frames: list[str]
    size: int


@dataclass
class _Snapshot:
    session_id: str
    frame: str


@dataclass
class _Sessions:
    by_id: dict[str, _Session] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)  # to be deleted from the sessions hash
    changed: bool = False  # added or removed since the hash was written: it is written at once


class PublishLink:
    """Lives on the publisher's thread; every method but `start`/`stop` is posted there by the owner."""

    def __init__(
        self,
        url: str,
        publisher: str,
        ask_snapshot: Callable[[str], None],
        notice: Callable[[str, bool], None],
    ) -> None:
        self.url = keys.shown_url(url)
        self.publisher = publisher
        self._ask_snapshot = ask_snapshot  # posts to the owner, who answers with `snapshot`
        self._notice = notice  # posts a line for people to the owner, and whether it holds until a next one
        self._client = redis.from_url(
            url,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # our own loop retries, and says so
        )
        self._sessions = _Sessions()
        self._queue: deque[_Events | _Snapshot] = deque()
        self._events = 0
        self._bytes = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.down = False
        self.written = 0  # events written (for tests and benchmarks)
        self.dropped = 0  # events dropped by overflows

    # ---------------------------------------------------------------- from the owner, in order

    def add(self, session_id: str, name: str) -> None:
        """A session to publish; the owner posts its `snapshot` right after, before any of its events (a dashboard
        that meets an event of a new epoch finds that epoch's snapshot)."""
        self._sessions.removed.discard(session_id)
        self._sessions.by_id[session_id] = _Session(name)
        self._sessions.changed = True

    def remove(self, session_id: str) -> None:
        session = self._sessions.by_id.pop(session_id, None)
        if session is not None and session.timer is not None:
            session.timer.cancel()
        self._sessions.removed.add(session_id)
        self._sessions.changed = True
        self._drop(lambda item: item.session_id == session_id)
        self._wake.set()

    def events(self, session_id: str, batch: list[Message]) -> None:
        session = self._sessions.by_id.get(session_id)
        if session is None or session.dirty:
            return
        frames = [encode(message) for message in batch]
        size = sum(len(frame) for frame in frames)
        if self._events + len(frames) > MAX_EVENTS or self._bytes + size > MAX_BYTES:
            self._overflow(session_id, len(frames))
            return
        self._queue.append(_Events(session_id, frames, size))
        self._events += len(frames)
        self._bytes += size
        self._wake.set()

    def snapshot(self, session_id: str, frame: str, name: str) -> None:
        session = self._sessions.by_id.get(session_id)
        if session is None:
            return
        session.name, session.dirty, session.asked = name, False, False
        self._queue.append(_Snapshot(session_id, frame))
        self._wake.set()

    # ---------------------------------------------------------------- lifecycle (awaited on this thread)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="broker-publisher")

    async def stop(self) -> None:
        """Stop writing; a publisher that stops cleanly takes its sessions off the hash (bounded wait)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for session in self._sessions.by_id.values():
            if session.timer is not None:
                session.timer.cancel()
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(2.0):
                gone = [*self._sessions.by_id, *self._sessions.removed]
                if gone and not self.down:
                    await self._client.hdel(keys.SESSIONS_KEY, *gone)
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()

    # ---------------------------------------------------------------- the writing task

    async def _run(self) -> None:
        wait = RETRY_START
        while True:
            try:
                await self._client.ping()
                if self.down:
                    self.down = False
                    self._notice(f"publishing to {self.url} again", False)
                    for session_id in self._sessions.by_id:  # the broker may have lost what it had
                        self._want_snapshot(session_id)
                wait = RETRY_START
                await self._write_forever()
            except AuthenticationError as exc:
                self._went_down(keys.refusal(str(exc)))
            except (RedisError, OSError) as exc:  # TimeoutError is an OSError
                self._went_down(_reason(exc))
            except Exception:  # a bug must not end publishing silently
                log.exception("publishing to %s failed", self.url)
                self._went_down("unexpected error")
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_MAX)

    def _went_down(self, reason: str) -> None:
        if not self.down:
            self.down = True
            self._notice(
                f"broker {self.url} unreachable ({reason}): the build goes on; publishing resumes when it returns",
                True,
            )
        log.info("publishing to %s: %s", self.url, reason)

    async def _write_forever(self) -> None:
        loop = asyncio.get_running_loop()
        refresh_at = 0.0
        while True:
            if loop.time() >= refresh_at or self._sessions.changed:
                await self._refresh()
                refresh_at = loop.time() + keys.REFRESH_SECONDS
            if not self._queue:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, refresh_at - loop.time())):
                        await self._wake.wait()
                continue
            head = self._queue[0]
            if isinstance(head, _Snapshot):
                await self._write_snapshot(head)
                self._queue.popleft()
            else:
                await self._write_events()

    async def _write_events(self) -> None:
        """The events at the head of the queue (up to PIPELINE_EVENTS) in one round trip."""
        taken: list[_Events] = []
        count = 0
        for item in self._queue:
            if not isinstance(item, _Events) or (taken and count + len(item.frames) > PIPELINE_EVENTS):
                break
            taken.append(item)
            count += len(item.frames)
        pipe = self._client.pipeline(transaction=False)
        for item in taken:
            stream = keys.events_key(item.session_id)
            for frame in item.frames:
                pipe.xadd(stream, {"m": frame}, maxlen=keys.STREAM_MAXLEN, approximate=True)
        ids = await pipe.execute()
        # Only now do they leave the queue (an overflow meanwhile may have dropped some: they were sent anyway).
        position = 0
        for item in taken:
            position += len(item.frames)
            session = self._sessions.by_id.get(item.session_id)
            if session is not None:
                session.last_id = _text(ids[position - 1])
                self._due(item.session_id, session)
            if self._queue and self._queue[0] is item:
                self._queue.popleft()
                self._events -= len(item.frames)
                self._bytes -= item.size
        self.written += count

    async def _write_snapshot(self, item: _Snapshot) -> None:
        session = self._sessions.by_id.get(item.session_id)
        if session is None:
            return
        if session.last_id is None:  # none written yet by this publisher: read on after what the stream holds
            last: Any = await self._client.xrevrange(keys.events_key(item.session_id), "+", "-", count=1)
            session.last_id = _text(last[0][0]) if last else "0-0"
        await self._client.set(keys.snapshot_key(item.session_id), keys.snapshot_value(item.frame, session.last_id))
        session.written_at = asyncio.get_running_loop().time()

    async def _refresh(self) -> None:
        self._sessions.changed = False
        now = utc_now_iso()
        entries = {sid: keys.session_entry(s.name, self.publisher, now) for sid, s in self._sessions.by_id.items()}
        pipe = self._client.pipeline(transaction=False)
        if entries:
            pipe.hset(keys.SESSIONS_KEY, mapping=entries)  # type: ignore[arg-type]
        for session_id in entries:
            pipe.expire(keys.events_key(session_id), keys.KEEP_SECONDS)
            pipe.expire(keys.snapshot_key(session_id), keys.KEEP_SECONDS)
        if self._sessions.removed:
            pipe.hdel(keys.SESSIONS_KEY, *self._sessions.removed)
        await pipe.execute()
        self._sessions.removed.clear()

    # ---------------------------------------------------------------- snapshots and the backlog

    def _due(self, session_id: str, session: _Session) -> None:
        """Events of the session were written: its snapshot follows, at most once a second."""
        if session.asked or session.timer is not None:
            return
        loop = asyncio.get_running_loop()
        wait = session.written_at + keys.SNAPSHOT_SECONDS - loop.time()
        if wait <= 0:
            self._want_snapshot(session_id)
        else:
            session.timer = loop.call_later(wait, self._timer_fired, session_id)

    def _timer_fired(self, session_id: str) -> None:
        session = self._sessions.by_id.get(session_id)
        if session is not None:
            session.timer = None
            self._want_snapshot(session_id)

    def _want_snapshot(self, session_id: str) -> None:
        session = self._sessions.by_id.get(session_id)
        if session is not None and not session.asked:
            session.asked = True
            self._ask_snapshot(session_id)

    def _overflow(self, session_id: str, arriving: int) -> None:
        behind = {item.session_id for item in self._queue if isinstance(item, _Events)} | {session_id}
        dropped = self._drop(lambda item: isinstance(item, _Events)) + arriving
        self.dropped += dropped
        for sid in behind:
            session = self._sessions.by_id.get(sid)
            if session is not None:
                session.dirty = True
                self._want_snapshot(sid)
        self._notice(f"publishing to {self.url} fell behind: {dropped} events dropped, a fresh snapshot follows", False)

    def _drop(self, which: Callable[[Any], bool]) -> int:
        kept: deque[_Events | _Snapshot] = deque()
        dropped = 0
        for item in self._queue:
            if isinstance(item, _Events) and which(item) and item is not self._queue[0]:
                dropped += len(item.frames)
                self._events -= len(item.frames)
                self._bytes -= item.size
            else:
                kept.append(item)
        self._queue = kept
        return dropped


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
