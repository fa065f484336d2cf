"""What a project's files mean, as protocol events: the one place figures are derived from parsed files.

No Qt and no I/O: a source hands `ProjectDiffer.apply()` parsed inputs (`model.inputs`) and gets back the event
messages that describe the change, not yet numbered (a `SessionStore` stamps `session_id`, `epoch` and `seq`
and keeps the state they build). The differ keeps only what it needs to diff: the parsed files and the items
and figures it last reported. It is not thread-safe; its owner serialises access.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC
from typing import Any

from . import figures
from .classify import DOCUMENT_TYPES, STATE_DIR
from .clock import iso, iso_from_epoch, utc_now_iso
from .formats import Checkpoint, Document, FeatureRegistry, Item, parse_timestamp
from .inputs import FileFailed, FileRead, FileRemoved, LogAppended, Notice, SourceInput, StateDirChanged
from .messages import Message, ProjectOut

MONITOR_SOURCE = "buildrunner-gui"


class ProjectDiffer:
    def __init__(
        self,
        project_name: str,
        project_path: str = "",
        alias: str | None = None,
        clock: Callable[[], str] = utc_now_iso,
    ) -> None:
        self._folder_name = project_name
        self._project_path = project_path
        self._alias = alias
        self._clock = clock

        self._checkpoints: dict[str, Checkpoint] = {}  # by file
        self._shown_checkpoints: dict[str, Checkpoint] = {}  # by checkpoint id, as last reported
        self._registry: FeatureRegistry | None = None
        self._registry_mtime = 0.0
        self._documents: dict[str, Document] = {}
        self._artifacts: dict[str, tuple[int, float]] = {}

        self._components: dict[str, Item] = {}
        self._features: dict[str, Item] = {}
        self._component_index = figures.ComponentIndex()
        self._stamp = ""
        self._figures: dict[str, Any] = {}  # the last `build_progress` body reported
        self._last_change: str | None = None

    @property
    def project(self) -> ProjectOut:
        name = self._registry.project.strip() if self._registry is not None else ""
        return {"name": name or self._folder_name, "alias": self._alias, "path": self._project_path}

    # ---------------------------------------------------------------- applying changes

    def apply(self, inputs: Iterable[SourceInput]) -> list[Message]:
        """Apply a batch of inputs; return its events: the derived ones (items, checkpoints, figures), then the
        batch's file changes, errors and output in the order they happened. Figures are re-derived once per
        batch, and the batch's events share one timestamp (they describe one moment)."""
        self._stamp = self._clock()
        out: list[Message] = []
        derived_dirty = watched_change = False
        for entry in inputs:
            if isinstance(entry, FileRead):
                if self._apply_read(entry, out):
                    derived_dirty = True
                    watched_change |= entry.announce
            elif isinstance(entry, FileRemoved):
                if self._apply_removed(entry, out):
                    derived_dirty = watched_change = True
            elif isinstance(entry, FileFailed):
                if entry.file_type in DOCUMENT_TYPES and entry.change in ("deleted", "moved"):
                    self._documents.pop(entry.path, None)  # as the store does with a content-less move
                out.append(self._file_change(entry.path, entry.file_type, entry.change))
                out.append(self._error(entry.reason, entry.error_type, entry.path))
            elif isinstance(entry, LogAppended):
                self._apply_log(entry, out)
            elif isinstance(entry, StateDirChanged):
                self._apply_state_dir(entry, out)
            elif isinstance(entry, Notice):
                if entry.error_type:
                    out.append(self._error(entry.text, entry.error_type, None))
                else:
                    out.append(self._terminal(entry.text, "info", MONITOR_SOURCE))
        if not derived_dirty:
            return out
        self._last_change = self._stamp if watched_change else self._recorded_last_change()
        derived: list[Message] = []
        self._rederive(derived)
        # What the build's state now is goes first, the file activity that caused it after: clients see the
        # change itself as early as possible (a fan-out writes each message to every client in turn).
        return derived + out

    def _apply_read(self, entry: FileRead, out: list[Message]) -> bool:
        record = entry.record
        if not (entry.change == "modified" and self._unchanged(entry)):
            if isinstance(record, Document):
                out.append(
                    self._file_change(
                        entry.path,
                        entry.file_type,
                        entry.change,
                        record.content,
                        record.truncated,
                        record.size,
                        scan=not entry.announce,
                    )
                )
            elif entry.file_type == "artifact":
                modified = iso_from_epoch(entry.mtime)
                out.append(
                    self._file_change(
                        entry.path,
                        "artifact",
                        entry.change,
                        size=entry.size,
                        modified=modified,
                        scan=not entry.announce,
                    )
                )
            elif entry.announce:
                out.append(self._file_change(entry.path, entry.file_type, entry.change))
        if isinstance(record, Checkpoint):
            if self._checkpoints.get(entry.path) == record:
                return False
            self._checkpoints[entry.path] = record
            return True
        if isinstance(record, FeatureRegistry):
            if self._registry == record:
                return False
            self._registry, self._registry_mtime = record, entry.mtime
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

    def _apply_removed(self, entry: FileRemoved, out: list[Message]) -> bool:
        out.append(self._file_change(entry.path, entry.file_type, entry.change))
        self._documents.pop(entry.path, None)
        self._artifacts.pop(entry.path, None)
        if entry.file_type == "checkpoint" and entry.path in self._checkpoints:
            del self._checkpoints[entry.path]
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
            out.append(self._terminal(f"{entry.path}: log restarted (truncated or rotated)", "info", source))
        if entry.text:
            out.append(self._terminal(entry.text, "stdout", source))

    def _apply_state_dir(self, entry: StateDirChanged, out: list[Message]) -> None:
        if entry.present:
            if not entry.at_start:
                out.append(self._file_change(STATE_DIR, "other", "created"))
                out.append(self._terminal(f"{STATE_DIR}/ appeared; reading it", "info", MONITOR_SOURCE))
        elif entry.at_start:
            waiting = f"{STATE_DIR}/ does not exist yet; waiting for the build to create it"
            out.append(self._terminal(waiting, "info", MONITOR_SOURCE))
        else:
            out.append(self._file_change(STATE_DIR, "other", "deleted"))
            gone = f"{STATE_DIR}/ was deleted; waiting for it to come back"
            out.append(self._error(gone, "state_dir_missing", STATE_DIR))

    def _recorded_last_change(self) -> str | None:
        """formats.md, Activity: at open, the newest time the build state records itself (a checkpoint without
        a `timestamp` stands at its file's mtime, as formats.md defaults it). The registry's file mtime counts
        only when nothing at all is recorded: a clone or a copy resets mtimes, and must not look like a build."""
        moments = [checkpoint.timestamp for checkpoint in self._checkpoints.values()]
        if self._registry is not None:
            updated = parse_timestamp(self._registry.last_updated)
            if updated is not None:
                moments.append(updated if updated.tzinfo else updated.astimezone(UTC))
            elif not moments and self._registry_mtime > 0:
                return iso_from_epoch(self._registry_mtime)
        return iso(max(moments)) if moments else None

    # ---------------------------------------------------------------- derived state and its diff

    def _rederive(self, out: list[Message]) -> None:
        history = figures.ordered(self._checkpoints.values())
        current = figures.latest(history)
        features = [_reuse(self._features, item) for item in figures.shown_features(self._registry, current)]
        components = figures.shown_components(features, current, self._component_index)
        if current is not None and current.components:
            components = [_reuse(self._components, item) for item in components]

        # One row per checkpoint id (the protocol names checkpoints by id): where two files carry the same id,
        # the later one in history order is the one shown.
        shown = {checkpoint.id: checkpoint for checkpoint in history}
        for checkpoint_id, checkpoint in self._shown_checkpoints.items():
            if checkpoint_id not in shown:
                out.append(self._checkpoint(checkpoint, removed=True))
        for checkpoint_id, checkpoint in shown.items():
            if self._shown_checkpoints.get(checkpoint_id) is not checkpoint:
                out.append(self._checkpoint(checkpoint))
        self._shown_checkpoints = shown

        self._components = self._diff_items(self._components, components, "component", out)
        self._features = self._diff_items(self._features, features, "feature", out)

        feature_stats, component_stats = figures.stats(features), figures.stats(components)
        progress = figures.overall(history, current, features, components, feature_stats, component_stats)
        body = {**progress.public(), "project": self.project}
        if body != self._figures:  # `last_change` rides along; on its own it is no change of the figures
            self._figures = body
            out.append(self._event("build_progress", {**body, "last_change": self._last_change}))

    def _diff_items(
        self, before: dict[str, Item], after_list: Sequence[Item], kind: str, out: list[Message]
    ) -> dict[str, Item]:
        after = {item.id: item for item in after_list}
        for item_id, item in after.items():
            old = before.get(item_id)
            if old is not item and (old is None or old != item):
                out.append(self._item(kind, item, removed=False))
        for item_id, item in before.items():
            if item_id not in after:
                out.append(self._item(kind, item, removed=True))
        return after

    # ---------------------------------------------------------------- events (numbered later, by the store)

    def _event(self, message_type: str, body: dict[str, Any]) -> Message:
        message: Message = {"type": message_type, "session_id": "", "epoch": "", "seq": 0, "timestamp": self._stamp}
        message.update(body)
        return message

    def _item(self, kind: str, item: Item, removed: bool) -> Message:
        return self._event(f"{kind}_update", {f"{kind}_id": item.id, **item.public(), "removed": removed})

    def _checkpoint(self, checkpoint: Checkpoint, removed: bool = False) -> Message:
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
                "checkpoint_timestamp": checkpoint.timestamp.isoformat().replace("+00:00", "Z"),
                "error": checkpoint.error,
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
        modified: str | None = None,
        scan: bool = False,
    ) -> Message:
        body: dict[str, Any] = {
            "file_path": path,
            "file_type": file_type,
            "change_type": change,
            "content": content if file_type in DOCUMENT_TYPES else None,
            "truncated": truncated,
        }
        if size is not None:
            body["size"] = size
        if modified is not None:
            body["modified"] = modified
        if scan:
            body["scan"] = True
        return self._event("file_change", body)

    def _terminal(self, text: str, output_type: str, source: str) -> Message:
        return self._event("terminal_output", {"output": text, "output_type": output_type, "source": source})

    def _error(self, reason: str, error_type: str, path: str | None) -> Message:
        body = {"error_message": reason, "error_type": error_type, "file_path": path, "traceback": None}
        return self._event("error", body)


def _reuse(shown: dict[str, Item], item: Item) -> Item:
    """The item shown before, when it was written exactly the same way: unchanged items stay the same
    objects, so the diff and the component index recognise them by identity."""
    old = shown.get(item.id)
    if old is None or old is item:
        return item
    return old if old.raw == item.raw else item
