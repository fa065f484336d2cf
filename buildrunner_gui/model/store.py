"""One session's state, as protocol.md's snapshot defines it, and the reducer that applies events to it.

Every sink reads this one store: the window's panels, the mirror server's snapshots and `status --json`.
A local project's engine output and a mirror's frames from the network go through the same `publish()`, so
a mirror shows exactly what the sender shows. No Qt and no I/O; not thread-safe (its owner, the GUI thread
in the app, is the only one to touch it).

`publish()` stamps events with this store's own `session_id`, `epoch` and `seq` (a relay numbers its events
itself, so its clients resume against it) and reduces them. The events a resuming client may be sent are kept
by the server, already encoded (`server/frame_replay.py`), not here.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, cast

from . import figures
from .clock import utc_now_iso
from .formats import document_title
from .messages import RUN_KEYS, Message, ProjectOut, RunOut, Snapshot, SourceOut
from .run_outcome import status_with_run
from .snapshot_frame import StatusFrame

TERMINAL_LINES = 1_000
FILE_EVENTS = 200
ERROR_EVENTS = 100
SNAPSHOT_RUNS = 20  # the snapshot's `runs`: the last 20, newest last
SNAPSHOT_CHECKPOINTS = 500
SNAPSHOT_LINE_CHARS = 1_000  # long lines are clipped in the snapshot (events carry them whole)
DOCUMENT_TYPES = ("context", "spec")
LOCAL_SOURCE: SourceOut = {"kind": "local"}
_GONE = ("deleted", "moved")


def empty_progress() -> dict[str, Any]:
    return {"total": 0, "completed": 0, "percent": 0.0, "status": "pending", "tasks_completed": 0, "files_created": 0}


class SessionStore:
    def __init__(
        self,
        session_id: str,
        project: ProjectOut,
        source: SourceOut | None = None,
        epoch: str | None = None,
        clock: Callable[[], str] = utc_now_iso,
    ) -> None:
        self.session_id = session_id
        self.epoch = epoch or secrets.token_hex(8)
        self.seq = 0
        self._clock = clock
        self._snapshot: tuple[int, Snapshot] | None = None
        self._frame = StatusFrame()
        self._reducers: dict[str, Callable[[Message], None]] = {
            "component_update": self._component_update,
            "feature_update": self._feature_update,
            "checkpoint_update": self._checkpoint_update,
            "build_progress": self._build_progress,
            "source_update": self._source_update,
            "terminal_output": self._terminal_output,
            "file_change": self._file_change,
            "error": self._error,
            "run_update": self._run_update,
        }
        self._clear(project, source or LOCAL_SOURCE)

    def _clear(self, project: ProjectOut, source: SourceOut) -> None:
        self.project: ProjectOut = dict(project)  # type: ignore[assignment]
        self.source: SourceOut = dict(source)  # type: ignore[assignment]
        self.status: str = "pending"  # the session's: the files' own, or `failed` by the last run (run_outcome)
        self.files_status: str = "pending"  # what the files say (the differ's `build_progress`)
        self.last_change: str | None = None
        self.progress: dict[str, Any] = empty_progress()
        self.items: dict[str, dict[str, dict[str, Any]]] = {"component": {}, "feature": {}}
        self._tallies = {"component": figures.ItemTally(), "feature": figures.ItemTally()}
        self.checkpoints: dict[str, dict[str, Any]] = {}
        self._checkpoint_order: list[dict[str, Any]] | None = []
        self.terminal: deque[dict[str, Any]] = deque(maxlen=TERMINAL_LINES)
        self.files: deque[dict[str, Any]] = deque(maxlen=FILE_EVENTS)
        self.errors: deque[dict[str, Any]] = deque(maxlen=ERROR_EVENTS)
        self.documents: dict[str, dict[str, Any]] = {}
        self.artifacts: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, RunOut] = {}  # by run id, oldest first (a run's update keeps its place)

    # ---------------------------------------------------------------- reading

    def stats(self, kind: str) -> dict[str, Any]:
        """`component_stats` or `feature_stats` (kind `component` / `feature`), from the running tally."""
        return self._tallies[kind].stats()

    def ordered_checkpoints(self) -> list[dict[str, Any]]:
        """Every checkpoint row, oldest first (by its own timestamp, then id)."""
        if self._checkpoint_order is None:
            self._checkpoint_order = sorted(
                self.checkpoints.values(), key=lambda row: (row["timestamp"], row["checkpoint_id"])
            )
        return self._checkpoint_order

    def current_run(self) -> RunOut | None:
        """The current or last build run (a copy), or None before the first."""
        if not self.runs:
            return None
        return dict(next(reversed(self.runs.values())))  # type: ignore[return-value]

    def snapshot(self) -> Snapshot:
        """The snapshot at the current seq, built once per seq. Shared: callers must not change it."""
        if self._snapshot is not None and self._snapshot[0] == self.seq:
            return self._snapshot[1]
        state = {
            "project": dict(self.project),
            "source": dict(self.source),
            "status": self.status,
            "last_change": self.last_change,
            "progress": dict(self.progress),
            "component_stats": self.stats("component"),
            "feature_stats": self.stats("feature"),
            "components": list(self.items["component"].values()),
            "features": list(self.items["feature"].values()),
            "checkpoints": [_public_checkpoint(row) for row in self.ordered_checkpoints()[-SNAPSHOT_CHECKPOINTS:]],
            "terminal": list(self.terminal),
            "files": list(self.files),
            "errors": list(self.errors),
            "documents": [self.documents[path] for path in sorted(self.documents)],
            "artifacts": [self.artifacts[path] for path in sorted(self.artifacts)],
            "run": self.current_run(),
            "runs": list(self.runs.values()),
        }
        snapshot = cast(Snapshot, state)  # the shapes are the messages' own (the tests validate them)
        self._snapshot = (self.seq, snapshot)
        return snapshot

    def control(self, message_type: str, **body: Any) -> Message:
        """A message that is not an event (`connection`, `pong`, `subscribed`, an `error` answer): current seq."""
        message: Message = {
            "type": message_type,
            "session_id": self.session_id,
            "epoch": self.epoch,
            "seq": self.seq,
            "timestamp": self._clock(),
        }
        message.update(body)
        return message

    def status_message(self) -> Message:
        return self.control("status", state=self.snapshot())

    def status_frame(self) -> str:
        """The `status` message encoded, at most 1 MiB where the items allow (protocol.md); once per seq."""
        return self._frame.encoded(self.seq, self.status_message)

    # ---------------------------------------------------------------- writing

    def publish(self, events: Iterable[Message]) -> list[Message]:
        """Stamp each event (in place) with this session's id, epoch and next seq and apply it; return them, for
        the sinks."""
        published = []
        reducers, session_id, epoch = self._reducers, self.session_id, self.epoch
        seq = self.seq
        for message in events:
            reduce = reducers.get(message["type"])
            if reduce is None:
                continue  # a type this version does not know (from a newer upstream): nothing to show
            seq += 1
            message["session_id"] = session_id
            message["epoch"] = epoch
            message["seq"] = seq
            self.seq = seq  # reducers see the message's own seq as the store's
            reduce(message)
            published.append(message)
        return published

    def reload(self, state: Snapshot, catch_up: list[Message]) -> list[Message]:
        """Replace the whole state with `state` (a mirror's upstream reloaded), and publish `catch_up`: the events
        that bring this store's own clients from the old state to the new one (see `catch_up.events_between`);
        after the events before them, they still describe this store's history exactly, so a resume across the
        reload stays exact."""
        self._clear(state["project"], self.source)
        self._load(state)
        published = []
        for message in catch_up:
            self.seq += 1
            message["session_id"], message["epoch"], message["seq"] = self.session_id, self.epoch, self.seq
            published.append(message)
        return published

    def set_source(self, source: SourceOut) -> None:
        """Change `source` without an event (`last_contact` moves on every frame; states change by events)."""
        self.source = source
        self._snapshot = None

    def _load(self, state: Snapshot) -> None:
        self.files_status = str(state["progress"].get("status") or state["status"])
        self.last_change = state.get("last_change")
        self.progress = dict(state["progress"])
        for kind, key in (("component", "components"), ("feature", "features")):
            for item in state[key]:  # type: ignore[literal-required]
                self._put_item(kind, dict(item))
        for row in state["checkpoints"]:
            self.checkpoints[row["checkpoint_id"]] = dict(row)
        self._checkpoint_order = None
        self.terminal.extend(dict(line) for line in state["terminal"])
        self.files.extend(dict(row) for row in state["files"])
        self.errors.extend(dict(row) for row in state["errors"])
        self.documents = {doc["file_path"]: dict(doc) for doc in state["documents"]}
        self.artifacts = {art["file_path"]: dict(art) for art in state["artifacts"]}
        for run_row in state.get("runs") or []:
            self.runs[run_row["run_id"]] = dict(run_row)  # type: ignore[assignment]
        current = state.get("run")
        if current is not None and current["run_id"] not in self.runs:  # a sender that kept fewer runs than its run
            self._put_run(dict(current))  # type: ignore[arg-type]
        self._derive_status()
        self._snapshot = None

    # ---------------------------------------------------------------- the reducer, one method per event type

    def _put_item(self, kind: str, item: dict[str, Any]) -> None:
        items = self.items[kind]
        old = items.get(item["id"])
        items[item["id"]] = item
        self._tallies[kind].replace(old, item)

    def _component_update(self, message: Message) -> None:
        self._item_update(message, "component", message["component_id"])

    def _feature_update(self, message: Message) -> None:
        self._item_update(message, "feature", message["feature_id"])

    def _item_update(self, message: Message, kind: str, item_id: str) -> None:
        self.last_change = message["timestamp"]
        if self.runs:
            self._derive_status()
        items = self.items[kind]
        if message["removed"]:
            self._tallies[kind].replace(items.pop(item_id, None), None)
            return
        item = {
            "id": item_id,
            "name": message["name"],
            "status": message["status"],
            "raw_status": message["raw_status"],
            "progress": message["progress"],
            "metadata": message["metadata"],
        }
        self._tallies[kind].replace(items.get(item_id), item)
        items[item_id] = item

    def _checkpoint_update(self, message: Message) -> None:
        self.last_change = message["timestamp"]
        if self.runs:
            self._derive_status()
        checkpoint_id = message["checkpoint_id"]
        self._checkpoint_order = None
        if message["removed"]:
            self.checkpoints.pop(checkpoint_id, None)
            return
        self.checkpoints[checkpoint_id] = {
            "checkpoint_id": checkpoint_id,
            "timestamp": message.get("checkpoint_timestamp") or message["timestamp"],
            "phase": message["phase"],
            "status": message["status"],
            "tasks_completed": message["tasks_completed"],
            "files_created": message["files_created"],
            "metadata": message["metadata"],  # kept for the window; the snapshot's rows leave it out
            "error": message.get("error"),
        }

    def _build_progress(self, message: Message) -> None:
        self.progress = {key: message[key] for key in empty_progress()}
        self.files_status = message["status"]
        if "project" in message:
            self.project = dict(message["project"])  # type: ignore[assignment]
        if "last_change" in message:  # the sender's own figure (at open: the time the files record)
            self.last_change = message["last_change"]
        self._derive_status()

    def _derive_status(self) -> None:
        """The one place the session's status is set: the files' status, unless the last run decides it."""
        self.status = status_with_run(self.files_status, self._last_run(), self.last_change)

    def _last_run(self) -> RunOut | None:
        return next(reversed(self.runs.values())) if self.runs else None

    def _source_update(self, message: Message) -> None:
        self.source = dict(message["source"])  # type: ignore[assignment]

    def _terminal_output(self, message: Message) -> None:
        output_type, source, stamp = message["output_type"], message["source"], message["timestamp"]
        for line in message["output"].splitlines() or [""]:
            if len(line) > SNAPSHOT_LINE_CHARS:
                line = line[:SNAPSHOT_LINE_CHARS] + "…"
            self.terminal.append({"output": line, "output_type": output_type, "source": source, "timestamp": stamp})

    def _file_change(self, message: Message) -> None:
        path, file_type, change = message["file_path"], message["file_type"], message["change_type"]
        if not message.get("scan"):  # found by the first scan: state, not activity
            self.files.append(
                {"file_path": path, "file_type": file_type, "change_type": change, "timestamp": message["timestamp"]}
            )
        if path == ".buildrunner" and change in _GONE:  # the whole state folder went away
            self.documents = {p: d for p, d in self.documents.items() if not p.startswith(".buildrunner/")}
            self.artifacts.clear()
            return
        if file_type in DOCUMENT_TYPES:
            self._document_change(message, path, change)
        elif file_type == "artifact":
            size = message.get("size")
            if isinstance(size, int):
                modified = message.get("modified") or message["timestamp"]
                self.artifacts[path] = {"file_path": path, "size": size, "modified": modified}
            elif change in _GONE:
                self.artifacts.pop(path, None)

    def _document_change(self, message: Message, path: str, change: str) -> None:
        """A document changes with content, or goes away; a failed read (no content) keeps the last good one."""
        content = message["content"]
        if content is None:
            if change in _GONE:
                self.documents.pop(path, None)
            return
        size = message.get("size")
        self.documents[path] = {
            "file_path": path,
            "title": document_title(content, path),
            "size": size if isinstance(size, int) else len(content.encode("utf-8", "surrogatepass")),
            "content": content,
            "truncated": message["truncated"],
        }

    def _run_update(self, message: Message) -> None:
        run = {key: message[key] for key in RUN_KEYS}
        if message.get("cancelled"):
            run["cancelled"] = True
        self._put_run(run)  # type: ignore[arg-type]
        self._derive_status()

    def _put_run(self, run: RunOut) -> None:
        runs = self.runs
        if run["run_id"] in runs:
            runs[run["run_id"]] = run
            return
        runs[run["run_id"]] = run
        while len(runs) > SNAPSHOT_RUNS:
            del runs[next(iter(runs))]

    def _error(self, message: Message) -> None:
        self.errors.append(
            {
                "error_message": message["error_message"],
                "error_type": message["error_type"],
                "file_path": message["file_path"],
                "timestamp": message["timestamp"],
            }
        )


def _public_checkpoint(row: dict[str, Any]) -> Any:
    return {key: value for key, value in row.items() if key != "metadata"}


def as_snapshot(value: Any) -> Snapshot:
    return cast(Snapshot, value)
