"""The session engine: one project's state, and the protocol messages each change produces.

No Qt and no I/O: sources hand it parsed inputs (`model.inputs`), it returns event messages (plain dicts,
shaped as `model.messages` describes) and can produce the snapshot at any time. It is not thread-safe;
its owner serialises access.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from . import figures
from .classify import DOCUMENT_TYPES, STATE_DIR
from .formats import Checkpoint, Document, FeatureRegistry, Item
from .inputs import (
    FileFailed,
    FileRead,
    FileRemoved,
    LogAppended,
    Notice,
    SourceInput,
    StateDirChanged,
)

TERMINAL_LINES = 1_000
FILE_EVENTS = 200
ERROR_EVENTS = 100
REPLAY_EVENTS = 10_000
REPLAY_BYTES = 4 * 1024 * 1024  # and at most about this much text: a resume past it gets a fresh status
SNAPSHOT_CHECKPOINTS = 500
SNAPSHOT_LINE_CHARS = 1_000  # long lines are clipped in the snapshot (events carry them whole)
MONITOR_SOURCE = "buildrunner-gui"

Message = dict[str, Any]


def utc_now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SessionEngine:
    def __init__(
        self,
        session_id: str,
        project_name: str,
        project_path: str = "",
        alias: str | None = None,
        clock: Callable[[], str] = utc_now_iso,
        epoch: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.epoch = epoch or secrets.token_hex(8)
        self.seq = 0
        self._folder_name = project_name
        self._project_path = project_path
        self._alias = alias
        self._clock = clock

        self._checkpoints: dict[str, Checkpoint] = {}
        self._registry: FeatureRegistry | None = None
        self._documents: dict[str, Document] = {}
        self._artifacts: dict[str, tuple[int, float]] = {}

        self._history: list[Checkpoint] = []
        self._components: dict[str, Item] = {}
        self._features: dict[str, Item] = {}
        self._component_index = figures.ComponentIndex()
        self._batch_stamp: str | None = None
        self._component_stats = figures.stats([])
        self._feature_stats = figures.stats([])
        self._progress = figures.overall([], None, [], [], self._feature_stats, self._component_stats)

        self._terminal: deque[dict[str, Any]] = deque(maxlen=TERMINAL_LINES)
        self._files: deque[dict[str, Any]] = deque(maxlen=FILE_EVENTS)
        self._errors: deque[dict[str, Any]] = deque(maxlen=ERROR_EVENTS)
        self._replay: deque[tuple[Message, int]] = deque()  # (event, approximate size)
        self._replay_bytes = 0

    # ---------------------------------------------------------------- applying changes

    def apply(self, inputs: Iterable[SourceInput]) -> list[Message]:
        """Apply a batch of inputs; return the event messages, in order. Figures are re-derived once per batch,
        and the batch's messages share one timestamp (they describe one moment)."""
        self._batch_stamp = self._clock()
        try:
            return self._apply_batch(inputs)
        finally:
            self._batch_stamp = None

    def _apply_batch(self, inputs: Iterable[SourceInput]) -> list[Message]:
        out: list[Message] = []
        touched: list[Checkpoint] = []
        removed_checkpoints: list[Checkpoint] = []
        derived_dirty = False
        for entry in inputs:
            if isinstance(entry, FileRead):
                derived_dirty |= self._apply_read(entry, out, touched)
            elif isinstance(entry, FileRemoved):
                derived_dirty |= self._apply_removed(entry, out, removed_checkpoints)
            elif isinstance(entry, FileFailed):
                out.append(self._file_change(entry.path, entry.file_type, entry.change))
                out.append(self._error(entry.reason, entry.error_type, entry.path))
            elif isinstance(entry, LogAppended):
                self._apply_log(entry, out)
            elif isinstance(entry, StateDirChanged):
                self._apply_state_dir(entry, out)
            elif isinstance(entry, Notice):
                out.append(self._terminal_event(entry.text, "info", MONITOR_SOURCE))
        if derived_dirty:
            self._rederive(out, touched, removed_checkpoints)
        return out

    def _apply_read(self, entry: FileRead, out: list[Message], touched: list[Checkpoint]) -> bool:
        record = entry.record
        if entry.announce and not (entry.change == "modified" and self._unchanged(entry)):
            content = record.content if isinstance(record, Document) else None
            truncated = record.truncated if isinstance(record, Document) else False
            size = entry.size if entry.file_type == "artifact" else None
            out.append(self._file_change(entry.path, entry.file_type, entry.change, content, truncated, size))
        if isinstance(record, Checkpoint):
            if self._checkpoints.get(entry.path) == record:
                return False
            self._checkpoints[entry.path] = record
            touched.append(record)
            return True
        if isinstance(record, FeatureRegistry):
            if self._registry == record:
                return False
            self._registry = record
            return True
        if isinstance(record, Document):
            self._documents[entry.path] = record
        elif entry.file_type == "artifact":
            self._artifacts[entry.path] = (entry.size, entry.mtime)
        return False

    def _unchanged(self, entry: FileRead) -> bool:
        """A re-read that found the same content (editors and close events often report one write twice)."""
        record = entry.record
        if isinstance(record, Checkpoint):
            return self._checkpoints.get(entry.path) == record
        if isinstance(record, FeatureRegistry):
            return self._registry == record
        if isinstance(record, Document):
            return self._documents.get(entry.path) == record
        if entry.file_type == "artifact":
            return self._artifacts.get(entry.path) == (entry.size, entry.mtime)
        return False

    def _apply_removed(self, entry: FileRemoved, out: list[Message], removed: list[Checkpoint]) -> bool:
        out.append(self._file_change(entry.path, entry.file_type, entry.change))
        self._documents.pop(entry.path, None)
        self._artifacts.pop(entry.path, None)
        if entry.file_type == "checkpoint" and entry.path in self._checkpoints:
            removed.append(self._checkpoints.pop(entry.path))
            return True
        if entry.file_type == "features" and self._registry is not None:
            self._registry = None
            return True
        if entry.path == STATE_DIR:
            self._documents = {p: d for p, d in self._documents.items() if not p.startswith(STATE_DIR + "/")}
            self._artifacts.clear()
        return False

    def _apply_log(self, entry: LogAppended, out: list[Message]) -> None:
        source = "log:" + entry.path.rsplit("/", 1)[-1]
        if entry.restarted:
            out.append(self._terminal_event(f"{entry.path}: log restarted (truncated or rotated)", "info", source))
        if entry.text:
            out.append(self._terminal_event(entry.text, "stdout", source))

    def _apply_state_dir(self, entry: StateDirChanged, out: list[Message]) -> None:
        if entry.present:
            if not entry.at_start:
                out.append(self._file_change(STATE_DIR, "other", "created"))
                out.append(self._terminal_event(f"{STATE_DIR}/ appeared; reading it", "info", MONITOR_SOURCE))
        elif entry.at_start:
            out.append(
                self._terminal_event(
                    f"{STATE_DIR}/ does not exist yet; waiting for the build to create it", "info", MONITOR_SOURCE
                )
            )
        else:
            out.append(self._file_change(STATE_DIR, "other", "deleted"))
            out.append(
                self._error(f"{STATE_DIR}/ was deleted; waiting for it to come back", "state_dir_missing", STATE_DIR)
            )

    # ---------------------------------------------------------------- derived state and its diff

    def _rederive(self, out: list[Message], touched: list[Checkpoint], removed: list[Checkpoint]) -> None:
        self._history = figures.ordered(self._checkpoints.values())
        current = figures.latest(self._history)
        features = [_reuse(self._features, item) for item in figures.shown_features(self._registry, current)]
        components = figures.shown_components(features, current, self._component_index)
        if current is not None and current.components:
            components = [_reuse(self._components, item) for item in components]

        for checkpoint in removed:
            if all(c.id != checkpoint.id for c in self._history):
                out.append(self._checkpoint_event(checkpoint, removed=True))
        for checkpoint in touched:
            out.append(self._checkpoint_event(checkpoint))

        self._components = self._diff_items(self._components, components, "component", out)
        self._features = self._diff_items(self._features, features, "feature", out)

        self._component_stats = figures.stats(components)
        self._feature_stats = figures.stats(features)
        progress = figures.overall(
            self._history, current, features, components, self._feature_stats, self._component_stats
        )
        if progress != self._progress:
            self._progress = progress
            out.append(self._event("build_progress", progress.public()))

    def _diff_items(
        self, before: dict[str, Item], after_list: Sequence[Item], kind: str, out: list[Message]
    ) -> dict[str, Item]:
        after = {item.id: item for item in after_list}
        for item_id, item in after.items():
            old = before.get(item_id)
            if old is not item and (old is None or old != item):
                out.append(self._item_event(kind, item, removed=False))
        for item_id, item in before.items():
            if item_id not in after:
                out.append(self._item_event(kind, item, removed=True))
        return after

    # ---------------------------------------------------------------- messages

    def _common(self, message_type: str) -> Message:
        return {
            "type": message_type,
            "session_id": self.session_id,
            "epoch": self.epoch,
            "seq": self.seq,
            "timestamp": self._batch_stamp or self._clock(),
        }

    def _event(self, message_type: str, body: dict[str, Any]) -> Message:
        self.seq += 1
        message = self._common(message_type)
        message.update(body)
        self._remember(message)
        return message

    def _remember(self, message: Message) -> None:
        """Keep the event for resuming clients, within both the count and the size bound."""
        size = 100 + len(message.get("output") or "") + len(message.get("content") or "")
        self._replay.append((message, size))
        self._replay_bytes += size
        while len(self._replay) > REPLAY_EVENTS or self._replay_bytes > REPLAY_BYTES:
            self._replay_bytes -= self._replay.popleft()[1]

    def _item_event(self, kind: str, item: Item, removed: bool) -> Message:
        body = {f"{kind}_id": item.id, **item.public(), "removed": removed}
        return self._event(f"{kind}_update", body)

    def _checkpoint_event(self, checkpoint: Checkpoint, removed: bool = False) -> Message:
        return self._event(
            "checkpoint_update",
            {
                "checkpoint_id": checkpoint.id,
                "phase": checkpoint.phase,
                "status": checkpoint.status,
                "tasks_completed": list(checkpoint.tasks_completed),
                "files_created": list(checkpoint.files_created),
                "metadata": checkpoint.metadata,
                "removed": removed,
            },
        )

    def _file_change(
        self,
        path: str,
        file_type: str,
        change: str,
        content: str | None = None,
        truncated: bool = False,
        size: int | None = None,
    ) -> Message:
        body: dict[str, Any] = {
            "file_path": path,
            "file_type": file_type,
            "change_type": change,
            "content": content if file_type in DOCUMENT_TYPES else None,
            "truncated": truncated,
        }
        if size is not None:  # beyond protocol.md: lets a mirror list an artifact's size without asking
            body["size"] = size
        message = self._event("file_change", body)
        self._files.append(
            {
                "file_path": path,
                "file_type": file_type,
                "change_type": change,
                "timestamp": message["timestamp"],
            }
        )
        return message

    def _terminal_event(self, text: str, output_type: str, source: str) -> Message:
        message = self._event("terminal_output", {"output": text, "output_type": output_type, "source": source})
        stamp = message["timestamp"]
        for line in text.splitlines() or [""]:
            if len(line) > SNAPSHOT_LINE_CHARS:
                line = line[:SNAPSHOT_LINE_CHARS] + "…"
            self._terminal.append({"output": line, "output_type": output_type, "source": source, "timestamp": stamp})
        return message

    def _error(self, reason: str, error_type: str, path: str | None) -> Message:
        message = self._event(
            "error",
            {
                "error_message": reason,
                "error_type": error_type,
                "file_path": path,
                "traceback": None,
            },
        )
        self._errors.append(
            {
                "error_message": reason,
                "error_type": error_type,
                "file_path": path,
                "timestamp": message["timestamp"],
            }
        )
        return message

    def control(self, message_type: str, **body: Any) -> Message:
        """A non-event message (`connection`, `pong`, `subscribed`, an `error` answer): the current seq."""
        message = self._common(message_type)
        message.update(body)
        return message

    def status_message(self) -> Message:
        return self.control("status", state=self.snapshot())

    # ---------------------------------------------------------------- reading state

    def events_after(self, epoch: str, last_seq: int) -> list[Message] | None:
        """The events after `last_seq` for a client resuming; None when they are no longer all buffered."""
        if epoch != self.epoch or last_seq > self.seq or last_seq < 0:
            return None
        if last_seq == self.seq:
            return []
        if not self._replay or self._replay[0][0]["seq"] > last_seq + 1:
            return None
        start = last_seq + 1 - self._replay[0][0]["seq"]
        return [message for message, _ in list(self._replay)[start:]]

    @property
    def project_name(self) -> str:
        if self._registry is not None and self._registry.project.strip():
            return self._registry.project.strip()
        return self._folder_name

    @property
    def progress(self) -> dict[str, Any]:
        return self._progress.public()

    def snapshot(self) -> dict[str, Any]:
        return {
            "project": {"name": self.project_name, "alias": self._alias, "path": self._project_path},
            "status": self._progress.status,
            "progress": self._progress.public(),
            "component_stats": dict(self._component_stats),
            "feature_stats": dict(self._feature_stats),
            "components": [item.public() for item in self._components.values()],
            "features": [item.public() for item in self._features.values()],
            "checkpoints": [_checkpoint_row(c) for c in self._history[-SNAPSHOT_CHECKPOINTS:]],
            "terminal": list(self._terminal),
            "files": list(self._files),
            "errors": list(self._errors),
            "documents": [
                {
                    "file_path": d.file_path,
                    "title": d.title,
                    "size": d.size,
                    "content": d.content,
                    "truncated": d.truncated,
                }
                for _, d in sorted(self._documents.items())
            ],
            "artifacts": [
                {"file_path": path, "size": size, "modified": iso(datetime.fromtimestamp(mtime, UTC))}
                for path, (size, mtime) in sorted(self._artifacts.items())
            ],
        }


def _reuse(shown: dict[str, Item], item: Item) -> Item:
    """The item shown before, when it was written exactly the same way: unchanged items stay the same
    objects, so the diff and the component index recognise them by identity."""
    old = shown.get(item.id)
    if old is None or old is item:
        return item
    return old if old.raw == item.raw else item


def _checkpoint_row(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "checkpoint_id": checkpoint.id,
        "timestamp": checkpoint.timestamp.isoformat().replace("+00:00", "Z"),
        "phase": checkpoint.phase,
        "status": checkpoint.status,
        "tasks_completed": list(checkpoint.tasks_completed),
        "files_created": list(checkpoint.files_created),
    }
