"""The one bridge from background work to the GUI thread (the shape of Anki's `aqt/taskman.py`).

`run(work, on_done, on_error)` runs `work` on a small thread pool and hands its result (or its exception) to
`on_done` (or `on_error`) on the GUI thread. `run_on_main(closure)` does the same for any closure, from any
thread (progress reports, say). The whole bridge is a lock, a list of pending closures and one queued signal:
the signal is emitted only when the list goes from empty to non-empty, and the GUI thread drains the whole list
each time, so a burst of results costs one trip through the event loop, not one per result.

Worker code never touches widgets: `work` gets no Qt object, and everything it produces reaches Qt through the
list. The pool starts on the first `run` and `shutdown()` ends it (waiting for running jobs by default); a later
`run` starts a fresh one, so an owner that closes and reopens (a dialog) can keep one runner.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")
Closure = Callable[[], None]

MAX_WORKERS = 3  # jobs are short reads or one long creation: a few threads are plenty


class TaskRunner(QObject):
    # Emitted (from any thread) when the pending list stops being empty; always queued to the GUI thread.
    closures_pending = Signal()

    def __init__(self, parent: QObject | None = None, *, name: str = "tasks", max_workers: int = MAX_WORKERS) -> None:
        super().__init__(parent)
        self._name = name
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)  # wait_idle sleeps on it until a closure is posted
        self._closures: list[Closure] = []
        self._jobs = 0  # submitted jobs whose callback has not been posted yet
        # Queued even when emitted on the GUI thread: callbacks never run inside the caller's `run()`.
        self.closures_pending.connect(self._drain_slot, Qt.ConnectionType.QueuedConnection)

    # ---------------------------------------------------------------- any thread

    def run_on_main(self, closure: Closure) -> None:
        """Call `closure` on the GUI thread soon. Safe from any thread; never blocks on the GUI."""
        self._post(closure, job_ended=False)

    # ---------------------------------------------------------------- GUI thread

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Future[T]:
        """Run `work()` on a worker thread; then `on_done(result)` or `on_error(exception)` on the GUI thread.

        Without `on_error` a failure is logged. The returned future lets shutdown code wait for this one job."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix=self._name)
            self._jobs += 1
            executor = self._executor
        try:
            return executor.submit(self._job, work, on_done, on_error)
        except BaseException:
            with self._lock:
                self._jobs -= 1
            raise

    def shutdown(self, wait: bool = True) -> None:
        """End the worker threads once their jobs are done (`wait`: block until then). Results of jobs that
        finish still arrive; a later `run` starts new threads."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait)

    def drain(self) -> None:
        """Run every pending closure now (GUI thread). All of them run even if one raises; the first error is
        raised afterwards, so it is not lost."""
        with self._lock:
            closures, self._closures = self._closures, []
        first_error: BaseException | None = None
        for closure in closures:
            try:
                closure()
            except BaseException as exc:
                if first_error is None:
                    first_error = exc
                else:
                    log.error("a task callback failed", exc_info=exc)
        if first_error is not None:
            raise first_error

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block the GUI thread until every job has finished and its callback has run (for tests and shutdown).
        False if `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                while self._jobs and not self._closures:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._wakeup.wait(remaining)
                if not self._jobs and not self._closures:
                    return True
            self.drain()

    def busy(self) -> bool:
        """True while a job runs or a callback waits for the GUI thread."""
        with self._lock:
            return bool(self._jobs or self._closures)

    # ---------------------------------------------------------------- internals

    def _job(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None,
    ) -> T:
        """Worker thread: run the work, post its outcome; the future gets the same outcome for waiters."""
        try:
            result = work()
        except BaseException as exc:
            # partial, not a lambda: `exc` is unbound when the except block ends
            self._post(partial(self._report_error, on_error, exc), job_ended=True)
            raise
        self._post(partial(on_done, result), job_ended=True)
        return result

    @staticmethod
    def _report_error(on_error: Callable[[BaseException], None] | None, exc: BaseException) -> None:
        if on_error is None:
            log.error("a background task failed", exc_info=exc)
        else:
            on_error(exc)

    def _post(self, closure: Closure, *, job_ended: bool) -> None:
        with self._lock:
            was_empty = not self._closures
            self._closures.append(closure)
            if job_ended:
                self._jobs -= 1
            self._wakeup.notify_all()
        if was_empty:  # otherwise a drain is already on its way and will take this closure too
            self.closures_pending.emit()

    @Slot()
    def _drain_slot(self) -> None:
        self.drain()
