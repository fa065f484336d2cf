"""watchdog's side: the watches one project needs, and their events turned into paths on the change queue.

A project needs three watches: its folder (not recursive: `PROJECT_SPEC.md` and `.buildrunner` itself),
`.buildrunner/` (recursive) and the nearest existing folder above the project, the *anchor* (its parent
while it exists). A watch dies with the folder it watches, and a folder replaced at once (`rm -rf x &&
cp -r y x`) leaves a watch that looks alive but sees nothing; the anchor and the project folder report
such replacements, and `WatchKeeper.keep()` puts a fresh watch on whatever is there now.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import threading
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, ObservedWatch

from ..model.classify import STATE_DIR, is_relevant
from ..model.messages import ChangeType
from .change_queue import ChangeQueue

log = logging.getLogger(__name__)

ANCHOR, ROOT, STATE = "anchor", "root", "state"
LIMIT_ERRORS = (errno.ENOSPC, errno.EMFILE, errno.ENFILE)  # inotify's limits: fall back to polling
ALL_WATCHES = frozenset((ANCHOR, ROOT, STATE))
_STRUCTURAL = ("created", "deleted", "moved")  # the events that can replace a watched folder
# The anchor only matters for folders appearing, vanishing or moving; this also keeps the OS from sending
# the writes of a busy parent folder.
_ANCHOR_EVENTS: list[type[FileSystemEvent]] = [
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
]
_MAX_ROUNDS = 5  # keep() re-checks after scheduling, as long as the folders keep changing under it

Identity = tuple[int, int]  # (st_dev, st_ino) of a folder


def _decode(path: str | bytes) -> str:
    return os.fsdecode(path) if isinstance(path, bytes) else path


def _event_paths(event: FileSystemEvent) -> list[str]:
    paths = [_decode(event.src_path)]
    if event.event_type == "moved" and event.dest_path:
        paths.append(_decode(event.dest_path))
    return paths


class ChangeForwarder(FileSystemEventHandler):
    """Runs on watchdog's thread for the project folder and `.buildrunner/`. It only names paths; reading
    happens on the reader thread.

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
                self._forward(event.src_path, "moved", event.event_type)
                self._forward(event.dest_path, None, event.event_type)
            else:
                self._forward(event.src_path, None, event.event_type)
        except Exception:
            log.exception("file event %r dropped; the periodic re-scan will repair it", event)

    def _forward(self, path: str | bytes, hint: ChangeType | None, event_type: str) -> None:
        path = _decode(path)
        if path == self._root:  # the project folder's own watch saw it vanish
            self._queue.check_watches(ALL_WATCHES)
            return
        if not path.startswith(self._prefix):
            return
        rel = path[len(self._prefix) :].replace(os.sep, "/")
        if rel == STATE_DIR and event_type in _STRUCTURAL:
            self._queue.check_watches({STATE})  # a new folder under the old name needs a new watch
        if rel and is_relevant(rel):
            self._queue.put(rel, hint)


class AnchorForwarder(FileSystemEventHandler):
    """Runs on watchdog's thread for the anchor: the project folder, or a folder on the way to it,
    appeared, vanished or moved."""

    def __init__(self, root: str, queue: ChangeQueue) -> None:
        self._root = root
        self._queue = queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.event_type in _STRUCTURAL and any(self._on_the_way(p) for p in _event_paths(event)):
                self._queue.check_watches(ALL_WATCHES)
        except Exception:
            log.exception("folder event %r dropped; the periodic check will repair it", event)

    def _on_the_way(self, path: str) -> bool:
        return path == self._root or self._root.startswith(path.rstrip(os.sep) + os.sep)


@dataclass
class _Watch:
    path: str
    watch: ObservedWatch
    identity: Identity


@dataclass
class WatchReport:
    """What `keep()` found. `renewed`: watches that are new, so what they cover must be read again;
    `settled`: False when the folders kept changing while the watches were placed (check again soon);
    `failed`: watches that could not be placed, with the reason."""

    root_present: bool
    anchor: str | None
    renewed: set[str] = field(default_factory=set)
    settled: bool = True
    failed: dict[str, OSError] = field(default_factory=dict)


