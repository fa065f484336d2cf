"""The build runner with real child processes (small Python scripts): output, states, pause, cancel.

Waits are generous upper bounds (signals, not sleeps, end them early); nothing asserts how fast anything is.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from buildrunner_gui.model.messages import SERVER_MESSAGE
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.runner.build_run import BuildRunner, RunRefused
from buildrunner_gui.runner.lines import CUT_MARKER, MAX_LINE_BYTES, LineSplitter
from buildrunner_gui.runner.pipe_size import OUTPUT_PIPE_BYTES

pytestmark = pytest.mark.timeout(120)
PY = shlex.quote(sys.executable)


class Recorder:
    """The runner's `publish`: a real store, and every event kept (lines only counted when asked)."""

    def __init__(self, keep_lines: bool = True) -> None:
        self.store = SessionStore("s", {"name": "p", "alias": None, "path": "/p"})
        self.keep_lines = keep_lines
        self.lines: list[tuple[str, str]] = []
        self.count = 0
        self.updates: list[dict[str, Any]] = []

    def __call__(self, events: list[dict[str, Any]]) -> None:
        for message in self.store.publish(events):
            if message["type"] == "run_update":
                SERVER_MESSAGE.validate_python(message)
                self.updates.append(dict(message))
            else:
                assert message["source"] == "build"
                self.count += 1
                if self.keep_lines:
                    self.lines.append((message["output_type"], message["output"]))

    @property
    def states(self) -> list[str]:
        return [u["state"] for u in self.updates]


