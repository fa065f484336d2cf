"""watchdog's side: turn file-system events into project-relative paths on the change queue."""

from __future__ import annotations

import logging
import os

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from ..model.classify import is_relevant
from .change_queue import ChangeQueue

log = logging.getLogger(__name__)


class ChangeForwarder(FileSystemEventHandler):
    """Runs on watchdog's thread. It only names paths; reading happens on the reader thread.

    Every exception is caught: one escaping a handler silently kills watchdog's observer thread."""

    def __init__(self, root: str, queue: ChangeQueue) -> None:
        self._root = root
        self._prefix = root.rstrip(os.sep) + os.sep
        self._queue = queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.event_type in ("opened", "closed_no_write"):
                return
            if event.is_directory and event.event_type == "modified":
                return  # a folder's own "modified" says only that a child changed, which has its own event
            if event.event_type == "moved":
                self._forward(event.src_path, "moved")
                self._forward(event.dest_path, None)
            else:
                self._forward(event.src_path, None)
        except Exception:
            log.exception("file event %r dropped; the periodic re-scan will repair it", event)

    def _forward(self, path: str | bytes, hint) -> None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not path.startswith(self._prefix):
            return
        rel = path[len(self._prefix) :].replace(os.sep, "/")
        if rel and is_relevant(rel):
            self._queue.put(rel, hint)
