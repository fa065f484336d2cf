"""The hand-over between watchdog's threads and the reading thread: a set of paths waiting to be read.

A path waits at most once: while it waits, further events for it only refresh its hint, so a burst of
writes becomes one read of the newest content. The first event of a burst wakes the reader at once.
Events about the watched folders themselves (created, deleted, moved) ask the reader to look at its watches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..model.messages import ChangeType


@dataclass(frozen=True)
class Work:
    """What `take()` hands the reader: paths to read, paths due for a re-read, and whether to check the
    watches (`renew` names the watches to replace even if they look healthy)."""

    changed: dict[str, ChangeType | None]
    retries: list[str]
    check_watches: bool = False
    renew: frozenset[str] = frozenset()


_NOTHING = Work({}, [])


class ChangeQueue:
    def __init__(self) -> None:
        self._pending: dict[str, ChangeType | None] = {}
        self._retries: dict[str, float] = {}  # path -> monotonic time to re-read it
        self._check_watches = False
        self._renew: set[str] = set()
        self._condition = threading.Condition()
        self._closed = False

    def put(self, rel: str, hint: ChangeType | None = None) -> None:
        with self._condition:
            if hint == "moved" or rel not in self._pending:
                self._pending[rel] = hint
            self._retries.pop(rel, None)  # a fresh change supersedes a scheduled re-read
            self._condition.notify()

    def put_many(self, paths: list[str]) -> None:
        with self._condition:
            for rel in paths:
                self._pending.setdefault(rel, None)
            if paths:
                self._condition.notify()

    def check_watches(self, renew: Iterable[str] = ()) -> None:
        """A watched folder (or one on the way to it) was created, deleted or moved."""
        with self._condition:
            self._check_watches = True
            self._renew.update(renew)
            self._condition.notify()

    def retry_later(self, rel: str, delay: float) -> None:
        with self._condition:
            if rel not in self._pending:
                self._retries[rel] = time.monotonic() + delay
                self._condition.notify()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def take(self, deadline: float) -> Work:
        """Wait until there is work or `deadline` (monotonic) passes; return it (empty at the deadline)."""
        with self._condition:
            while not self._closed:
                now = time.monotonic()
                due = [rel for rel, at in self._retries.items() if at <= now]
                if self._pending or due or self._check_watches:
                    break
                wake_at = min([deadline, *self._retries.values()])
                if wake_at <= now:
                    break
                self._condition.wait(wake_at - now)
            else:
                return _NOTHING
            pending, self._pending = self._pending, {}
            for rel in due:
                del self._retries[rel]
            check, self._check_watches = self._check_watches, False
            renew, self._renew = frozenset(self._renew), set()
            return Work(pending, [rel for rel in due if rel not in pending], check, renew)
