"""One session as the server's thread knows it: its clients, its position, its replay and its `status` frame.

The session's store lives on its owner's thread (the GUI thread in the window) and is never touched here. The
owner hands over each batch of events (encoded here, once for every client) and, when asked, the store's
encoded `status` frame. Both arrive through one ordered mailbox, so every event a `status` frame contains
arrived before it: a client waiting for a status can ignore events until it comes, and lose nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import __version__
from ..model.clock import utc_now_iso
from ..model.messages import EVENT_TOPICS, PROTOCOL_VERSION, Message
from ..model.snapshot_frame import MAX_STATUS_BYTES, encode
from . import channel as channel_rules
from .channel import ClientChannel
from .frame_replay import EventFrame, FrameReplay

AskStatus = Callable[[str], None]  # ask the owner for this session's status frame (it calls `status_ready`)


class ServedSession:
    def __init__(self, session_id: str, epoch: str, seq: int, ask_status: AskStatus) -> None:
        self.session_id = session_id
        self.epoch = epoch
        self.seq = seq
        self.channels: set[ClientChannel] = set()
        self.replay = FrameReplay()
        self._ask_status = ask_status
        self._status: tuple[str, int] | None = None  # the newest status frame received, and its seq
        self._waiting: list[ClientChannel] = []
        self._asked = False

    # ---------------------------------------------------------------- from the owner (in order)

    def publish(self, batch: list[Message]) -> None:
        channels = self.channels
        for message in batch:
            event = EventFrame(message["seq"], EVENT_TOPICS[message["type"]], encode(message))
            self.seq = max(self.seq, event.seq)
            self.replay.add(event)
            for channel in channels:
                channel.offer_event(event)

    def status_ready(self, frame: str, seq: int) -> None:
        self._status = (frame, seq)
        self.seq = max(self.seq, seq)  # a big batch may still be on its way: its events are in this frame
        self._asked = False
        waiting, self._waiting = self._waiting, []
        for channel in waiting:
            if channel in self.channels:
                self._deliver(channel, frame, seq)

    # ---------------------------------------------------------------- for its clients

    def want_status(self, channel: ClientChannel) -> None:
        """Give `channel` the current status frame: now if the newest one is current, else once it arrives."""
        if self._status is not None and self._status[1] >= self.seq:
            self._deliver(channel, *self._status)
            return
        self._waiting.append(channel)
        if not self._asked:
            self._asked = True
            self._ask_status(self.session_id)

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

    def _deliver(self, channel: ClientChannel, frame: str, seq: int) -> None:
        greeting = None
        if not channel.greeted:
            greeting = self.control(
                "connection",
                status="connected",
                client_id=channel.client_id,
                server_version=__version__,
                protocol_version=PROTOCOL_VERSION,
                max_frame=max(MAX_STATUS_BYTES, len(frame)),
            )
        channel.deliver_status(frame, seq, greeting)