def script(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return f"{PY} -u {shlex.quote(str(path))}"


_RUNNERS: list[BuildRunner] = []


@pytest.fixture(autouse=True)
def no_build_left_behind():
    """A test that fails half-way still leaves no process: its build's group gets SIGKILL."""
    yield
    while _RUNNERS:
        runner = _RUNNERS.pop()
        if runner.pgid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(runner.pgid, signal.SIGKILL)


def make(tmp_path: Path, qtbot, keep_lines: bool = True) -> tuple[BuildRunner, Recorder]:
    recorder = Recorder(keep_lines)
    runner = BuildRunner(str(tmp_path), recorder)
    _RUNNERS.append(runner)
    return runner, recorder


def wait_ended(qtbot, runner: BuildRunner, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: runner.state in ("finished", "failed_to_start"), timeout=timeout)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_prints_to_stdout_and_stderr_and_finishes(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    command = script(
        tmp_path,
        "ok.py",
        "import os, sys\nprint('hello')\nprint('oops', file=sys.stderr)\nprint(os.getcwd())\n"
        "print(os.environ.get('BR_TEST_MARK'))\n",
    )
    os.environ["BR_TEST_MARK"] = "from-the-user"
    try:
        runner.start(command)
    finally:
        del os.environ["BR_TEST_MARK"]
    wait_ended(qtbot, runner)
    assert ("stdout", "hello") in rec.lines and ("stderr", "oops") in rec.lines
    assert ("stdout", str(tmp_path)) in rec.lines  # in the project folder
    assert ("stdout", "from-the-user") in rec.lines  # with the user's environment
    assert rec.states == ["starting", "running", "finished"]
    last = rec.updates[-1]
    assert last["exit_code"] == 0 and last["ended_at"] and last["duration_s"] >= 0 and last["command"] == command
    state = rec.store.snapshot()
    assert state["run"]["state"] == "finished" and len(state["runs"]) == 1
    assert any(row["source"] == "build" and row["output"] == "hello" for row in state["terminal"])


def test_a_failing_build_finishes_with_its_exit_code(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    runner.start(script(tmp_path, "fail.py", "import sys\nprint('bad')\nsys.exit(3)\n"))
    wait_ended(qtbot, runner)
    assert rec.updates[-1]["state"] == "finished" and rec.updates[-1]["exit_code"] == 3
    with pytest.raises(RunRefused):
        runner.pause()
    runner.start(script(tmp_path, "again.py", "print('again')\n"))  # Start after the end runs again
    wait_ended(qtbot, runner)
    assert len(rec.store.snapshot()["runs"]) == 2 and rec.updates[-1]["exit_code"] == 0


@pytest.mark.parametrize(
    ("command", "words"),
    [("no-such-program-xyz build", "command not found"), ("./missing.sh", "no such program")],
)
def test_a_missing_program_fails_to_start_with_a_reason(tmp_path, qtbot, command, words):
    runner, rec = make(tmp_path, qtbot)
    runner.start(command)
    wait_ended(qtbot, runner, 5_000)
    assert rec.states == ["starting", "failed_to_start"]
    assert rec.updates[-1]["exit_code"] is None and rec.updates[-1]["ended_at"]
    (reason,) = [line for kind, line in rec.lines if kind == "stderr"]
    assert words in reason and "\n" not in reason
    assert runner.can_start


def test_a_missing_folder_fails_to_start(tmp_path, qtbot):
    rec = Recorder()
    runner = BuildRunner(str(tmp_path / "gone"), rec)
    _RUNNERS.append(runner)
    runner.start(f"{PY} -c pass")
    assert rec.states == ["starting", "failed_to_start"]
    assert "does not exist" in rec.lines[-1][1]


def test_one_run_at_a_time(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    runner.start(script(tmp_path, "sleep.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n"))
    with pytest.raises(RunRefused, match="already running"):
        runner.start("anything")
    qtbot.waitUntil(lambda: ("stdout", "up") in rec.lines, timeout=20_000)
    runner.cancel()
    wait_ended(qtbot, runner, 20_000)


def test_cancel_ends_a_build_that_ignores_sigterm_and_its_grandchild(tmp_path, qtbot):
    pid_file = tmp_path / "grandchild.pid"
    grandchild = script(
        tmp_path,
        "grandchild.py",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(300)\n",
    )
    runner, rec = make(tmp_path, qtbot)
    runner.start(
        script(
            tmp_path,
            "stubborn.py",
            "import shlex, signal, subprocess, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"child = subprocess.Popen(shlex.split({grandchild!r}))\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "print('ready', flush=True)\n"
            "time.sleep(300)\n",
        )
    )
    qtbot.waitUntil(lambda: ("stdout", "ready") in rec.lines, timeout=20_000)
    pid = int(pid_file.read_text())
    assert alive(pid)
    group = runner.pgid
    runner.cancel()
    assert not runner.can_cancel and not runner.can_pause
    wait_ended(qtbot, runner, 30_000)
    assert rec.updates[-1]["exit_code"] == -9  # SIGTERM ignored: SIGKILL after 5 s
    qtbot.waitUntil(lambda: not alive(pid), timeout=10_000)  # the grandchild is gone too
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)


def test_cancel_ends_a_grandchild_that_outlives_the_build(tmp_path, qtbot):
    """The build's own process ends on SIGTERM; its grandchild ignores it: it is killed with the rest at once."""
    pid_file = tmp_path / "grandchild.pid"
    grandchild = script(
        tmp_path,
        "grandchild.py",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(300)\n",
    )
    runner, rec = make(tmp_path, qtbot)
    runner.start(
        script(
            tmp_path,
            "parent.py",
            "import shlex, subprocess, time\n"
            f"child = subprocess.Popen(shlex.split({grandchild!r}))\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "print('ready', flush=True)\n"
            "time.sleep(300)\n",
        )
    )
    qtbot.waitUntil(lambda: ("stdout", "ready") in rec.lines, timeout=20_000)
    pid = int(pid_file.read_text())
    runner.cancel()
    wait_ended(qtbot, runner, 30_000)
    assert rec.updates[-1]["exit_code"] == -15
    qtbot.waitUntil(lambda: not alive(pid), timeout=10_000)


def test_cancel_right_after_start(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    runner.start(script(tmp_path, "sleep.py", "import time\ntime.sleep(60)\n"))
    runner.cancel()
    wait_ended(qtbot, runner, 20_000)
    assert rec.states[0] == "starting" and rec.states[-1] == "finished"


def test_cancel_a_build_that_stops_on_sigterm(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    runner.start(script(tmp_path, "sleep.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n"))
    qtbot.waitUntil(lambda: ("stdout", "up") in rec.lines, timeout=20_000)
    runner.cancel()
    wait_ended(qtbot, runner, 20_000)
    assert rec.updates[-1]["exit_code"] == -15
    assert rec.updates[-1]["cancelled"] is True  # stopped on purpose: not a failure of the build


def test_pause_stops_output_and_resume_restarts_it(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    runner.start(
        script(
            tmp_path,
            "ticker.py",
            "import time\nfor i in range(100000):\n    print(i, flush=True)\n    time.sleep(0.01)\n",
        )
    )
    qtbot.waitUntil(lambda: rec.count >= 5, timeout=20_000)
    runner.pause()
    assert rec.states[-1] == "paused" and runner.can_resume and not runner.can_pause
    qtbot.wait(500)  # what was written before the stop arrives
    frozen = rec.count
    qtbot.wait(1_500)
    assert rec.count == frozen  # stopped: no new line at all
    runner.resume()
    assert rec.states[-1] == "running"
    qtbot.waitUntil(lambda: rec.count >= frozen + 5, timeout=20_000)
    runner.pause()
    runner.cancel()  # a paused build is woken to take its SIGTERM
    wait_ended(qtbot, runner, 20_000)
    assert rec.states[-3:] == ["paused", "running", "finished"]


def test_two_hundred_thousand_lines_none_lost(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot, keep_lines=False)
    seen: list[int] = []

    def check(events):
        for message in events:
            if message["type"] == "terminal_output":
                seen.append(int(message["output"]))
        rec(events)

    runner._publish = check
    runner.start(script(tmp_path, "flood.py", "import sys\nfor i in range(200000):\n    sys.stdout.write(f'{i}\\n')\n"))
    wait_ended(qtbot, runner, 60_000)
    assert rec.updates[-1]["exit_code"] == 0
    assert seen == list(range(200_000))  # every line, in order
    assert runner.lines_published == 200_000
    assert len(rec.store.snapshot()["terminal"]) == 1_000  # the store keeps a bounded tail
    assert all(stream.splitter.peak_buffer <= MAX_LINE_BYTES for stream in runner._streams)


def test_a_line_without_newline_is_flushed_while_the_build_goes_on(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    runner.start(
        script(
            tmp_path,
            "prompt.py",
            "import sys, time\nsys.stdout.write('Continue? ')\nsys.stdout.flush()\ntime.sleep(60)\n",
        )
    )
    qtbot.waitUntil(lambda: ("stdout", "Continue? ") in rec.lines, timeout=20_000)
    assert runner.state == "running"
    runner.cancel()
    wait_ended(qtbot, runner, 20_000)


def test_invalid_utf8_and_long_lines(tmp_path, qtbot):
    runner, rec = make(tmp_path, qtbot)
    runner.start(
        script(
            tmp_path,
            "bytes.py",
            "import sys\nout = sys.stdout.buffer\nout.write(b'ok \\xff\\xfe end\\n')\n"
            "out.write(b'x' * 200000 + b'\\n')\nout.write(b'after\\n')\nout.write(b'tail')\n",
        )
    )
    wait_ended(qtbot, runner)
    outputs = [line for _kind, line in rec.lines]
    assert outputs[0] == "ok \ufffd\ufffd end"
    assert outputs[1] == "x" * MAX_LINE_BYTES + CUT_MARKER
    assert outputs[2:] == ["after", "tail"]  # the rest of the long line dropped; the last partial line kept


def test_the_splitter_keeps_a_utf8_sequence_whole():
    splitter = LineSplitter()
    data = "héllo".encode()
    assert splitter.feed(data[:2]) == []
    assert splitter.flush() == "h"  # the cut é waits for its second byte
    assert splitter.feed(data[2:] + b"\n") == ["éllo"]
    assert splitter.feed(b"a\nb\n\nc") == ["a", "b", ""] and splitter.close() == "c"


def test_actions_that_do_not_apply_say_why(tmp_path, qtbot):
    """Each in one line."""
    runner, _rec = make(tmp_path, qtbot)
    for action in (runner.pause, runner.resume, runner.cancel):
        with pytest.raises(RunRefused) as caught:
            action()
        assert "\n" not in str(caught.value) and str(caught.value)


def test_a_flood_arrives_in_small_batches(tmp_path, qtbot):
    """The build's pipes are made small, so a flood reaches the window a slice at a time (each batch one short
    pass of the event loop) while the build waits on the full pipe; nothing is lost."""
    runner, rec = make(tmp_path, qtbot, keep_lines=False)
    batch_bytes: list[int] = []

    def measure(events: list[dict[str, Any]]) -> None:
        lines = [m["output"] for m in events if m["type"] == "terminal_output"]
        if lines:
            batch_bytes.append(sum(len(line) + 1 for line in lines))
        rec(events)

    runner._publish = measure
    line = "f" * 63
    flood = f"import sys\nfor i in range(20000):\n    sys.stdout.write('{line}\\n')\n"  # 1.25 MiB
    runner.start(script(tmp_path, "flood.py", flood))
    wait_ended(qtbot, runner, 60_000)
    assert rec.count == 20_000
    assert max(batch_bytes) <= OUTPUT_PIPE_BYTES + len(line) + 1  # a 64 KiB pipe gave batches of 64 KiB
