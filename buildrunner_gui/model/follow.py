"""Following an upstream session from its messages alone (sans-I/O): what a mirror or a relay does with frames.

`UpstreamFollower` keeps the upstream's position (`epoch`, `seq`) apart from its own store's numbering: a
`status` is news when it is of another epoch or a later seq, and then replaces the store's state (with the
catch-up events that bring the store's own clients along); an event is news when it is of the same epoch
and a later seq, and is published into the store. The mirror client (`sources/remote.py`) feeds it frames and
sends upstream what `requests()` hands out.

A gap (an event whose seq is past the next one) means events were lost: the follower asks for a `status` and
takes no event until it comes. So the store only ever holds a state the upstream itself had: the events before
the gap, then the status's state, which contains everything after it (applying the events past the gap first
would show a state that never existed, e.g. a feature's update without the one before it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from .catch_up import events_between
from .clock import utc_now_iso
from .messages import EVENT_TOPICS, SERVER_MESSAGE, Message
from .store import SessionStore

NOT_EVENTS = frozenset(("connection", "pong", "subscribed"))
KNOWN_TYPES = frozenset((*EVENT_TOPICS, *NOT_EVENTS, "status", "error"))


class MalformedFrame(ValueError):
    """A frame from upstream that breaks the protocol: the mirror says so and reconnects."""


def read_upstream_frame(frame: str | bytes) -> Message:
    """A frame from upstream as a message; MalformedFrame, with a one-line reason, for anything that is not a
    valid protocol message. A type this version does not know (from a newer server) comes back unchecked: it
    is never published, but an event of it still moves the position (or the next event would look like a gap)."""
    if not isinstance(frame, str):
        raise MalformedFrame("a binary frame (the protocol sends JSON text)")
    try:
        value: Any = json.loads(frame)
    except (ValueError, RecursionError):
        raise MalformedFrame("a frame that is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise MalformedFrame("a frame that is not a message (a JSON object with a type)")
    if value["type"] not in KNOWN_TYPES:
        return value
    try:
        SERVER_MESSAGE.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "message"
        raise MalformedFrame(f"a {value['type']} message with a bad {where}: {first['msg']}") from None
    return value


class UpstreamFollower:
    def __init__(self, store: SessionStore, clock: Callable[[], str] = utc_now_iso) -> None:
        self.store = store
        self.epoch: str | None = None
        self.seq = -1
        self.awaiting_status = False  # after a gap: no event is taken until a status comes
        self.gaps = 0  # how many gaps were seen (for logs and tests)
        self._clock = clock
        self._requests: list[Message] = []

    @property
    def loaded(self) -> bool:
        return self.epoch is not None

    def resume_request(self) -> Message | None:
        """What to send upstream after a reconnect: resume from the last event applied (None: nothing yet)."""
        if self.epoch is None:
            return None
        return {"type": "resume", "epoch": self.epoch, "last_seq": self.seq}

    def connected(self) -> None:
        """A new connection upstream: what was asked on the old one is void; resume from the last event applied
        (its answer is exactly the events after it, or a status, so a gap seen before is closed either way)."""
        self.awaiting_status = False
        resume = self.resume_request()
        self._requests = [] if resume is None else [resume]

    def requests(self) -> list[Message]:
        """The messages to send upstream now (each handed out once)."""
        requests, self._requests = self._requests, []
        return requests

    def is_news(self, message: Message) -> bool:
        """An upstream event this store does not hold yet (an `error` answer carries the current seq: not news)."""
        kind = message.get("type")
        if kind in NOT_EVENTS or kind == "status":
            return False
        seq = message.get("seq")
        return message.get("epoch") == self.epoch and isinstance(seq, int) and seq > self.seq

    def take_event(self, message: Message) -> bool:
        """Note an upstream event; True when it should be published into the store (the caller batches them).
        An upstream `source_update` moves the position but is not taken: this store's source is its own; nor is
        a type this version does not know. An event past a gap is not taken: a `request_status` is queued."""
        if self.awaiting_status or not self.is_news(message):
            return False
        seq = message["seq"]
        if seq > self.seq + 1:
            self.awaiting_status = True
            self.gaps += 1
            self._requests.append({"type": "request_status"})
            return False
        self.seq = seq
        return message["type"] in EVENT_TOPICS and message["type"] != "source_update"

    def take_status(self, status: Message) -> list[Message] | None:
        """A `status` from upstream: None when it holds nothing new; else the published catch-up events."""
        self.awaiting_status = False  # any status: the events after it follow it without a gap
        if status.get("epoch") == self.epoch and status.get("seq", -1) <= self.seq:
            return None
        self.epoch, self.seq = status["epoch"], status["seq"]
        state = status["state"]
        return self.store.reload(state, events_between(self.store.snapshot(), state, self._clock()))