class WatchKeeper:
    """The watches of one observer for one project. Used from the reader thread only."""

    def __init__(self, root: str, queue: ChangeQueue) -> None:
        self.root = root
        self.state_dir = os.path.join(root, STATE_DIR)
        changes = ChangeForwarder(root, queue)
        self._handlers: dict[str, FileSystemEventHandler] = {
            ANCHOR: AnchorForwarder(root, queue),
            ROOT: changes,
            STATE: changes,
        }
        self._watches: dict[str, _Watch] = {}
        self.observer: BaseObserver | None = None

    def attach(self, observer: BaseObserver) -> None:
        """Take a started observer with nothing scheduled; `keep()` places the watches."""
        self.observer = observer
        self._watches.clear()

    def detach(self) -> BaseObserver | None:
        observer, self.observer = self.observer, None
        self._watches.clear()
        return observer

    def observer_alive(self) -> bool:
        """The observer's threads run. inotify's reading thread (one per observer) is checked too: should it
        die, every watch of the observer goes quiet while looking healthy."""
        observer = self.observer
        if observer is None or not observer.is_alive():
            return False
        reader = getattr(observer, "_inotify_fd", None)
        return not isinstance(reader, threading.Thread) or reader.is_alive()

    def keep(self, renew: Collection[str] = ()) -> WatchReport:
        """Bring the watches in line with the folders on disk now. Raises OSError only for limits
        (ENOSPC, EMFILE, ENFILE): the caller falls back to polling."""
        report = WatchReport(root_present=False, anchor=None, settled=False)
        forced = set(renew)
        for _ in range(_MAX_ROUNDS):
            layout = self._layout()
            anchor, anchor_id, root_id, state_id = layout
            self._keep(ANCHOR, anchor, anchor_id, False, forced, report)
            root_watched = self._keep(ROOT, self.root, root_id, False, forced, report)
            self._keep(STATE, self.state_dir, state_id if root_watched else None, True, forced, report)
            forced.clear()
            if self._layout() == layout:  # nothing moved while the watches were placed
                report.settled = True
                break
        report.root_present = ROOT in self._watches
        report.anchor = self._watches[ANCHOR].path if ANCHOR in self._watches else None
        return report

    def _layout(self) -> tuple[str | None, Identity | None, Identity | None, Identity | None]:
        anchor = _nearest_existing_parent(self.root)
        return anchor, _identity(anchor), _identity(self.root), _identity(self.state_dir)

    def _keep(
        self,
        slot: str,
        path: str | None,
        identity: Identity | None,
        recursive: bool,
        forced: set[str],
        report: WatchReport,
    ) -> bool:
        """One watch: replaced when forced, dead, or on another folder than the one at `path` now."""
        current = self._watches.get(slot)
        if current is not None and (
            slot in forced or current.path != path or current.identity != identity or not self._alive(current)
        ):
            self._drop(slot)
            current = None
        if current is None and path is not None and identity is not None:
            watch = self._schedule(slot, path, recursive, report)
            if watch is not None:
                self._watches[slot] = _Watch(path, watch, identity)
                report.renewed.add(slot)
                report.failed.pop(slot, None)
        return slot in self._watches

    def _schedule(self, slot: str, path: str, recursive: bool, report: WatchReport) -> ObservedWatch | None:
        assert self.observer is not None
        event_filter = _ANCHOR_EVENTS if slot == ANCHOR else None
        try:
            return self.observer.schedule(self._handlers[slot], path, recursive=recursive, event_filter=event_filter)
        except (FileNotFoundError, NotADirectoryError):
            return None  # gone again already: the next round sees that
        except OSError as exc:
            if exc.errno in LIMIT_ERRORS:
                raise
            report.failed[slot] = exc
            return None

    def _alive(self, current: _Watch) -> bool:
        """A watch whose folder was deleted stops its emitter (watchdog does that itself); an emitter can
        also end on an error of its own."""
        assert self.observer is not None
        for emitter in list(self.observer.emitters):
            if emitter.watch == current.watch:
                return emitter.is_alive() and not emitter.stopped_event.is_set()
        return False

    def _drop(self, slot: str) -> None:
        current = self._watches.pop(slot)
        if self.observer is not None:
            with contextlib.suppress(KeyError, OSError):
                self.observer.unschedule(current.watch)  # joins its emitter: no thread outlives its watch


def quiet_watchdog_races() -> None:
    """watchdog warns (RuntimeWarning) when a folder's watch is added twice, or removed after the OS already
    dropped it: both happen when folders are replaced while watched, and both are harmless here. Where
    warnings are errors, such a warning would end inotify's reading thread. Called whenever an observer is
    made, so that the filter stays first even after warning filters were reset."""
    for message in (r"Callback with id .* already exists", r"Callback with id .* does not exist"):
        warnings.filterwarnings("ignore", message=message, category=RuntimeWarning, module=r"watchdog\.")


def _identity(path: str | None) -> Identity | None:
    """Which folder is at `path` now (None: none)."""
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None


def _nearest_existing_parent(path: str) -> str | None:
    current = os.path.dirname(path)
    while True:
        if os.path.isdir(current):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
