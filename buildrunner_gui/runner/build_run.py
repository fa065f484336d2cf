"""One project's build runs: a QProcess in the project folder, one run at a time, its states and its output as
protocol events (protocol.md, "Build runs and remote control").

The child starts in a session (and so a process group) of its own, so Pause stops the whole build (SIGSTOP
to the group), Resume goes on (SIGCONT) and Cancel ends all of it, grandchildren included: SIGTERM to the
group, SIGKILL to whatever is left 5 s later (and at once to what outlives the build's own process). Nothing
here blocks: QProcess reads the pipes on the event loop of the thread that owns the runner (the GUI thread in
the app, where the session's store lives). The pipes are made small (`pipe_size.py`), so a flood of output comes
a slice per pass of the loop while the build waits on the full pipe.

Output comes line by line, stdout and stderr apart (`lines.py`: invalid UTF-8 replaced, a line over 64 KiB
cut); a partial line is handed out once it has waited 100 ms. Each run's change is one `run_update`; every
batch of events goes to `publish` (the session's store, through its source).
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from ..model.clock import utc_now_iso
from ..model.messages import Message
from .lines import LineSplitter
from .pipe_size import shrink_output_pipes

DEFAULT_COMMAND = "br build start"
PARTIAL_LINE_MS = 100
KILL_AFTER_MS = 5_000
BUILD_SOURCE = "build"
ACTIVE_STATES = ("starting", "running", "paused")
PIPE_SHRINK_TRIES = 20  # reads after which a pipe that was never empty enough keeps its size


class RunRefused(Exception):
    """The action does not apply now (already running, nothing to pause…): a one-line reason."""


def _event(message_type: str, body: dict[str, Any]) -> Message:
    return {"type": message_type, "session_id": "", "epoch": "", "seq": 0, "timestamp": utc_now_iso(), **body}


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class _Stream:
    """One output channel: its splitter and the timer that hands out a partial line."""

    def __init__(self, output_type: str, owner: QObject, flush: Callable[[_Stream], None]) -> None:
        self.output_type = output_type
        self.splitter = LineSplitter()
        self.timer = QTimer(owner)
        self.timer.setSingleShot(True)
        self.timer.setInterval(PARTIAL_LINE_MS)
        self.timer.timeout.connect(lambda: flush(self))
        self.lines_seen = 0  # how many reads ended a line (a partial line after one is a new one)
        self.waited_for = 0  # the value of `lines_seen` when the timer started for the partial line


class BuildRunner(QObject):
    """A project's runs. `start`/`pause`/`resume`/`cancel` return the `run_update` they published, or raise
    `RunRefused`; `changed` tells the window that the state (so which actions apply) changed."""

    changed = Signal()

    def __init__(self, folder: str, publish: Callable[[list[Message]], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self._publish = publish
        self.run: dict[str, Any] | None = None  # the current or last run (the fields of a run_update)
        self._process: QProcess | None = None
        self._pgid = 0
        self._pipes_to_shrink = 0  # tries left to make the output pipes small (pipe_size.py)
        self._began = 0.0
        self._cancelling = False
        self._streams = (
            _Stream("stdout", self, self._flush_partial),
            _Stream("stderr", self, self._flush_partial),
        )
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.setInterval(KILL_AFTER_MS)
        self._kill_timer.timeout.connect(self._kill_group)
        self.lines_published = 0  # every output line handed to `publish` (for tests and logs)

    # ---------------------------------------------------------------- what applies now

    @property
    def state(self) -> str | None:
        return None if self.run is None else self.run["state"]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def can_start(self) -> bool:
        return not self.active

    @property
    def can_pause(self) -> bool:
        return self.state == "running" and not self._cancelling

    @property
    def can_resume(self) -> bool:
        return self.state == "paused" and not self._cancelling

    @property
    def can_cancel(self) -> bool:
        return self.active and not self._cancelling

    @property
    def pgid(self) -> int:
        """The process group of the current run (0 when none is running)."""
        return self._pgid

    # ---------------------------------------------------------------- actions

    def start(self, command: str = DEFAULT_COMMAND) -> Message:
        if self.active:
            raise RunRefused("a build is already running")
        self.run = {
            "run_id": _new_run_id(),
            "state": "starting",
            "command": command,
            "started_at": utc_now_iso(),
            "ended_at": None,
            "exit_code": None,
            "duration_s": None,
        }
        self._began = time.monotonic()
        self._cancelling = False
        for stream in self._streams:
            stream.splitter = LineSplitter()
        starting = self._update()
        reason = self._why_not(command)
        if reason is not None:
            self._failed(reason)
            return starting
        argv = shlex.split(command)
        process = self._process = QProcess(self)
        process.setWorkingDirectory(self.folder)
        process.setProcessEnvironment(QProcessEnvironment.systemEnvironment())
        flags = QProcess.UnixProcessFlag
        process.setUnixProcessParameters(flags.CreateNewSession | flags.ResetSignalHandlers)
        process.setProgram(argv[0])
        process.setArguments(argv[1:])
        process.readyReadStandardOutput.connect(lambda: self._read(process, 0))
        process.readyReadStandardError.connect(lambda: self._read(process, 1))
        process.started.connect(lambda: self._started(process))
        process.finished.connect(lambda code, status: self._finished(process, code, status))
        process.errorOccurred.connect(lambda error: self._error(process, error))
        process.start()
        if self._process is process and process.processId() > 0:  # forked: its group exists (cancel applies)
            self._pgid = int(process.processId())
        return starting

    def pause(self) -> Message:
        if not self.can_pause:
            raise RunRefused("nothing to pause" if self.state != "paused" else "the build is already paused")
        _signal_group(self._pgid, signal.SIGSTOP)
        return self._set_state("paused")

    def resume(self) -> Message:
        if not self.can_resume:
            raise RunRefused("nothing to resume")
        _signal_group(self._pgid, signal.SIGCONT)
        return self._set_state("running")

    def cancel(self) -> Message:
        """SIGTERM to the whole build (woken first if paused), SIGKILL to what is left after 5 s. The run ends
        (`finished`) when the build's own process has ended; its answer here is the current state."""
        if not self.can_cancel:
            raise RunRefused("nothing to cancel" if not self.active else "the build is already being cancelled")
        self._cancelling = True
        if self._pgid == 0:  # not forked yet: it ends when QProcess says so
            if self._process is not None:
                self._process.kill()
        else:
            _signal_group(self._pgid, signal.SIGTERM)
            _signal_group(self._pgid, signal.SIGCONT)  # a stopped process only acts on SIGTERM once it runs
            self._kill_timer.start()
        if self.state == "paused":
            return self._set_state("running")
        self.changed.emit()
        assert self.run is not None
        return _event("run_update", dict(self.run))

    # ---------------------------------------------------------------- the process

    def _why_not(self, command: str) -> str | None:
        if not os.path.isdir(self.folder):
            return f"the project folder {self.folder} does not exist"
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            return f"the build command cannot be read: {exc}"
        if not argv:
            return "the build command is empty"
        program = argv[0]
        if os.sep in program:
            path = program if os.path.isabs(program) else os.path.join(self.folder, program)
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                return f"{program}: no such program (or not executable)"
        elif shutil.which(program) is None:
            return f"{program}: command not found"
        return None

    def _started(self, process: QProcess) -> None:
        if process is not self._process:
            return
        self._pgid = int(process.processId())  # its own session: the group id is its pid
        self._pipes_to_shrink = PIPE_SHRINK_TRIES
        self._shrink_pipes()
        if self.state == "starting":
            self._set_state("running")

    def _shrink_pipes(self) -> None:
        self._pipes_to_shrink = 0 if shrink_output_pipes(self._pgid) else self._pipes_to_shrink - 1

    def _read(self, process: QProcess, channel: int) -> None:
        if process is not self._process:
            return
        stream = self._streams[channel]
        data = process.readAllStandardOutput() if channel == 0 else process.readAllStandardError()
        if self._pipes_to_shrink:
            self._shrink_pipes()  # a fast build filled the pipe before it could be shrunk: now it is empty
        lines = stream.splitter.feed(bytes(data.data()))
        if lines:
            stream.lines_seen += 1  # the partial line left (if any) is a new one
            self._emit_lines(stream, lines)
        if not stream.splitter.pending:
            stream.timer.stop()
        elif not stream.timer.isActive():
            stream.waited_for = stream.lines_seen
            stream.timer.start()

    def _flush_partial(self, stream: _Stream) -> None:
        """100 ms after a partial line appeared: hand it out, unless it has since become a complete one (what
        the pipe holds is read first, so a flood of lines is never cut at a read's edge)."""
        process = self._process
        if process is None:
            return
        channel = self._streams.index(stream)
        process.setReadChannel(QProcess.ProcessChannel(channel))
        process.waitForReadyRead(0)  # no wait: only what the pipe already holds
        self._read(process, channel)
        if self._process is not process or not stream.splitter.pending:
            return
        if stream.waited_for != stream.lines_seen:  # a new partial line: it waits its own 100 ms
            stream.waited_for = stream.lines_seen
            stream.timer.start()
            return
        line = stream.splitter.flush()
        if line is not None:
            self._emit_lines(stream, [line])

    def _emit_lines(self, stream: _Stream, lines: list[str]) -> None:
        if not lines:
            return
        output_type = stream.output_type
        self.lines_published += len(lines)
        stamp = utc_now_iso()  # one read, one moment (a timestamp per line was a tenth of a flood's cost)
        self._publish(
            [
                {
                    "type": "terminal_output",
                    "session_id": "",
                    "epoch": "",
                    "seq": 0,
                    "timestamp": stamp,
                    "output": line,
                    "output_type": output_type,
                    "source": BUILD_SOURCE,
                }
                for line in lines
            ]
        )

    def _drain(self, process: QProcess) -> None:
        """Everything the build wrote before it ended, its partial lines included."""
        for channel, stream in enumerate(self._streams):
            self._read(process, channel)
            stream.timer.stop()
            rest = stream.splitter.close()
            if rest is not None:
                self._emit_lines(stream, [rest])

    def _finished(self, process: QProcess, code: int, status: QProcess.ExitStatus) -> None:
        if process is not self._process:
            return
        self._drain(process)
        if self._cancelling and self._pgid:
            _signal_group(self._pgid, signal.SIGKILL)  # what outlived the build's own process goes too
        crashed = status == QProcess.ExitStatus.CrashExit
        self._end("finished", -code if crashed else code)

    def _error(self, process: QProcess, error: QProcess.ProcessError) -> None:
        if process is not self._process or error != QProcess.ProcessError.FailedToStart:
            return  # a crash is told by `finished`
        self._failed(process.errorString().splitlines()[0] if process.errorString() else "the build did not start")

    def _failed(self, reason: str) -> None:
        self._publish([_event("terminal_output", {"output": reason, "output_type": "stderr", "source": BUILD_SOURCE})])
        self._end("failed_to_start", None)

    def _end(self, state: str, exit_code: int | None) -> None:
        assert self.run is not None
        self._kill_timer.stop()
        self._pgid = 0
        if self._cancelling:
            self.run["cancelled"] = True  # stopped on purpose: not a failure of the build
        self._cancelling = False
        if self._process is not None:
            self._process.deleteLater()
            self._process = None
        self.run.update(
            state=state,
            ended_at=utc_now_iso(),
            exit_code=exit_code,
            duration_s=round(time.monotonic() - self._began, 3),
        )
        self._update()

    def _kill_group(self) -> None:
        if self._pgid:
            _signal_group(self._pgid, signal.SIGKILL)

    def _set_state(self, state: str) -> Message:
        assert self.run is not None
        self.run["state"] = state
        return self._update()

    def _update(self) -> Message:
        assert self.run is not None
        message = _event("run_update", dict(self.run))
        self._publish([message])
        self.changed.emit()
        return message

    # ---------------------------------------------------------------- the end of the app

    def kill_now(self) -> None:
        """SIGKILL to the whole build at once (the app is past its last wait)."""
        self._kill_group()

    def stop(self) -> None:
        """Cancel a run that is still active (the app is closing); its group gets SIGKILL after 5 s as ever."""
        if self.can_cancel:
            self.cancel()


def act(runner: BuildRunner, action: str, command: str = DEFAULT_COMMAND) -> Message | str:
    """A build action by name (`start`, `pause`, `resume`, `cancel`, as the server's control routes name them):
    the `run_update` it produced, or the one-line reason it does not apply."""
    try:
        if action == "start":
            return dict(runner.start(command))
        if action == "pause":
            return dict(runner.pause())
        if action == "resume":
            return dict(runner.resume())
        if action == "cancel":
            return dict(runner.cancel())
    except RunRefused as exc:
        return str(exc)
    return f"unknown action {action}"
