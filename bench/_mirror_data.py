"""Projects and registry writes for bench_mirror.py: no Qt, no package imports (the parent process stays light).

Every project starts as a copy of the real BR3 sample (`/work/shared/fixtures/br3-sample`); its registry is
`.buildrunner/features.json`. Registries are written as a careful writer does: a temporary file, then os.replace,
so a watcher never reads a half-written one.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import random
import shutil
import stat
from pathlib import Path
from typing import Any

SAMPLE = Path("/work/shared/fixtures/br3-sample")
REGISTRY = ".buildrunner/features.json"
CHECKPOINT = ".buildrunner/checkpoints/busy.json"
LOG = ".buildrunner/logs/build.log"
# Never "complete": a completed feature's progress reads as 100 whatever the file says, and every write must change
# the progress shown, which is how a change is recognised in the window.
STATUSES = ("in_progress", "failed", "pending")
COMPONENT_POOL = 500  # component paths shared between the burst registry's features, as in real registries

Registry = dict[str, Any]


# ---------------------------------------------------------------------------- projects


def copy_sample(destination: Path) -> Path:
    """A writable copy of the BR3 sample project (the fixture's files and folders are read-only)."""
    shutil.copytree(SAMPLE, destination)
    for folder, _dirs, files in os.walk(destination):
        os.chmod(folder, os.stat(folder).st_mode | stat.S_IWUSR)
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    return destination


def sample_registry() -> Registry:
    """A fresh copy each call (callers change it); the file is read once."""
    return copy.deepcopy(_sample_registry())


@functools.cache
def _sample_registry() -> Registry:
    return json.loads((SAMPLE / REGISTRY).read_text())


def write_atomic(path: Path, data: bytes) -> None:
    """A temporary file in the same folder, then os.replace: readers see the old file or the new one."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def encode(registry: Registry, indent: int | None = 2) -> bytes:
    """BuildRunner writes its registry indented; the 10,000-feature one is compact (4.6 MB rather than 8)."""
    return json.dumps(registry, indent=indent).encode()


# ---------------------------------------------------------------------------- 1. one feature per write


def one_change(base: Registry, write: int) -> tuple[Registry, str, float]:
    """Write number `write` (from 1): feature `write % n` gets a new status and a progress it did not have.

    Returns the registry, the feature's id and its progress. Consecutive writes of the same feature are n writes
    apart, and n is not a multiple of 98, so its progress always changes."""
    registry = copy.deepcopy(base)
    features = registry["features"]
    feature = features[write % len(features)]
    progress = float(1 + write % 98)
    feature["status"] = STATUSES[write % len(STATUSES)]
    feature["progress"] = progress
    registry["last_updated"] = f"2026-12-06T10:{write // 60 % 60:02d}:{write % 60:02d}.000000Z"
    return registry, feature["id"], progress


# ---------------------------------------------------------------------------- 2. every feature at once


def burst_progress(round_number: int) -> float:
    """The progress every feature has after burst `round_number`: different from the round before."""
    return float(1 + (round_number * 13) % 97)


def burst_feature_id(index: int) -> str:
    return f"feat-{index:05d}"


def burst_registry(count: int, round_number: int) -> Registry:
    """`count` features shaped like the sample's (descriptions, components shared between features, tests,
    dependencies); round `round_number` gives every one of them a new status and progress."""
    templates = _sample_registry()["features"]
    rng = random.Random(11)  # the same features every round: only status and progress move
    progress = burst_progress(round_number)
    features = []
    for index in range(count):
        template = templates[index % len(templates)]
        components = sorted({f"src/module_{rng.randrange(COMPONENT_POOL):03d}.py" for _ in range(rng.randint(1, 3))})
        features.append(
            {
                "id": burst_feature_id(index),
                "name": f"{template['name']} #{index}",
                "description": template.get("description", ""),
                "priority": template.get("priority", "medium"),
                "status": STATUSES[(index + round_number) % len(STATUSES)],
                "progress": progress,
                "components": components,
                "tests": {"unit": rng.randrange(40), "integration": rng.randrange(12), "passing": True},
                "dependencies": [burst_feature_id(rng.randrange(index))] if index else [],
                "created_at": "2024-11-01T00:00:00Z",
            }
        )
    return {"project": "burst", "version": "1.0", "status": "active", "features": features}


# ---------------------------------------------------------------------------- 3. a busy build in many projects


def busy_registry(features: int, visit: int, changes: int) -> Registry:
    """The sample's features repeated to `features`; on visit `visit`, `changes` of them (a window moving with the
    visits) have a new status and progress."""
    templates = _sample_registry()["features"]
    moved = {(visit * changes + i) % features for i in range(changes)} if visit else set()
    out = []
    for index in range(features):
        feature = copy.deepcopy(templates[index % len(templates)])
        feature["id"] = f"feat-{index:04d}"
        feature["name"] = f"{feature['name']} #{index}"
        if index in moved:
            feature["status"] = STATUSES[visit % len(STATUSES)]
            feature["progress"] = float(1 + visit % 98)
        out.append(feature)
    return {"project": "busy", "version": "1.0", "status": "active", "features": out}


def busy_checkpoint(visit: int) -> Registry:
    return {
        "id": "busy",
        "timestamp": f"2026-12-06T10:00:00.{visit % 1_000_000:06d}",
        "phase": f"busy_{visit:06d}",
        "tasks_completed": [f"task-{i}" for i in range(visit % 40)],
        "files_created": [],
        "status": "active",
        "metadata": {"name": "busy", "description": "benchmark build", "created_by": "cli"},
        "completion": visit % 100,
    }


def make_busy_project(destination: Path, features: int) -> Path:
    """A sample copy with a `features`-feature registry, a checkpoint the build rewrites and a build log."""
    copy_sample(destination)
    write_atomic(destination / REGISTRY, encode(busy_registry(features, 0, 0)))
    write_atomic(destination / CHECKPOINT, encode(busy_checkpoint(0)))
    (destination / LOG).write_bytes(b"")
    return destination
