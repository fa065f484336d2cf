"""How long a mirror waits before its next connection attempt: exponential backoff with jitter.

The wait doubles from `start` up to `limit`; each one is drawn between half of it and all of it ("equal jitter"),
so mirrors that lost the same server do not all knock again at the same instant. `reset()` after a connection
that reached live: the next loss is retried soon again.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(self, start: float, limit: float, draw: Callable[[], float] = random.random) -> None:
        self.start = start
        self.limit = limit
        self._draw = draw  # in [0, 1): the jitter; tests pass their own
        self._next = start

    def reset(self) -> None:
        self._next = self.start

    def next_delay(self) -> float:
        """The wait before the next attempt (seconds); every call doubles the one after it, up to `limit`."""
        ceiling = min(self._next, self.limit)
        self._next = min(ceiling * 2, self.limit)
        return ceiling * (0.5 + self._draw() / 2)
