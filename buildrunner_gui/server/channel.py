"""One connected mirror client: its own bounded queue and its own sender task (on the server's thread).

A small frame for a client that has nothing waiting is written to its socket at once (as websockets'
`broadcast()` does), so a fan-out to many clients costs one write each and no task switch. Anything else
waits in the client's own queue for its sender task, so a slow or stalled client never delays anyone else.

One budget covers every frame a client is sent, answers included (`SEND_BUDGET` bytes waiting here): a client
over it gets no further events and no further answers; `status` frames never pile up (a newer one replaces
what waits). Once its queue drains it gets one fresh `status` and events resume, so it converges with everyone
else. A client that has not drained for `STALL_SECONDS`, whatever it keeps sending, is closed with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ..model.messages import TOPICS
from .frame_replay import EventFrame
from .socket_backlog import kernel_unsent

log = logging.getLogger(__name__)

SEND_BUDGET = 1024 * 1024
DIRECT_FRAME_BYTES = 64 * 1024  # larger frames always go through the queue
DIRECT_BUFFER_BYTES = 256 * 1024  # a transport holding more unsent data than this gets no direct writes
# At most this much unsent in the transport and the kernel's send queue (and nothing queued) counts as drained.
# A client that keeps up has only rate x round-trip in flight: 64 KB is 640 KB/s over a 100 ms link.
DRAINED_BYTES = 64 * 1024
STALL_SECONDS = 30.0
HELD_ANSWERS = 100  # answers kept back until the first status (the rate limit allows 100 messages a second)
CLOSE_TRY_AGAIN_LATER = 1013

EVENT, ANSWER, STATUS = "event", "answer", "status"  # what a queued frame is

WantStatus = Callable[["ClientChannel"], None]  # ask the session for a fresh `status` (delivered later)


class ClientChannel:
    def __init__(
        self,
        connection: ServerConnection,
        client_id: str,
        session_id: str,
        want_status: WantStatus,
        dialect: str = "v1",
    ) -> None:
        self.connection = connection
        self.dialect = dialect  # "v1", or "br3" for BuildRunner 3's own web client (protocol.md, Dialects)
        self.client_id = client_id
        self.session_id = session_id
        self.topics: frozenset[str] = TOPICS
        self.greeted = False  # `connection` sent (it goes out with the first status)
        self._want_status = want_status
        self._held: list[str] = []  # answers to input that came before the `connection` frame went out
        self._queue: deque[tuple[str, str]] = deque()  # (what, frame)
        self.queued_bytes = 0
        self.lagging = False
        self.awaiting_status = False
        self.floor_seq = 0  # events at or below this seq are already contained in what was sent
        self._wake = asyncio.Event()
        self._stuck_since: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.frames_sent = 0  # counted for /metrics
        self.lag_episodes = 0

    # ---------------------------------------------------------------- producing (the server thread)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._send_forever(), name=f"send:{self.client_id}")

    def send_answer(self, frame: str) -> None:
        """An answer to the client's own input (pong, subscribed, error): within the budget, else dropped."""
        if self.queued_bytes > SEND_BUDGET or len(self._held) > HELD_ANSWERS:
            return  # it is not reading its answers; the stall rule will close it
        if not self.greeted:
            self._held.append(frame)  # `connection` must be the first frame
            return
        self._push(frame, ANSWER)

    def request_status(self) -> None:
        """Ask for a fresh `status`; events wait for it (those before it are in it)."""
        if self.awaiting_status:
            return
        self.awaiting_status = True
        self._want_status(self)

    def deliver_status(self, frames: Sequence[str], seq: int, greeting: str | None = None) -> None:
        """The session's state at `seq` in this client's dialect, shared by every client of it: one `status`
        frame (v1), or one update per item and a `build_progress` (br3); `greeting` is the `connection` frame
        to send first."""
        self.awaiting_status = False
        self.floor_seq = max(self.floor_seq, seq)
        held: list[str] = []
        if greeting is not None:
            self.greeted = True
            self._push(greeting, ANSWER)
            held, self._held = self._held, []
        if any(what == STATUS for what, _ in self._queue):
            # An older status still waits: this one supersedes it and every event queued after it.
            kept = [(what, f) for what, f in self._queue if what == ANSWER]
            self._drop_queue()
            for what, queued in kept:
                self._push(queued, what)
        for frame in frames:
            self._push(frame, STATUS)
        for answer in held:  # answers to input that came early: after `connection` and the first status
            self._push(answer, ANSWER)

    def offer_event(self, event: EventFrame) -> None:
        """An event for everyone on this session; its frame is shared by all clients."""
        if self.awaiting_status or self.lagging or event.seq <= self.floor_seq or event.topic not in self.topics:
            return
        if self.queued_bytes > SEND_BUDGET:
            self.lagging = True  # drop events from here on; a fresh status replaces them once drained
            self.lag_episodes += 1
            self._wake.set()  # the sender waits for the socket to drain, then asks for the status
            return
        if self.dialect == "v1":
            self._push(event.frame, EVENT)
            return
        for frame in event.br3:
            self._push(frame, EVENT)

    def restart_from(self, events: Iterable[EventFrame], floor_seq: int) -> None:
        """Resume: forget queued events (a queued status and answers stay), then send the events after the
        client's seq that it has not already got in a status."""
        kept = [(what, frame) for what, frame in self._queue if what != EVENT]
        self._drop_queue()
        for what, frame in kept:
            self._push(frame, what)
        floor = max(self.floor_seq, floor_seq)
        topics = self.topics
        for event in events:
            if event.seq > floor and event.topic in topics:
                for frame in (event.frame,) if self.dialect == "v1" else event.br3:
                    self._push(frame, EVENT)
        self.floor_seq = floor

    def _push(self, frame: str, what: str) -> None:
        if not self._queue and self._write_now(frame):
            return
        self._queue.append((what, frame))
        self.queued_bytes += len(frame)
        self._wake.set()

    def _write_now(self, frame: str) -> bool:
        """Write a small frame straight to the socket when nothing is waiting and the socket keeps up."""
        connection = self.connection
        if (
            len(frame) > DIRECT_FRAME_BYTES
            or connection.protocol.state is not State.OPEN
            or connection.send_in_progress is not None
            or self._unsent() > DIRECT_BUFFER_BYTES
        ):
            return False
        try:
            connection.protocol.send_text(frame.encode())
            connection.send_data()
            self.frames_sent += 1
        except Exception:  # a connection closing under us: the queue path reports it properly
            log.debug("direct write to %s failed", self.client_id, exc_info=True)
            return False
        return True

    def _unsent(self) -> int:
        transport = self.connection.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def _unread(self) -> int:
        """What the client has not taken yet: the transport's buffer plus the kernel's send queue. The kernel
        queue grows to megabytes for a client that reads a little now and then, while the transport's buffer
        keeps emptying into it; only counting both sees that client as not draining."""
        transport = self.connection.transport
        if transport is None:
            return 0
        raw = transport.get_extra_info("socket")
        kernel = kernel_unsent(raw.fileno()) if raw is not None else 0
        return transport.get_write_buffer_size() + kernel

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
                    _, frame = self._queue.popleft()  # taken before `send` can suspend: order is kept
                    self.queued_bytes -= len(frame)
                    await self.connection.send(frame)
                    self.frames_sent += 1
                    await asyncio.sleep(0)  # to the back of the line: every client's first frame goes out first
                if self.lagging:
                    await self.connection.drain()  # what was written directly must reach the client first
                    self.lagging = False
                    self.request_status()
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sending to client %s failed", self.client_id)
            await self.connection.close(1011, "internal error")

    def stalled(self, now: float) -> bool:
        """True once the client has not drained for `STALL_SECONDS` (checked about once a second): only an
        empty queue with nearly nothing unread in the socket's buffers counts, never a single completed send."""
        if not self._queue and not self.lagging and self._unread() <= DRAINED_BYTES:
            self._stuck_since = None
            return False
        if self._stuck_since is None:
            self._stuck_since = now
        return now - self._stuck_since > STALL_SECONDS

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
