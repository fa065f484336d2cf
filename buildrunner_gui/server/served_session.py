"""One session as the server's thread knows it: its clients, its position, its replay and its `status` frame.

The session's store lives on its owner's thread (the GUI thread in the window) and is never touched here. The
owner hands over each batch of events (encoded here, once for every client of a dialect) and, when asked, the
store's state encoded for a dialect: the `status` frame (v1), or the br3 dialect's catch-up updates. Both arrive
through one ordered mailbox, so every event that state contains arrived before it: a client waiting for it can
ignore events until it comes, and lose nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import __version__
from ..model.clock import utc_now_iso
from ..model.messages import EVENT_TOPICS, PROTOCOL_VERSION, Message
from ..model.snapshot_frame import MAX_STATUS_BYTES, encode
from . import channel as channel_rules
from .br3_dialect import DIALECTS, translate
from .channel import ClientChannel
from .frame_replay import EventFrame, FrameReplay

AskStatus = Callable[[str, str], None]  # ask the owner for a session's state in a dialect (it calls `status_ready`)


class ServedSession:
    def __init__(self, session_id: str, epoch: str, seq: int, ask_status: AskStatus) -> None:
        self.session_id = session_id
        self.epoch = epoch
        self.seq = seq
        self.channels: set[ClientChannel] = set()
        self.replay = FrameReplay()
        self._ask_status = ask_status
        # Per dialect: the newest state frames received and their seq, who waits for them, whether they are asked.
        self._status: dict[str, tuple[list[str], int]] = {}
        self._waiting: dict[str, list[ClientChannel]] = {dialect: [] for dialect in DIALECTS}
        self._asked: set[str] = set()

    # ---------------------------------------------------------------- from the owner (in order)

    def publish(self, batch: list[Message]) -> None:
        channels = self.channels
        br3 = any(channel.dialect == "br3" for channel in channels)  # translated only while someone reads it
        for message in batch:
            frames = tuple(encode(m) for m in translate(message)) if br3 else ()
            event = EventFrame(message["seq"], EVENT_TOPICS[message["type"]], encode(message), frames)
            self.seq = max(self.seq, event.seq)
            self.replay.add(event)
            for channel in channels:
                channel.offer_event(event)

    def status_ready(self, dialect: str, frames: list[str], seq: int) -> None:
        self._status[dialect] = (frames, seq)
        self.seq = max(self.seq, seq)  # a big batch may still be on its way: its events are in these frames
        self._asked.discard(dialect)
        waiting, self._waiting[dialect] = self._waiting[dialect], []
        for channel in waiting:
            if channel in self.channels:
                self._deliver(channel, frames, seq)

    # ---------------------------------------------------------------- for its clients

    def want_status(self, channel: ClientChannel) -> None:
        """Give `channel` the current state in its dialect: now if the newest is current, else once it arrives."""
        dialect = channel.dialect
        known = self._status.get(dialect)
        if known is not None and known[1] >= self.seq:
            self._deliver(channel, *known)
            return
        self._waiting[dialect].append(channel)
        if dialect not in self._asked:
            self._asked.add(dialect)
            self._ask_status(self.session_id, dialect)

    def resume(self, channel: ClientChannel, epoch: str, last_seq: int) -> None:
        """Exactly the events after `last_seq` when they are kept and fit the client's budget; else a status."""
        if not channel.greeted:
            return  # its first status is on its way and holds all of them; `connection` must come first
        if epoch == self.epoch and last_seq == self.seq:
            channel.restart_from((), last_seq)
            return
        budget = channel_rules.SEND_BUDGET
        events = self.replay.after(last_seq, budget) if epoch == self.epoch else None
        if events is None or channel.lagging or channel.queued_bytes > budget // 2:
            channel.request_status()
        else:
            channel.restart_from(events, last_seq)

    def control(self, message_type: str, **body: Any) -> str:
        """A message that is not an event, encoded: it carries the session's current seq."""
        message: Message = {
            "type": message_type,
            "session_id": self.session_id,
            "epoch": self.epoch,
            "seq": self.seq,
            "timestamp": utc_now_iso(),
        }
        message.update(body)
        return encode(message)

    def _deliver(self, channel: ClientChannel, frames: list[str], seq: int) -> None:
        greeting = None
        if not channel.greeted:
            greeting = self.control(
                "connection",
                status="connected",
                client_id=channel.client_id,
                server_version=__version__,
                protocol_version=PROTOCOL_VERSION,
                max_frame=max([MAX_STATUS_BYTES, *(len(frame) for frame in frames)]),
            )
        channel.deliver_status(frames, seq, greeting)
