"""Following an upstream session from its messages alone (sans-I/O): what a mirror or a relay does with frames.

`UpstreamFollower` keeps the upstream's position (`epoch`, `seq`) apart from its own store's numbering: a
`status` is news when it is of another epoch or a later seq, and then replaces the store's state (with the
catch-up events that bring the store's own clients along); an event is news when it is of the same epoch
and a later seq, and is published into the store. The mirror client (`sources/remote.py`) feeds it frames.
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


def read_upstream_frame(frame: str | bytes) -> Message | None:
    """A frame from upstream as a message (None: a type this version does not know, skipped);
    MalformedFrame, with a one-line reason, for anything else that is not a valid protocol message."""
    if not isinstance(frame, str):
        raise MalformedFrame("a binary frame (the protocol sends JSON text)")
    try:
        value: Any = json.loads(frame)
    except (ValueError, RecursionError):
        raise MalformedFrame("a frame that is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise MalformedFrame("a frame that is not a message (a JSON object with a type)")
    if value["type"] not in KNOWN_TYPES:
        return None  # from a newer server: nothing this version can show
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
        self._clock = clock

    @property
    def loaded(self) -> bool:
        return self.epoch is not None

    def resume_request(self) -> Message | None:
        """What to send upstream after a reconnect: resume from the last event applied (None: nothing yet)."""
        if self.epoch is None:
            return None
        return {"type": "resume", "epoch": self.epoch, "last_seq": self.seq}

    def is_news(self, message: Message) -> bool:
        """An upstream event this store does not hold yet (an `error` answer carries the current seq: not news)."""
        kind = message.get("type")
        if kind in NOT_EVENTS or kind == "status":
            return False
        seq = message.get("seq")
        return message.get("epoch") == self.epoch and isinstance(seq, int) and seq > self.seq

    def take_event(self, message: Message) -> bool:
        """Note an upstream event; True when it should be published into the store (the caller batches them).
        An upstream `source_update` moves the position but is not taken: this store's source is its own."""
        if not self.is_news(message):
            return False
        self.seq = message["seq"]
        return message["type"] != "source_update"

    def take_status(self, status: Message) -> list[Message] | None:
        """A `status` from upstream: None when it holds nothing new; else the published catch-up events."""
        if status.get("epoch") == self.epoch and status.get("seq", -1) <= self.seq:
            return None
        self.epoch, self.seq = status["epoch"], status["seq"]
        state = status["state"]
        return self.store.reload(state, events_between(self.store.snapshot(), state, self._clock()))
