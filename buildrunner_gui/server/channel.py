"""One connected mirror client: its own bounded queue and its own sender task.

A small frame for a client that has nothing waiting is written to its socket at once (as websockets'
`broadcast()` does), so a fan-out to many clients costs one write each and no task switch. Anything else
waits in the client's own queue for its sender task, which sends when the server-wide `SendPacer` allows, so
a slow or stalled client never delays anyone else and many big frames never freeze the loop. A client more
than `LAG_LIMIT` bytes behind (queued here) stops receiving events; once its queue
drains it gets one fresh `status` and events resume, so it converges with everyone else. A client whose
queue has not moved for `STALL_SECONDS` is closed with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ..model.messages import EVENT_TOPICS, TOPICS
from ..model.snapshot_frame import encode
from .send_pacer import SendPacer

log = logging.getLogger(__name__)

LAG_LIMIT = 1024 * 1024
DIRECT_FRAME_BYTES = 64 * 1024  # larger frames always go through the queue and the pacer
DIRECT_BUFFER_BYTES = 256 * 1024  # a transport holding more unsent data than this gets no direct writes
STALL_SECONDS = 30.0
CLOSE_TRY_AGAIN_LATER = 1013


__all__ = ["ClientChannel", "encode"]

FreshStatus = Callable[[], tuple[str, int]]  # the encoded `status` frame, shared by all clients, and its seq


class ClientChannel:
    def __init__(
        self,
        connection: ServerConnection,
        client_id: str,
        session_id: str,
        fresh_status: FreshStatus,
        pacer: SendPacer | None = None,
    ) -> None:
        self.connection = connection
        self._pacer = pacer or SendPacer()
        self.client_id = client_id
        self.session_id = session_id
        self.topics: frozenset[str] = TOPICS
        self._fresh_status = fresh_status
        self._queue: deque[tuple[bool, str]] = deque()  # (is_event, frame)
        self.queued_bytes = 0
        self.lagging = False
        self.floor_seq = 0  # events at or below this seq are already contained in what was sent
        self._wake = asyncio.Event()
        self._stuck_since: float | None = None
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- producing (event loop thread)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._send_forever(), name=f"send:{self.client_id}")

    def send_control(self, message: dict[str, Any]) -> None:
        """Always delivered: connection, pong, subscribed and answers to the client's own input."""
        self._push(encode(message), is_event=False)

    def send_status(self) -> None:
        """A fresh `status`: the session's shared frame (encoded once per seq for every client)."""
        frame, seq = self._fresh_status()
        self.floor_seq = max(self.floor_seq, seq)
        self._push(frame, is_event=False)

    def offer_event(self, message: dict[str, Any], frame: str) -> None:
        """An event for everyone on this session; `frame` is its encoding, shared by all clients."""
        if message["seq"] <= self.floor_seq or EVENT_TOPICS[message["type"]] not in self.topics:
            return
        if self.lagging:
            return
        # What waits here counts, not what the transport holds: direct writes stop at DIRECT_BUFFER_BYTES unsent,
        # and counting a `status` already handed to the socket would send a lagging client status after status.
        if self.queued_bytes > LAG_LIMIT:
            self.lagging = True  # drop events from here on; a fresh status replaces them once drained
            if self._stuck_since is None:
                self._stuck_since = time.monotonic()
            self._wake.set()  # the sender waits for the socket to drain, then sends the status
            return
        self._push(frame, is_event=True)

    def restart_from(self, events: list[dict[str, Any]], floor_seq: int) -> None:
        """Resume: forget queued events (control messages such as the first `status` stay), then send exactly
        `events`, which are those after the client's seq."""
        kept = [(is_event, frame) for is_event, frame in self._queue if not is_event]
        self._drop_queue()
        for is_event, frame in kept:
            self._push(frame, is_event)
        self.floor_seq = floor_seq
        for message in events:
            if EVENT_TOPICS[message["type"]] in self.topics:
                self._push(encode(message), is_event=True)

    def _push(self, frame: str, is_event: bool) -> None:
        if not self._queue and self._write_now(frame):
            return
        if not self._queue and self._stuck_since is None:
            self._stuck_since = time.monotonic()
        self._queue.append((is_event, frame))
        self.queued_bytes += len(frame)
        self._wake.set()

    def _write_now(self, frame: str) -> bool:
        """Write a small frame straight to the socket when nothing is waiting and the pacer allows."""
        connection = self.connection
        if (
            len(frame) > DIRECT_FRAME_BYTES
            or connection.protocol.state is not State.OPEN
            or connection.send_in_progress is not None
            or self._unsent() > DIRECT_BUFFER_BYTES
            or not self._pacer.may_send_now()
        ):
            return False
        try:
            connection.protocol.send_text(frame.encode())
            connection.send_data()
        except Exception:  # a connection closing under us: the queue path reports it properly
            log.debug("direct write to %s failed", self.client_id, exc_info=True)
            return False
        self._pacer.sent()
        return True

    def _unsent(self) -> int:
        transport = self.connection.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def _drop_queue(self) -> None:
        self._queue.clear()
        self.queued_bytes = 0

    # ---------------------------------------------------------------- sending

    async def _send_forever(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    await self._pacer.turn()
                    _, frame = self._queue.popleft()  # written before `send` can suspend: order is kept
                    self.queued_bytes -= len(frame)
                    await self.connection.send(frame)
                    self._pacer.sent()
                    self._stuck_since = time.monotonic() if self._queue else None
                    await asyncio.sleep(0)  # to the back of the line: every client's first frame goes out first
                if self.lagging:
                    await self.connection.drain()  # what was written directly must reach the client first
                    self.lagging = False
                    self._stuck_since = None
                    self.send_status()
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sending to client %s failed", self.client_id)
            await self.connection.close(1011, "internal error")

    def stalled(self, now: float) -> bool:
        return self._stuck_since is not None and now - self._stuck_since > STALL_SECONDS

    async def close_stalled(self) -> None:
        await self.close(CLOSE_TRY_AGAIN_LATER, "client too slow")

    async def close(self, code: int, reason: str) -> None:
        """Stop sending queued messages first (a send blocked on a full socket would hold the close back),
        then close; websockets aborts the TCP connection itself if the close handshake cannot complete."""
        self._drop_queue()
        await self.stop()
        await self.connection.close(code, reason)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
