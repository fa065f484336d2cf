"""Every build run kept in the app's data folder, never in the project: per project folder, one JSON record per
run (command, start, end, duration, exit code) and its output log beside it.

`BUILDRUNNER_GUI_DATA` names the data folder (tests, portable installs); else Qt's AppDataLocation. A
`RunRecorder` sits between a `BuildRunner` and the session's `publish`: it writes what passes (the run's
`run_update`s and its `build` output lines) and hands every event on unchanged. A write that fails is logged
once and the run goes on unrecorded: recording never stops a build. The newest `KEEP_RUNS` runs per project
are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..model.messages import RUN_KEYS, Message
from ..model.store import SNAPSHOT_RUNS
from .build_run import BUILD_SOURCE

log = logging.getLogger(__name__)

DATA_VARIABLE = "BUILDRUNNER_GUI_DATA"
ORGANIZATION, APP_NAME = "BuildRunner", "BuildRunner Desktop"  # as the window's application names itself
KEEP_RUNS = 200
LOG_SHOWN_BYTES = 8 << 20  # a log viewer shows at most the last 8 MiB of a run's output
ENDED = ("finished", "failed_to_start")
_LOG_BUFFER = 1 << 16


def data_folder() -> Path:
    """The app's data folder: `BUILDRUNNER_GUI_DATA`, else Qt's AppDataLocation of the window's application
    (…/BuildRunner/BuildRunner Desktop; `serve`, which names no application, uses the same folder)."""
    given = os.environ.get(DATA_VARIABLE)
    if given:
        return Path(given)
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    locations = QStandardPaths.StandardLocation
    if QCoreApplication.applicationName() == APP_NAME:
        return Path(QStandardPaths.writableLocation(locations.AppDataLocation))
    return Path(QStandardPaths.writableLocation(locations.GenericDataLocation)) / ORGANIZATION / APP_NAME


class RunHistory:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else data_folder()

    def folder_for(self, project: str) -> Path:
        """The runs of one project folder: a readable name and a hash of its absolute path."""
        path = os.path.abspath(project)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(path.rstrip(os.sep)) or "project")[:40]
        return self.root / "runs" / f"{name}-{hashlib.sha256(path.encode()).hexdigest()[:12]}"

    def log_path(self, project: str, run_id: str) -> Path:
        return self.folder_for(project) / f"{_safe(run_id)}.log"

    def runs(self, project: str) -> list[dict[str, Any]]:
        """Every recorded run of the project, oldest first (records that cannot be read are skipped)."""
        folder = self.folder_for(project)
        records = []
        for path in folder.glob("*.json") if folder.is_dir() else ():
            with contextlib.suppress(OSError, ValueError):
                record = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(record, dict) and all(key in record for key in RUN_KEYS):
                    records.append(record)
        return sorted(records, key=lambda record: (str(record["started_at"]), str(record["run_id"])))

    def ended_runs(self, project: str, count: int) -> list[dict[str, Any]]:
        """The newest `count` runs that ended, oldest first, with the run fields only."""
        ended = [run for run in self.runs(project) if run["state"] in ENDED]
        return [{key: run[key] for key in RUN_KEYS} for run in ended[-count:]]

    def recorder(self, project: str, publish: Callable[[list[Message]], None]) -> RunRecorder:
        return RunRecorder(self, project, publish)

    def prune(self, project: str, keep: int = KEEP_RUNS) -> None:
        for record in self.runs(project)[:-keep] if keep > 0 else []:
            for suffix in (".json", ".log"):
                with contextlib.suppress(OSError):
                    (self.folder_for(project) / f"{_safe(record['run_id'])}{suffix}").unlink()


class RunRecorder:
    """The `publish` of a `BuildRunner` that also records its runs (see the module's doc)."""

    def __init__(self, history: RunHistory, project: str, publish: Callable[[list[Message]], None]) -> None:
        self.history = history
        self.project = project
        self._publish = publish
        self._log: IO[str] | None = None
        self._run_id: str | None = None
        self._failed = False

    def __call__(self, events: list[Message]) -> None:
        for message in events:
            kind = message["type"]
            if kind == "terminal_output" and message.get("source") == BUILD_SOURCE:
                if self._log is not None:
                    self._write_line(message["output"])
            elif kind == "run_update":
                self._run_update(message)
        self._publish(events)

    def _run_update(self, message: Message) -> None:
        run = {key: message[key] for key in RUN_KEYS}
        if run["run_id"] != self._run_id:
            self._close()
            self._run_id, self._failed = run["run_id"], False
            folder = self.history.folder_for(self.project)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self._log = open(  # noqa: SIM115 - open for the whole run, closed when it ends
                    folder / f"{_safe(run['run_id'])}.log", "w", encoding="utf-8", buffering=_LOG_BUFFER
                )
            except OSError as exc:
                self._give_up(exc)
        if self._failed:
            return
        record = {**run, "project": os.path.abspath(self.project)}
        try:
            path = self.history.folder_for(self.project) / f"{_safe(run['run_id'])}.json"
            temporary = path.with_name("." + path.name + ".tmp")
            temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
            os.replace(temporary, path)
        except OSError as exc:
            self._give_up(exc)
            return
        if run["state"] in ENDED:
            self._close()
            self.history.prune(self.project)

    def _write_line(self, line: str) -> None:
        assert self._log is not None
        try:
            self._log.write(line + "\n")
        except OSError as exc:
            self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        if not self._failed:
            log.warning("build run %s is not recorded: %s", self._run_id, exc)
        self._failed = True
        self._close()

    def _close(self) -> None:
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None


def past_run_events(history: RunHistory, project: str, count: int = SNAPSHOT_RUNS) -> list[Message]:
    """The newest recorded runs that ended, as `run_update` events (oldest first) to publish into a store."""
    return [
        {"type": "run_update", "session_id": "", "epoch": "", "seq": 0, "timestamp": run["ended_at"] or "", **run}
        for run in history.ended_runs(project, count)
    ]


def read_log(path: Path, limit: int) -> str | None:
    """A run's output log (its last `limit` bytes, from a line start), or None when there is none."""
    try:
        with open(path, "rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - limit))
            data = stream.read()
    except OSError:
        return None
    if size > limit:
        data = data[data.find(b"\n") + 1 :]
        return f"(the first {size - len(data):,} bytes are left out)\n" + data.decode("utf-8", "replace")
    return data.decode("utf-8", "replace")


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id) or "run"
