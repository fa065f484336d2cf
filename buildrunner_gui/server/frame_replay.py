"""The events a resuming client may be sent, kept as the frames already encoded for everyone (protocol.md: the
last 10,000 events), so a `resume` costs list slicing and never a re-encoding.

Kept by count and by bytes. A resume is answered from here only while the frames it needs add up to at most
the client's send budget; beyond that a `status` is the cheaper answer (and the one protocol.md allows when
the events are no longer all kept).
"""

from __future__ import annotations

from dataclasses import dataclass

REPLAY_EVENTS = 10_000
REPLAY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class EventFrame:
    seq: int
    topic: str
    frame: str  # v1
    br3: tuple[str, ...] = ()  # the br3 dialect's frames for it, when a br3 client is connected


class FrameReplay:
    def __init__(self, max_events: int = REPLAY_EVENTS, max_bytes: int = REPLAY_BYTES) -> None:
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._frames: list[EventFrame] = []
        self._ends: list[int] = []  # running total of frame sizes, so any tail's size is one subtraction
        self._start = 0  # frames before this index are dropped (compacted now and then)

    def __len__(self) -> int:
        return len(self._frames) - self._start

    @property
    def byte_size(self) -> int:
        """Bytes of the v1 frames kept (for /metrics)."""
        if not len(self):
            return 0
        return self._ends[-1] - (self._ends[self._start - 1] if self._start else 0)

    def add(self, event: EventFrame) -> None:
        if len(self) and event.seq != self._frames[-1].seq + 1:
            self.clear()  # a gap: nothing before it could be replayed without it
        total = (self._ends[-1] if self._ends else 0) + len(event.frame)
        self._frames.append(event)
        self._ends.append(total)
        self._trim()

    def clear(self) -> None:
        self._frames.clear()
        self._ends.clear()
        self._start = 0

    def after(self, last_seq: int, budget: int) -> list[EventFrame] | None:
        """The frames after `last_seq`, or None when some are not kept or together they exceed `budget` bytes."""
        if not len(self):
            return None
        first = self._frames[self._start].seq
        newest = self._frames[-1].seq
        if last_seq == newest:
            return []
        if last_seq < first - 1 or last_seq > newest:
            return None
        index = self._start + (last_seq + 1 - first)
        before = self._ends[index - 1] if index else 0
        if self._ends[-1] - before > budget:
            return None
        return self._frames[index:]

    def _trim(self) -> None:
        base = self._ends[self._start - 1] if self._start else 0
        while len(self) > self._max_events or self._ends[-1] - base > self._max_bytes:
            self._start += 1
            base = self._ends[self._start - 1]
        if self._start > 1024 and self._start * 2 > len(self._frames):
            del self._frames[: self._start]
            del self._ends[: self._start]
            self._start = 0
