"""One monitored project, kept current on a thread of its own (no Qt here).

watchdog observers name changed paths; this thread reads and parses them, diffs them (`ProjectDiffer`) and
hands the resulting events to `deliver` (the Qt bridge takes them to the GUI thread, where the store
publishes them). Reads, parsing and diffing therefore never run on the GUI thread.

The same thread keeps the watches alive (`watch_events.WatchKeeper`): after every batch, and at least once a
second, it checks that each watch still watches the folder now at its path, and says when it has to fall
back (the project folder missing: an `error`, project_missing; polling, and every recovery: `info` lines).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..model.classify import STATE_DIR
from ..model.derive import ProjectDiffer
from ..model.inputs import FileFailed, Notice, SourceInput
from ..model.messages import ChangeType, Message
from .change_queue import ChangeQueue, Work
from .reader import ProjectReader
from .watch_events import ALL_WATCHES, LIMIT_ERRORS, ROOT, STATE, WatchKeeper, WatchReport, quiet_watchdog_races

log = logging.getLogger(__name__)

RETRY_DELAY = 0.1  # a file that fails to parse right after a change is read once more after this long
RESCAN_INTERVAL = 10.0  # the safety net for events the OS dropped
POLL_INTERVAL = 1.0
# The watches are checked after every batch and at least this often (a few stat() calls): a watch can die
# without a word, e.g. when a folder above the project is moved, or when inotify's reading thread ends.
WATCH_CHECK_INTERVAL = 1.0
UNSETTLED_RECHECK = 0.05  # sooner while the folders were still changing as the watches were placed

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
        self._watches = WatchKeeper(self.reader.root, self._queue)
        self._root_present: bool | None = None  # as last announced; None: nothing announced yet
        self._failures_told: set[tuple[str, int | None]] = set()
        self._next_check = time.monotonic()
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
            changed: dict[str, ChangeType | None] = {}
            self._apply(self._keep_watches(ALL_WATCHES, changed))
            self._queue.put_many(list(changed))  # files written between the scan and the watches
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
            work = self._queue.take(min(next_rescan, self._next_check))
            if self._queue.closed:
                return
            changed = dict(work.changed)
            # Watches first, reads after: what is read then is either seen by this read or by the new watch.
            inputs = self._keep_watches(work.renew, changed)
            inputs.extend(self._read(Work(changed, work.retries)))
            if inputs:
                self._apply(inputs)
            if time.monotonic() >= next_rescan:
                self._queue.put_many(self.reader.stale_paths())
                next_rescan = time.monotonic() + self._rescan_interval

    def _read(self, work: Work) -> list[SourceInput]:
        inputs: list[SourceInput] = []
        for rel, hint in work.changed.items():
            result = self.reader.sync(rel, hint)
            held = set(result.failed)
            # A writer is often mid-write: hold a fresh failure back and read the file once more shortly.
            inputs.extend(
                entry for entry in result.inputs if not (isinstance(entry, FileFailed) and entry.path in held)
            )
            for path in held:
                self._queue.retry_later(path, self._retry_delay)
            self._queue.put_many(result.more)
        for rel in work.retries:
            result = self.reader.sync(rel)
            inputs.extend(result.inputs)
            self._queue.put_many(result.more)
        return inputs

    def _apply(self, inputs: list[SourceInput], first: bool = False) -> None:
        """Diff and hand on; the first scan is handed on even when it found nothing (the state is in)."""
        messages = self.differ.apply(inputs)
        if messages or first:
            self._deliver(messages, first)

    # ---------------------------------------------------------------- watches

    def _keep_watches(self, renew: Collection[str], changed: dict[str, ChangeType | None]) -> list[SourceInput]:
        """Check (cheaply) that every watch is alive and on the folder now at its path; replace what is not.
        Folders that got a new watch are added to `changed`, to be read again. Returns what to tell."""
        notices: list[SourceInput] = []
        if not self._watches.observer_alive():
            notices.append(Notice("file watching stopped unexpectedly; restarted it and read the project again"))
            self._restart_observer()
            renew = ALL_WATCHES
        try:
            report = self._watches.keep(renew)
        except OSError as exc:
            if exc.errno not in LIMIT_ERRORS or self.polling:
                raise
            notices.append(self._fall_back_to_polling(exc))
            report = self._watches.keep(ALL_WATCHES)
        notices.extend(self._tell(report))
        if ROOT in report.renewed or report.root_present != self._root_present:
            changed.setdefault(STATE_DIR, None)
            changed.setdefault("PROJECT_SPEC.md", None)
        elif STATE in report.renewed:
            changed.setdefault(STATE_DIR, None)
        self._root_present = report.root_present
        self._next_check = time.monotonic() + self._recheck_after(report)
        return notices

    def _recheck_after(self, report: WatchReport) -> float:
        return UNSETTLED_RECHECK if not report.settled else min(WATCH_CHECK_INTERVAL, self._rescan_interval)

    def _tell(self, report: WatchReport) -> list[SourceInput]:
        """The project folder going missing is an error; its return, news; a refused watch, an error once."""
        notices: list[SourceInput] = []
        root = self.reader.root
        if not report.root_present and self._root_present is not False:
            where = report.anchor or "its parent folders"
            what = "does not exist" if self._root_present is None else "was deleted or moved away"
            text = f"project folder {root} {what}; watching {where} until it is there again"
            notices.append(Notice(text, error_type="project_missing"))
        elif report.root_present and self._root_present is False:
            notices.append(Notice(f"project folder {root} is back; watching it live again"))
        for slot, exc in report.failed.items():
            if (slot, exc.errno) not in self._failures_told:
                self._failures_told.add((slot, exc.errno))
                reason = exc.strerror or str(exc)
                text = (
                    f"cannot watch {exc.filename or root} live ({reason}); trying again every"
                    f" {WATCH_CHECK_INTERVAL:g} s, and the re-scan every {self._rescan_interval:g} s still sees changes"
                )
                notices.append(Notice(text, error_type="watch_failed"))
        if not report.failed:
            self._failures_told.clear()
        return notices

    # ---------------------------------------------------------------- observers

    def _start_observer(self) -> None:
        quiet_watchdog_races()
        try:
            observer = self._observer_factory()
            observer.start()
        except OSError as exc:
            if exc.errno not in LIMIT_ERRORS:
                raise
            self._apply([self._fall_back_to_polling(exc)])
            return
        self._watches.attach(observer)

    def _restart_observer(self) -> None:
        self._stop_observer()
        if self.polling:
            self._start_polling()
        else:
            self._start_observer()

    def _fall_back_to_polling(self, exc: OSError) -> Notice:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        log.warning("inotify limit reached (%s); watching %s by polling", reason, self.reader.root)
        self._stop_observer()
        self.polling = True
        self._start_polling()
        return Notice(
            f"file watching limit reached ({reason}); polling every {POLL_INTERVAL:g} s instead"
            " (raise fs.inotify.max_user_watches / max_user_instances to fix)"
        )

    def _start_polling(self) -> None:
        observer = PollingObserver(timeout=POLL_INTERVAL)
        observer.start()
        self._watches.attach(observer)

    def _stop_observer(self) -> None:
        observer = self._watches.detach()
        if observer is not None:
            _stop_quietly(observer)


def _stop_quietly(observer: BaseObserver) -> None:
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(5.0)
    except Exception:
        log.debug("observer stop failed", exc_info=True)
