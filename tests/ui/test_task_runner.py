"""The background-task runner with real threads and a real Qt event loop (offscreen)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import wait

import pytest
from PySide6.QtCore import Qt

from buildrunner_gui.ui.task_runner import TaskRunner


@pytest.fixture
def runner(qapp):
    runner = TaskRunner(name="test-tasks")
    yield runner
    runner.shutdown()


def test_work_runs_on_a_worker_and_the_result_arrives_on_the_gui_thread(qtbot, runner):
    results: list[tuple[str, threading.Thread]] = []
    runner.run(lambda: threading.current_thread().name, lambda name: results.append((name, threading.current_thread())))
    qtbot.waitUntil(lambda: bool(results), timeout=5_000)
    worker_name, callback_thread = results[0]
    assert worker_name.startswith("test-tasks")
    assert callback_thread is threading.main_thread()
    assert not runner.busy()


def test_errors_reach_on_error_on_the_gui_thread(qtbot, runner):
    failure = ValueError("broken")
    done: list[object] = []
    errors: list[tuple[BaseException, threading.Thread]] = []

    def work() -> None:
        raise failure

    future = runner.run(work, done.append, lambda exc: errors.append((exc, threading.current_thread())))
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert errors == [(failure, threading.main_thread())]
    assert done == []
    assert future.exception() is failure  # shutdown code waiting on the future sees the same outcome


def test_an_error_without_on_error_is_logged(qtbot, runner, caplog):
    def work() -> None:
        raise RuntimeError("nobody listens")

    with caplog.at_level(logging.ERROR, logger="buildrunner_gui.ui.task_runner"):
        runner.run(work, lambda _result: None)
        assert runner.wait_idle(5)
    assert "nobody listens" in caplog.text


def test_a_burst_of_results_costs_one_signal_and_one_drain_each_time(qtbot, runner):
    emitted: list[int] = []
    # Direct: counts the emits themselves, on whichever worker emits them.
    runner.closures_pending.connect(lambda: emitted.append(1), Qt.ConnectionType.DirectConnection)
    results: list[int] = []

    for round_number in (1, 2):
        release = threading.Event()
        futures = [runner.run(lambda n=n, go=release: go.wait(5) and n, results.append) for n in range(10)]
        release.set()
        wait(futures)  # every result is posted before its future completes; the GUI thread has not drained yet
        assert len(emitted) == round_number  # one signal for the whole burst
        assert len(results) == 10 * (round_number - 1)  # nothing ran outside the event loop
        qtbot.waitUntil(lambda: not runner.busy(), timeout=5_000)
        assert sorted(results[-10:]) == list(range(10))


def test_callbacks_never_run_inside_the_call_that_schedules_them(qtbot, runner):
    calls: list[str] = []
    runner.run_on_main(lambda: calls.append("main"))  # from the GUI thread itself
    assert calls == []
    qtbot.waitUntil(lambda: calls == ["main"], timeout=5_000)


def test_run_on_main_from_a_worker_thread(qtbot, runner):
    seen: list[threading.Thread] = []
    thread = threading.Thread(target=lambda: runner.run_on_main(lambda: seen.append(threading.current_thread())))
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(seen), timeout=5_000)
    assert seen == [threading.main_thread()]


def test_shutdown_waits_for_a_running_job_and_its_result_still_arrives(qtbot, runner):
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    results: list[str] = []

    def work() -> str:
        started.set()
        release.wait(5)
        finished.set()
        return "late"

    runner.run(work, results.append)
    assert started.wait(5)
    workers = [t for t in threading.enumerate() if t.name.startswith("test-tasks")]

    def release_later() -> None:
        time.sleep(0.2)  # long enough that a shutdown that does not wait returns first
        release.set()

    releaser = threading.Thread(target=release_later)
    releaser.start()
    runner.shutdown(wait=True)
    assert finished.is_set()  # checked before anything else can give the job time to end
    assert workers and not any(t.is_alive() for t in workers)
    releaser.join()
    qtbot.waitUntil(lambda: results == ["late"], timeout=5_000)


def test_a_runner_can_run_again_after_shutdown(qtbot, runner):
    results: list[int] = []
    runner.run(lambda: 1, results.append)
    assert runner.wait_idle(5)
    runner.shutdown()
    runner.run(lambda: 2, results.append)
    assert runner.wait_idle(5)
    assert results == [1, 2]


def test_wait_idle_follows_jobs_started_by_callbacks(qtbot, runner):
    results: list[str] = []
    runner.run(lambda: "first", lambda value: (results.append(value), runner.run(lambda: "second", results.append)))
    assert runner.wait_idle(5)
    assert results == ["first", "second"]


def test_one_failing_callback_does_not_lose_the_others(qtbot, runner):
    calls: list[int] = []

    def broken() -> None:
        raise KeyError("callback bug")

    runner.run_on_main(lambda: calls.append(1))
    runner.run_on_main(broken)
    runner.run_on_main(lambda: calls.append(3))
    with pytest.raises(KeyError):
        runner.drain()
    assert calls == [1, 3]
