"""Calls handed from one thread to an asyncio loop on another, run there in the order they were posted.

The bridge is a lock, a list and one wake-up per burst (the shape of the watcher's bridge): however many calls a
thread posts while the receiving loop is busy, that loop gets one `call_soon_threadsafe` and runs them all in one
pass. One mailbox per direction keeps every call in order, which the server relies on: a session's events and its
`status` frames reach the server thread in the order the owner produced them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Mailbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def post(self, call: Callable[..., Any], *args: Any) -> None:
        """Run `call(*args)` on the loop's thread, after everything posted before it (callable from any thread)."""
        with self._lock:
            self._calls.append((call, args))
            if len(self._calls) > 1:
                return  # a wake-up is already on its way
        try:
            self.loop.call_soon_threadsafe(self._run_posted)
        except RuntimeError:  # the loop is closed: nothing will ever run there again
            with self._lock:
                self._calls.clear()

    def _run_posted(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for call, args in calls:
            try:
                call(*args)
            except Exception:
                log.exception("a call posted to %s failed", self.loop)
