"""One monitored project, kept current on a thread of its own (no Qt here).

watchdog observers name changed paths; this thread reads and parses them, diffs them (`ProjectDiffer`) and
hands the resulting events to `deliver` (the Qt bridge takes them to the GUI thread, where the store
publishes them). Reads, parsing and diffing therefore never run on the GUI thread.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from ..model.classify import STATE_DIR
from ..model.derive import ProjectDiffer
from ..model.inputs import FileFailed, Notice, SourceInput
from ..model.messages import Message
from .change_queue import ChangeQueue
from .reader import ProjectReader
from .watch_events import ChangeForwarder

log = logging.getLogger(__name__)

RETRY_DELAY = 0.1  # a file that fails to parse right after a change is read once more after this long
RESCAN_INTERVAL = 10.0  # the safety net for events the OS dropped
POLL_INTERVAL = 1.0
_WATCH_LIMIT_ERRORS = (errno.ENOSPC, errno.EMFILE, errno.ENFILE)

ObserverFactory = Callable[[], BaseObserver]


class ProjectWorker:
    def __init__(
        self,
        differ: ProjectDiffer,
        root: str,
        deliver: Callable[[list[Message], bool], None],
        name: str = "project",
        rescan_interval: float = RESCAN_INTERVAL,
        retry_delay: float = RETRY_DELAY,
        observer_factory: ObserverFactory = Observer,
    ) -> None:
        self.differ = differ
        self.reader = ProjectReader(root)
        self.polling = False
        self._deliver = deliver
        self._rescan_interval = rescan_interval
        self._retry_delay = retry_delay
        self._observer_factory = observer_factory
        self._queue = ChangeQueue()
        self._forwarder = ChangeForwarder(self.reader.root, self._queue)
        self._observer: BaseObserver | None = None
        self._state_watch: ObservedWatch | None = None
        self._thread = threading.Thread(target=self._run, name=f"project:{name}", daemon=True)
        self.loaded = threading.Event()

    # ---------------------------------------------------------------- lifecycle (any thread)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.close()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._stop_observer()

    # ---------------------------------------------------------------- the reader thread

    def _run(self) -> None:
        try:
            self._apply(self.reader.scan(), first=True)
            self._start_observer()
            self.loaded.set()
            self._watch_loop()
        except Exception as exc:  # keep the app alive; say what broke
            log.exception("project monitor stopped")
            notice = Notice(f"monitoring stopped after an internal error: {type(exc).__name__}: {exc}")
            self._apply([notice], first=not self.loaded.is_set())
        finally:
            self.loaded.set()

    def _watch_loop(self) -> None:
        next_rescan = time.monotonic() + self._rescan_interval
        while not self._queue.closed:
            pending, retries = self._queue.take(next_rescan)
            if self._queue.closed:
                return
            inputs: list[SourceInput] = []
            for rel, hint in pending.items():
                result = self.reader.sync(rel, hint)
                held = set(result.failed)
                # A writer is often mid-write: hold a fresh failure back and read the file once more shortly.
                inputs.extend(
                    entry for entry in result.inputs if not (isinstance(entry, FileFailed) and entry.path in held)
                )
                for path in held:
                    self._queue.retry_later(path, self._retry_delay)
                self._queue.put_many(result.more)
            for rel in retries:
                result = self.reader.sync(rel)
                inputs.extend(result.inputs)
                self._queue.put_many(result.more)
            if inputs:
                self._apply(inputs)
            self._sync_state_watch()
            if time.monotonic() >= next_rescan:
                self._queue.put_many(self.reader.stale_paths())
                next_rescan = time.monotonic() + self._rescan_interval

    def _apply(self, inputs: list[SourceInput], first: bool = False) -> None:
        """Diff and hand on; the first scan is handed on even when it found nothing (the state is in)."""
        messages = self.differ.apply(inputs)
        if messages or first:
            self._deliver(messages, first)

    # ---------------------------------------------------------------- observers

    def _start_observer(self) -> None:
        try:
            self._observer = self._new_observer(self._observer_factory)
        except OSError as exc:
            if exc.errno not in _WATCH_LIMIT_ERRORS:
                raise
            self._fall_back_to_polling(exc)

    def _new_observer(self, factory: ObserverFactory) -> BaseObserver:
        observer = factory()
        try:
            observer.schedule(self._forwarder, self.reader.root, recursive=False)
            observer.start()
            self._state_watch = None
            self._schedule_state_dir(observer)
        except BaseException:
            _stop_quietly(observer)
            raise
        return observer

    def _fall_back_to_polling(self, exc: OSError) -> None:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        log.warning("inotify limit reached (%s); watching %s by polling", reason, self.reader.root)
        self.polling = True
        self._observer = self._new_observer(lambda: PollingObserver(timeout=POLL_INTERVAL))
        self._apply(
            [
                Notice(
                    f"file watching limit reached ({reason}); polling every {POLL_INTERVAL:g} s instead"
                    " (raise fs.inotify.max_user_watches / max_user_instances to fix)"
                )
            ]
        )

    def _schedule_state_dir(self, observer: BaseObserver) -> None:
        state_dir = os.path.join(self.reader.root, STATE_DIR)
        if os.path.isdir(state_dir):
            self._state_watch = observer.schedule(self._forwarder, state_dir, recursive=True)
            # Files written between the scan and this watch would be missed: re-check the tree once.
            self._queue.put(STATE_DIR)

    def _sync_state_watch(self) -> None:
        """`.buildrunner/` needs its own recursive watch; a deleted folder's watch dies with it."""
        observer = self._observer
        if observer is None:
            return
        present = self.reader.state_dir_present
        if present and self._state_watch is None:
            try:
                self._schedule_state_dir(observer)
            except OSError as exc:
                if exc.errno not in _WATCH_LIMIT_ERRORS or self.polling:
                    raise
                _stop_quietly(observer)
                self._fall_back_to_polling(exc)
        elif not present and self._state_watch is not None:
            with contextlib.suppress(KeyError, OSError):
                observer.unschedule(self._state_watch)
            self._state_watch = None

    def _stop_observer(self) -> None:
        if self._observer is not None:
            _stop_quietly(self._observer)
            self._observer = None


def _stop_quietly(observer: BaseObserver) -> None:
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(5.0)
    except Exception:
        log.debug("observer stop failed", exc_info=True)
