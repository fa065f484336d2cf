"""What the app shows, derived from parsed files (formats.md: components, features, figures, status rules).

Pure functions of (checkpoints, registry): the differ (`derive.py`) calls them after every change and diffs the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .formats import Checkpoint, FeatureRegistry, Item
from .normalize import Status


def ordered(checkpoints: Iterable[Checkpoint]) -> list[Checkpoint]:
    """History order: by timestamp, then file name."""
    return sorted(checkpoints, key=lambda checkpoint: checkpoint.order_key)


def latest(history: Sequence[Checkpoint]) -> Checkpoint | None:
    """The last checkpoint in history order that is not rolled back."""
    for checkpoint in reversed(history):
        if not checkpoint.rolled_back:
            return checkpoint
    return None


def shown_features(registry: FeatureRegistry | None, current: Checkpoint | None) -> list[Item]:
    """The registry's features, overlaid by the latest checkpoint's entries with the same id.

    A checkpoint entry whose id the registry does not know is shown after the registry's features: a build
    that reports features only through its checkpoints should still show them.
    """
    features = {item.id: item for item in (registry.features if registry else [])}
    for entry in (current.features or []) if current else []:
        base = features.get(entry.id)
        features[entry.id] = base.overlaid(entry) if base else entry
    return list(features.values())


def shown_components(
    features: Sequence[Item], current: Checkpoint | None, index: ComponentIndex | None = None
) -> list[Item]:
    """The latest checkpoint's components when it has any, else the paths the features list.

    `index` (kept by the caller between calls) re-derives only the components whose features changed."""
    if current is not None and current.components:
        return list(current.components)
    return (index or ComponentIndex()).update(features)


class ComponentIndex:
    """Components derived from the features' `components` paths, maintained incrementally.

    When the features keep their order and their paths, only the components listed by features that are
    not the very same objects as last time are rebuilt; anything else rebuilds the index."""

    def __init__(self) -> None:
        self._features: list[Item] = []
        self._owners: dict[str, list[int]] = {}  # path -> positions of the features listing it, in order
        self._components: dict[str, Item] = {}

    def update(self, features: Sequence[Item]) -> list[Item]:
        previous = self._features
        changed: list[int] | None = None
        if len(previous) == len(features):
            changed = []
            for position, (old, new) in enumerate(zip(previous, features, strict=True)):
                if old is not new:
                    if old.id != new.id or old.component_paths() != new.component_paths():
                        changed = None
                        break
                    changed.append(position)
        self._features = list(features)
        if changed is None:
            self._rebuild()
        else:
            touched = dict.fromkeys(path for position in changed for path in features[position].component_paths())
            for path in touched:
                self._components[path] = self._derive(path)
        return list(self._components.values())

    def _rebuild(self) -> None:
        owners: dict[str, list[int]] = {}
        for position, feature in enumerate(self._features):
            for path in feature.component_paths():
                listed = owners.get(path)
                if listed is None:
                    owners[path] = [position]
                else:
                    listed.append(position)
        self._owners = owners
        self._components = {path: self._derive(path) for path in owners}

    def _derive(self, path: str) -> Item:
        return _component_from_features(path, [self._features[i] for i in self._owners[path]])


def _component_from_features(path: str, owners: list[Item]) -> Item:
    statuses = [owner.status for owner in owners]
    status: Status
    if "failed" in statuses:
        status = "failed"
    elif all(s == "completed" for s in statuses):
        status = "completed"
    elif "in_progress" in statuses or "completed" in statuses:
        status = "in_progress"
    else:
        status = "pending"
    return Item(
        path,
        path,
        status,
        status,
        sum(owner.progress for owner in owners) / len(owners),
        {"features": [owner.id for owner in owners]},
    )


class ItemTally:
    """Counts by status and the summed progress of a set of items, kept incrementally.

    The one definition of `component_stats` / `feature_stats`: the engine uses it for the overall figures and
    the store for the snapshot. Progress is summed in millionths as an integer, so adding and removing items
    in any order gives exactly the figure a fresh count gives (a float sum would drift)."""

    __slots__ = ("_counts", "_micro", "_total")

    def __init__(self) -> None:
        self._counts = {"completed": 0, "in_progress": 0, "pending": 0, "failed": 0}
        self._micro = 0
        self._total = 0

    def add(self, status: str, progress: float) -> None:
        self._counts[status] = self._counts.get(status, 0) + 1
        self._micro += round(progress * 1_000_000)
        self._total += 1

    def remove(self, status: str, progress: float) -> None:
        self._counts[status] -= 1
        self._micro -= round(progress * 1_000_000)
        self._total -= 1

    def replace(self, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        """One item (a dict with `status` and `progress`) changed: `old` (or None) left, `new` (or None) came."""
        counts = self._counts
        if old is not None:
            counts[old["status"]] -= 1
            self._micro -= round(old["progress"] * 1_000_000)
            self._total -= 1
        if new is not None:
            status = new["status"]
            counts[status] = counts.get(status, 0) + 1
            self._micro += round(new["progress"] * 1_000_000)
            self._total += 1

    def stats(self) -> dict[str, Any]:
        mean = round(self._micro / 1_000_000 / self._total, 1) if self._total else 0.0
        return {"total": self._total, **self._counts, "completion_percentage": mean}


def stats(items: Iterable[Item]) -> dict[str, Any]:
    tally = ItemTally()
    for item in items:
        tally.add(item.status, item.progress)
    return tally.stats()


@dataclass(frozen=True)
class Progress:
    """Overall progress; `public()` is the snapshot's `progress` and the body of `build_progress`."""

    total: int
    completed: int
    percent: float
    status: Status
    tasks_completed: int
    files_created: int

    def public(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "completed": self.completed,
            "percent": self.percent,
            "status": self.status,
            "tasks_completed": self.tasks_completed,
            "files_created": self.files_created,
        }


def overall(
    history: Sequence[Checkpoint],
    current: Checkpoint | None,
    features: Sequence[Item],
    components: Sequence[Item],
    feature_stats: dict[str, Any],
    component_stats: dict[str, Any],
) -> Progress:
    counted = [checkpoint for checkpoint in history if not checkpoint.rolled_back]
    tasks = {task for checkpoint in counted for task in checkpoint.tasks_completed}
    files = {path for checkpoint in counted for path in checkpoint.files_created}

    if current is not None and current.completion is not None:
        percent = current.completion
    elif features:
        percent = feature_stats["completion_percentage"]
    elif components:
        percent = component_stats["completion_percentage"]
    else:
        percent = 0.0

    counted_items = features if features else components
    return Progress(
        total=len(counted_items),
        completed=(feature_stats if features else component_stats)["completed"],
        percent=round(float(percent), 1),
        status=status_from_counts(
            current,
            percent,
            {key: feature_stats[key] + component_stats[key] for key in ("total", "completed", "in_progress", "failed")},
        ),
        tasks_completed=len(tasks),
        files_created=len(files),
    )


def status_from_counts(current: Checkpoint | None, percent: float, counts: dict[str, int]) -> Status:
    """The seven rules of formats.md, first match wins, over item counts by status. Errors come before
    "phase contains build_" on purpose: BuildRunner's own order hides a failed build behind "in progress"."""
    if current is not None and current.error:
        return "failed"
    if counts["failed"]:
        return "failed"
    if current is not None and "build_" in current.phase and percent < 100:
        return "in_progress"
    if percent >= 100:
        return "completed"
    if counts["total"] and counts["completed"] == counts["total"]:
        return "completed"
    if counts["in_progress"]:
        return "in_progress"
    return "pending"
