"""A simulated BuildRunner build, for `buildrunner-gui --demo` and `serve --demo`.

`DemoBuild` writes a plausible BuildRunner 3 project state into a folder and then, on a daemon thread, plays a
whole build through in about `duration` seconds: features go planned -> in progress -> (testing) -> complete,
one feature fails its tests midway and is fixed, checkpoints are written every few steps, `logs/build.log`
grows, the context documents are rewritten, and a few artifacts appear. The run ends with every feature
complete and a final `build_complete` checkpoint at 100%.

Every file is written atomically (a dot-named `.tmp` file in the same folder, then `os.replace`), except the
log, which only ever gets whole lines appended, so a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROJECT_FOLDER_NAME = "demo-project"
THREAD_NAME = "demo-build"
STATE_DIR = ".buildrunner"
LOG_FILE = "build.log"
PROJECT_NAME = "Taskboard"
PROJECT_VERSION = "0.1.0"

_REPLACE_ATTEMPTS = 5  # os.replace can fail briefly on Windows while a reader has the target open
_REPLACE_RETRY_DELAY = 0.02


# ---------------------------------------------------------------- the project being "built"


@dataclass(frozen=True)
class _FeatureSpec:
    id: str
    name: str
    description: str
    priority: str
    components: tuple[str, ...]
    kind: str  # "api" (Python backend) or "web" (TypeScript frontend)
    test_target: str
    unit_tests: int
    integration_tests: int
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class _PhaseSpec:
    phase: str
    label: str
    title: str
    features: tuple[str, str]


_FEATURES: tuple[_FeatureSpec, ...] = (
    _FeatureSpec(
        "feat-001",
        "Project scaffolding & CI",
        "FastAPI backend and Vite/React frontend skeletons, pre-commit hooks, and a GitHub Actions pipeline "
        "running lint, type checks and tests on every push",
        "high",
        ("pyproject.toml", "app/main.py", ".github/workflows/ci.yml"),
        "api",
        "tests/test_health.py",
        4,
        1,
    ),
    _FeatureSpec(
        "feat-002",
        "Database schema & migrations",
        "PostgreSQL schema for users, workspaces, projects and tasks, with Alembic migrations and seed data",
        "high",
        ("app/db/models.py", "app/db/session.py", "migrations/versions/0001_initial.py"),
        "api",
        "tests/db",
        12,
        4,
        ("feat-001",),
    ),
    _FeatureSpec(
        "feat-003",
        "User authentication",
        "Email/password sign-up and login, JWT access and refresh tokens, password reset by emailed link",
        "high",
        ("app/api/auth.py", "app/services/tokens.py", "app/services/passwords.py"),
        "api",
        "tests/api/test_auth.py",
        18,
        6,
        ("feat-002",),
    ),
    _FeatureSpec(
        "feat-004",
        "Projects & tasks REST API",
        "CRUD endpoints for projects, tasks and comments with pagination, manual ordering and optimistic locking",
        "high",
        ("app/api/projects.py", "app/api/tasks.py", "app/schemas/tasks.py"),
        "api",
        "tests/api/test_tasks.py",
        26,
        9,
        ("feat-002", "feat-003"),
    ),
    _FeatureSpec(
        "feat-005",
        "Role-based access control",
        "Owner, admin, member and guest roles per workspace, enforced by a permission dependency on every route",
        "high",
        ("app/services/permissions.py", "app/api/deps.py"),
        "api",
        "tests/api/test_permissions.py",
        15,
        5,
        ("feat-003",),
    ),
    _FeatureSpec(
        "feat-006",
        "Real-time board updates",
        "WebSocket hub broadcasting task changes to everyone viewing a board, backed by Redis pub/sub",
        "medium",
        ("app/realtime/hub.py", "app/realtime/events.py", "web/src/lib/socket.ts"),
        "api",
        "tests/realtime",
        9,
        3,
        ("feat-004",),
    ),
    _FeatureSpec(
        "feat-007",
        "Frontend shell & routing",
        "React + TypeScript app shell with routing, an auth guard, a typed API client and design tokens",
        "high",
        ("web/src/App.tsx", "web/src/router.tsx", "web/src/lib/api.ts"),
        "web",
        "web/src/App.test.tsx",
        11,
        2,
        ("feat-001",),
    ),
    _FeatureSpec(
        "feat-008",
        "Kanban board UI",
        "Drag-and-drop board with columns, task cards, inline editing and keyboard shortcuts",
        "high",
        ("web/src/components/Board.tsx", "web/src/components/TaskCard.tsx", "web/src/hooks/useBoard.ts"),
        "web",
        "web/src/components",
        21,
        4,
        ("feat-004", "feat-007"),
    ),
    _FeatureSpec(
        "feat-009",
        "Search & filters",
        "Full-text task search (PostgreSQL tsvector) with filters by assignee, label and due date",
        "medium",
        ("app/api/search.py", "app/db/search_index.py", "web/src/components/SearchBar.tsx"),
        "api",
        "tests/api/test_search.py",
        10,
        3,
        ("feat-004",),
    ),
    _FeatureSpec(
        "feat-010",
        "Email notifications",
        "Background worker sending assignment, mention and due-date reminder emails, with per-user preferences",
        "medium",
        ("app/workers/notifications.py", "app/services/mailer.py", "app/templates/email/assigned.html"),
        "api",
        "tests/workers",
        8,
        2,
        ("feat-004",),
    ),
    _FeatureSpec(
        "feat-011",
        "File attachments",
        "Task attachments uploaded to S3-compatible storage through presigned URLs, with size limits",
        "low",
        ("app/api/attachments.py", "app/services/storage.py", "web/src/components/AttachmentList.tsx"),
        "api",
        "tests/api/test_attachments.py",
        7,
        3,
        ("feat-004",),
    ),
    _FeatureSpec(
        "feat-012",
        "Deployment & monitoring",
        "Docker images, docker-compose for local development, health checks, structured logs and Prometheus metrics",
        "medium",
        ("Dockerfile", "deploy/docker-compose.yml", "app/observability.py"),
        "api",
        "tests/test_observability.py",
        5,
        2,
        ("feat-001",),
    ),
)
_FEATURES_BY_ID = {spec.id: spec for spec in _FEATURES}

_PHASES: tuple[_PhaseSpec, ...] = (
    _PhaseSpec("build_1a_foundation", "1A", "Foundation", ("feat-001", "feat-002")),
    _PhaseSpec("build_1b_auth", "1B", "Authentication & roles", ("feat-003", "feat-005")),
    _PhaseSpec("build_2a_api", "2A", "REST API & search", ("feat-004", "feat-009")),
    _PhaseSpec("build_2b_realtime", "2B", "Real-time & notifications", ("feat-006", "feat-010")),
    _PhaseSpec("build_3a_frontend", "3A", "Frontend", ("feat-007", "feat-008")),
    _PhaseSpec("build_3b_release", "3B", "Attachments & release", ("feat-011", "feat-012")),
)

FAILING_FEATURE = "feat-004"  # fails its tests once, midway, and is then fixed
_FAILURE_ERROR = (
    "2 tests failed in tests/api/test_tasks.py: test_reorder_tasks_keeps_positions_unique, "
    "test_concurrent_update_conflict"
)

_WARNINGS = {
    "api": (
        "WARNING: DeprecationWarning: datetime.datetime.utcnow() is deprecated (used in {folder})",
        "WARNING: slow test tests/db/test_migrations.py::test_upgrade_downgrade took 2.31s",
        "WARNING: 3 TODO markers left in {folder}",
        "WARNING: coverage of {folder} is 78% (target 80%)",
    ),
    "web": (
        "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory",
        "WARNING: (!) Some chunks are larger than 500 kB after minification",
        "WARNING: React Hook useEffect has a missing dependency: 'boardId' ({folder})",
    ),
}

_PROJECT_SPEC = f"""# {PROJECT_NAME}: team task boards

**Version:** {PROJECT_VERSION}
**Status:** Approved for build

## Project Overview

{PROJECT_NAME} is a web app where small teams plan work on shared Kanban boards: workspaces hold projects,
projects hold tasks, and everyone looking at a board sees changes the moment they happen.

## Tech Stack

- Backend: Python 3.12, FastAPI, SQLAlchemy 2, Alembic, PostgreSQL 16, Redis
- Frontend: React 18, TypeScript, Vite, TanStack Query, dnd-kit
- Infrastructure: Docker, GitHub Actions, Prometheus

## Features

{{features}}

## Non-functional Requirements

- p95 API latency under 150 ms for board reads with 500 tasks
- Board updates reach other viewers within 1 s
- 80% test coverage on the backend; every route has a permission test
- WCAG 2.1 AA for the board UI
"""

_ARCHITECTURE = f"""# Architecture Decisions

## Overview

{PROJECT_NAME} is a FastAPI backend serving a JSON API and a WebSocket hub, and a React single-page app
built with Vite. PostgreSQL is the source of truth; Redis carries real-time events between API workers.

## Decisions

### Layered backend
**Pattern:** routes (`app/api`) -> services (`app/services`) -> models (`app/db`)
**Rationale:** routes stay thin and testable; permissions are enforced once, as a route dependency.

### Optimistic locking for tasks
Every task has a `version` column; an update with a stale version returns 409 so that two people dragging
the same card cannot silently overwrite each other.

### Real-time through Redis pub/sub
Each API worker subscribes to the boards its WebSocket clients view; a task change is published once and
fanned out by every worker.

## File Structure

```
app/
  api/          # FastAPI routers
  services/     # business logic
  db/           # SQLAlchemy models, sessions, search index
  realtime/     # WebSocket hub
  workers/      # background jobs (email)
web/src/
  components/   # board, cards, search
  hooks/
  lib/          # API client, socket
migrations/     # Alembic
```
"""


def _folder_of(spec: _FeatureSpec) -> str:
    """The folder of a feature's first component in a subfolder (for log lines)."""
    for path in spec.components:
        if "/" in path and not path.startswith("."):
            return path.rsplit("/", 1)[0]
    return "app"


# ---------------------------------------------------------------- one step of the simulation


@dataclass
class _Step:
    """What happens at one tick: feature changes (id -> (status, progress)), and maybe a checkpoint."""

    phase: _PhaseSpec | None
    changes: dict[str, tuple[str, int]] = field(default_factory=dict)
    checkpoint: str | None = None
    description: str = ""
    error: str | None = None
    phase_start: bool = False
    artifact: str | None = None
    final: bool = False
    investigate: str | None = None  # a failed feature being debugged during this step


def _plan() -> list[_Step]:
    """The whole build, step by step. Each phase runs two features with some overlap."""
    steps: list[_Step] = []
    for index, phase in enumerate(_PHASES):
        first, second = phase.features
        first_name = _FEATURES_BY_ID[first].name
        second_name = _FEATURES_BY_ID[second].name
        # The second feature of every other phase skips the separate "testing" status.
        second_testing = "testing" if index % 2 == 0 else "in_progress"
        phase_steps = [
            _Step(
                phase,
                {first: ("in_progress", 10)},
                checkpoint=f"{phase.phase}_start",
                description=f"Starting Build {phase.label}: {phase.title}",
                phase_start=True,
            ),
            _Step(phase, {first: ("in_progress", 30), second: ("in_progress", 10)}),
            _Step(phase, {first: ("in_progress", 50), second: ("in_progress", 30)}),
            _Step(
                phase,
                {first: ("in_progress", 70), second: ("in_progress", 50)},
                checkpoint=f"{phase.phase}_batch_1",
                description=f"Build {phase.label} batch 1: {first_name} and {second_name} under way",
            ),
            _Step(phase, {first: ("testing", 90), second: ("in_progress", 70)}),
            _Step(phase, {first: ("complete", 100), second: (second_testing, 90)}),
            _Step(
                phase,
                {second: ("complete", 100)},
                checkpoint=f"{phase.phase}_complete",
                description=f"Build {phase.label} complete: {first_name}, {second_name}",
            ),
        ]
        if first == FAILING_FEATURE:
            failed = _Step(
                phase,
                {first: ("failed", 70)},
                checkpoint=f"{phase.phase}_tests_failed",
                description=f"Build {phase.label}: {first_name} tests failing",
                error=_FAILURE_ERROR,
            )
            investigating = _Step(phase, {second: ("in_progress", 60)}, investigate=first)
            fixed = _Step(
                phase,
                {first: ("in_progress", 80)},
                checkpoint=f"{phase.phase}_fix",
                description=f"Build {phase.label}: fixed task reordering and conflict detection",
            )
            phase_steps[4:4] = [failed, investigating, fixed]
        if phase.phase == "build_2a_api":
            phase_steps[-1].artifact = "openapi.json"
        elif phase.phase == "build_3a_frontend":
            phase_steps[-1].artifact = "web-bundle-report.txt"
        steps.extend(phase_steps)
    steps.append(
        _Step(
            None,
            {},
            checkpoint="build_complete",
            final=True,
            description=f"All {len(_FEATURES)} features complete; {PROJECT_NAME} {PROJECT_VERSION} is ready to ship",
        )
    )
    return steps


# ---------------------------------------------------------------- the demo build


class DemoBuild:
    """A simulated BuildRunner build writing into `folder` (a project folder).

    `prepare()` writes the initial state synchronously; `start()` plays the build on a daemon thread named
    "demo-build" for about `duration` seconds; `stop()` ends it early. A demo runs once: `start()` after the
    run has begun (or after `stop()`) does nothing more.
    """

    def __init__(self, folder: Path, duration: float = 60.0, seed: int | None = None) -> None:
        if duration < 0:
            raise ValueError("duration must not be negative")
        self.folder = Path(folder)
        self._duration = float(duration)
        self._random = random.Random(seed)
        self._temporary_root: Path | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._prepared = False

        self._features: dict[str, dict[str, Any]] = {}
        self._written: dict[str, int] = {}  # feature id -> how many of its components have been written
        self._tasks_completed: list[str] = []
        self._files_created: list[str] = []
        self._current_phase: _PhaseSpec | None = None
        self._last_checkpoint_at: datetime | None = None
        self._last_test_run: tuple[str, str, str] | None = None  # (command, result, time)
        self._blocker: str | None = None
        self._resolved_blockers: list[str] = []

    @classmethod
    def in_temporary_folder(cls, duration: float = 60.0) -> DemoBuild:
        """A demo in a new temporary folder (`.../buildrunner-demo-XXXX/demo-project`); `cleanup()` removes it."""
        root = Path(tempfile.mkdtemp(prefix="buildrunner-demo-"))
        folder = root / PROJECT_FOLDER_NAME
        folder.mkdir()
        demo = cls(folder, duration)
        demo._temporary_root = root
        return demo

    # ---------------------------------------------------------------- public control

    @property
    def finished(self) -> bool:
        """True once the simulated build has run to its end (a stopped or failed run never finishes)."""
        return self._finished.is_set()

    def prepare(self) -> None:
        """Write the initial state: folders, the planned feature registry, the spec, context documents and
        the first checkpoint."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the demo build has already started")
            self._prepare()
            self._prepared = True

    def start(self) -> None:
        """Prepare (if not done yet) and play the build on a daemon thread."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            if not self._prepared:
                self._prepare()
                self._prepared = True
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the simulation and wait (up to `timeout` seconds) for its thread to end."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the demo build thread did not stop within %.1f s", timeout)

    def cleanup(self) -> None:
        """Stop, and remove the temporary folder if `in_temporary_folder` created it."""
        self.stop()
        root = self._temporary_root
        if root is None:
            return
        shutil.rmtree(root, ignore_errors=True)
        if root.exists():
            log.warning("could not remove the demo folder %s completely", root)
        else:
            self._temporary_root = None

    # ---------------------------------------------------------------- paths

    @property
    def _state(self) -> Path:
        return self.folder / STATE_DIR

    # ---------------------------------------------------------------- the initial state

    def play(self, write_plan: bool = True) -> bool:
        """Play the whole build on the calling thread (the demo's build command, `demo_run`, runs it as a child
        process); True when it ran to its end. `write_plan=False` takes up the plan `prepare()` already wrote
        instead of writing it again."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the demo build has already started")
            if write_plan:
                self._prepare()
            else:
                self._plan_features()
            self._prepared = True
        self._run()
        return self.finished

    def _plan_features(self) -> None:
        created = datetime.now().replace(microsecond=0).isoformat()
        self._features = {
            spec.id: {
                "id": spec.id,
                "name": spec.name,
                "description": spec.description,
                "priority": spec.priority,
                "status": "planned",
                "progress": 0,
                "components": list(spec.components),
                "tests": {"unit": 0, "integration": 0, "passing": False},
                "dependencies": list(spec.dependencies),
                "created_at": created,
            }
            for spec in _FEATURES
        }
        self._written = {spec.id: 0 for spec in _FEATURES}

    def _prepare(self) -> None:
        for name in ("checkpoints", "context", "logs", "artifacts"):
            (self._state / name).mkdir(parents=True, exist_ok=True)
        self._plan_features()
        self._write_spec()
        self._write_text(self._state / "context" / "architecture.md", _ARCHITECTURE)
        self._write_blockers()
        self._write_test_results()
        self._write_current_work()
        self._write_features()
        self._append_log(
            [
                f"buildrunner 3 demo: {PROJECT_NAME} {PROJECT_VERSION}",
                f"loaded PROJECT_SPEC.md: {len(_FEATURES)} features in {len(_PHASES)} builds",
                "plan: " + ", ".join(phase.phase for phase in _PHASES),
            ]
        )
        self._write_checkpoint(
            "plan_approved", f"Build plan approved: {len(_FEATURES)} features across {len(_PHASES)} builds"
        )

    def _write_spec(self) -> None:
        sections = []
        for spec in _FEATURES:
            sections.append(
                f"### {spec.id}: {spec.name}\n\n**Priority:** {spec.priority.title()}\n\n{spec.description}.\n\n"
                "**Components:** " + ", ".join(f"`{path}`" for path in spec.components) + "\n"
            )
        self._write_text(self._state / "PROJECT_SPEC.md", _PROJECT_SPEC.replace("{features}", "\n".join(sections)))

    # ---------------------------------------------------------------- the simulation thread

    def _run(self) -> None:
        try:
            plan = _plan()
            interval = self._duration / len(plan)
            started = time.monotonic()
            for index, step in enumerate(plan, start=1):
                if self._stop.wait(max(0.0, started + index * interval - time.monotonic())):
                    log.info("demo build stopped before step %d of %d", index, len(plan))
                    return
                self._apply(step)
            self._finished.set()
            log.info("demo build finished")
        except Exception:
            log.exception("the demo build failed and has stopped")

    def _apply(self, step: _Step) -> None:
        lines: list[str] = []
        if step.phase_start and step.phase is not None:
            self._current_phase = step.phase
            lines.append(f"=== Build {step.phase.label}: {step.phase.title} ({step.phase.phase}) ===")
            if step.phase.phase == "build_2b_realtime":
                lines += [
                    "ERROR: redis://localhost:6379 connection refused (attempt 1/3), retrying in 1s",
                    "redis connected (attempt 2/3)",
                ]
        tested = blockers_changed = False
        for feature_id, (status, progress) in step.changes.items():
            spec = _FEATURES_BY_ID[feature_id]
            was_failed = self._features[feature_id]["status"] == "failed"
            lines += self._change_feature(feature_id, status, progress)
            tested |= status in ("testing", "complete", "failed")
            if status == "failed":
                self._blocker = f"{spec.id} {spec.name}: {_FAILURE_ERROR}"
                blockers_changed = True
            elif was_failed and self._blocker is not None:
                self._resolved_blockers.append(self._blocker)
                self._blocker = None
                blockers_changed = True
        if step.investigate:
            lines += [
                f"investigating {step.investigate}: re-running the failing tests with -x --tb=short",
                "E   assert [1, 2, 2, 4] == [1, 2, 3, 4]  (two tasks got position 2 after concurrent moves)",
                "E   assert 200 == 409  (update with a stale version was accepted)",
            ]
        if step.final:
            self._current_phase = None
            lines += self._final_lines()
        if not step.error and self._random.random() < 0.2:
            spec = _FEATURES_BY_ID[next(iter(step.changes))] if step.changes else _FEATURES[0]
            lines.append(self._random.choice(_WARNINGS[spec.kind]).format(folder=_folder_of(spec)))

        self._append_log(lines)
        self._write_features(final=step.final)
        self._write_current_work()
        if tested:
            self._write_test_results()
        if blockers_changed:
            self._write_blockers()
        if step.artifact:
            self._write_artifact(step.artifact)
        if step.final:
            self._write_artifact("coverage-summary.txt")
            self._write_artifact("release-notes.md")
        if step.checkpoint:
            checkpoint_id = self._write_checkpoint(step.checkpoint, step.description, step.error)
            self._append_log([f"checkpoint created: {checkpoint_id} ({step.checkpoint})"])

    def _change_feature(self, feature_id: str, status: str, progress: int) -> list[str]:
        spec = _FEATURES_BY_ID[feature_id]
        feature = self._features[feature_id]
        previous = feature["status"]
        feature["status"] = status
        feature["progress"] = progress
        now = datetime.now().replace(microsecond=0).isoformat()
        lines: list[str] = []
        rng = self._random
        total_tests = spec.unit_tests + spec.integration_tests
        if status == "in_progress" and previous == "planned":
            feature["started_at"] = now
            lines.append(f"> {spec.id} {spec.name}: started")
            lines += self._write_component(spec)
        elif status == "in_progress" and previous == "failed":
            feature.pop("error", None)
            feature["attempts"] = feature.get("attempts", 1) + 1
            lines += [
                f"fix {spec.id}: reindex task positions inside the row lock; compare versions before update "
                "(app/api/tasks.py)",
                f"$ pytest {spec.test_target} -k 'reorder or conflict' -q",
                f"2 passed in {rng.uniform(0.3, 0.9):.2f}s",
            ]
        elif status == "in_progress":
            lines += self._write_component(spec)
            lines.append(self._check_line(spec))
        elif status == "testing":
            lines += self._test_lines(spec, failed=0)
            feature["tests"] = {"unit": spec.unit_tests, "integration": spec.integration_tests, "passing": True}
        elif status == "failed":
            feature["error"] = _FAILURE_ERROR
            feature["tests"] = {"unit": spec.unit_tests, "integration": spec.integration_tests, "passing": False}
            lines += self._test_lines(spec, failed=2)
            lines += [
                "FAILED tests/api/test_tasks.py::test_reorder_tasks_keeps_positions_unique - "
                "AssertionError: assert [1, 2, 2, 4] == [1, 2, 3, 4]",
                "FAILED tests/api/test_tasks.py::test_concurrent_update_conflict - assert 200 == 409",
                f"ERROR: {spec.id} {spec.name} failed: {_FAILURE_ERROR}",
            ]
        elif status == "complete":
            while self._written[feature_id] < len(spec.components):
                lines += self._write_component(spec)
            if previous != "testing":
                lines += self._test_lines(spec, failed=0)
            feature["tests"] = {"unit": spec.unit_tests, "integration": spec.integration_tests, "passing": True}
            feature["completed_at"] = now
            test_file = spec.test_target if "." in spec.test_target.rsplit("/", 1)[-1] else None
            if test_file and test_file not in self._files_created:
                self._files_created.append(test_file)
            self._tasks_completed += [f"{spec.id}: implement {path}" for path in spec.components]
            self._tasks_completed.append(f"{spec.id}: {total_tests} tests passing")
            lines.append(
                f"done {spec.id} {spec.name} ({spec.unit_tests} unit, "
                f"{spec.integration_tests} integration tests passing)"
            )
        return lines

    def _write_component(self, spec: _FeatureSpec) -> list[str]:
        written = self._written[spec.id]
        if written >= len(spec.components):
            return []
        path = spec.components[written]
        self._written[spec.id] = written + 1
        if path not in self._files_created:
            self._files_created.append(path)
        return [f"  wrote {path} (+{self._random.randint(24, 260)} lines)"]

    def _check_line(self, spec: _FeatureSpec) -> str:
        rng = self._random
        folder = _folder_of(spec)
        if spec.kind == "web":
            return rng.choice(
                (
                    "$ npx tsc --noEmit ... ok",
                    f"$ npx eslint {folder} ... 0 problems",
                    f"$ npx vite build ... {rng.randint(180, 420)} modules transformed,"
                    f" built in {rng.uniform(1, 4):.2f}s",
                )
            )
        return rng.choice(
            (
                f"$ ruff check {folder} ... All checks passed!",
                f"$ mypy {folder} ... Success: no issues found in {rng.randint(4, 30)} source files",
                f"$ python -m compileall -q {folder} ... ok",
            )
        )

    def _test_lines(self, spec: _FeatureSpec, failed: int) -> list[str]:
        total = spec.unit_tests + spec.integration_tests
        seconds = self._random.uniform(0.4, 6.0)
        if spec.kind == "web":
            command = f"npx vitest run {spec.test_target}"
            result = f"Tests {total - failed} passed ({total}) in {seconds:.2f}s"
        else:
            command = f"pytest {spec.test_target} -q"
            result = (
                f"{total} passed in {seconds:.2f}s"
                if not failed
                else f"{failed} failed, {total - failed} passed in {seconds:.2f}s"
            )
        self._last_test_run = (command, result, datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
        return [f"$ {command}", result]

    def _final_lines(self) -> list[str]:
        total = sum(spec.unit_tests + spec.integration_tests for spec in _FEATURES)
        seconds = self._random.uniform(20, 40)
        self._last_test_run = (
            "pytest -q && npx vitest run",
            f"{total} passed in {seconds:.2f}s",
            datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        )
        return [
            "=== Final verification ===",
            "$ pytest -q && npx vitest run",
            f"{total} passed in {seconds:.2f}s",
            f"$ docker build -t {PROJECT_NAME.lower()}:{PROJECT_VERSION} . ... done",
            f"BUILD SUCCESSFUL: {len(_FEATURES)}/{len(_FEATURES)} features complete",
        ]

    # ---------------------------------------------------------------- the files

    def _completion(self) -> float:
        return round(sum(feature["progress"] for feature in self._features.values()) / len(self._features), 1)

    def _write_features(self, final: bool = False) -> None:
        statuses = [feature["status"] for feature in self._features.values()]
        registry = {
            "project": PROJECT_NAME,
            "version": PROJECT_VERSION,
            "status": "complete" if final else "active",
            "last_updated": datetime.now().isoformat(),
            "description": "Team task boards: a FastAPI + React web app (simulated BuildRunner demo build)",
            "features": list(self._features.values()),
            "metrics": {
                "features_complete": statuses.count("complete"),
                "features_in_progress": sum(1 for s in statuses if s in ("in_progress", "testing")),
                "features_failed": statuses.count("failed"),
                "features_planned": statuses.count("planned"),
                "completion_percentage": self._completion(),
            },
        }
        self._write_text(self._state / "features.json", json.dumps(registry, indent=2, ensure_ascii=False) + "\n")

    def _write_checkpoint(self, phase: str, description: str, error: str | None = None) -> str:
        moment = datetime.now()
        if self._last_checkpoint_at is not None and moment <= self._last_checkpoint_at:
            moment = self._last_checkpoint_at + timedelta(microseconds=1)  # newest is always last
        self._last_checkpoint_at = moment
        checkpoint_id = "checkpoint_" + moment.strftime("%Y%m%d_%H%M%S_%f")
        checkpoint: dict[str, Any] = {
            "id": checkpoint_id,
            "timestamp": moment.isoformat(timespec="microseconds"),
            "phase": phase,
            "tasks_completed": list(self._tasks_completed),
            "files_created": list(self._files_created),
            "status": "created",
            "metadata": {
                "name": phase,
                "description": description,
                "created_by": "cli",
                "timestamp": moment.isoformat(timespec="microseconds"),
            },
            "completion_percentage": 100.0 if phase == "build_complete" else self._completion(),
        }
        if error is not None:
            checkpoint["error"] = error
        self._write_text(self._state / "checkpoints" / f"{checkpoint_id}.json", json.dumps(checkpoint, indent=2) + "\n")
        return checkpoint_id

    def _write_current_work(self) -> None:
        phase = self._current_phase
        by_status: dict[str, list[dict[str, Any]]] = {}
        for feature in self._features.values():
            by_status.setdefault(feature["status"], []).append(feature)
        completed = by_status.get("complete", [])
        if phase is None and len(completed) == len(self._features):
            heading, status = "Build complete", "Complete"
        elif phase is None:
            heading, status = "Build plan approved", "Planned"
        else:
            heading = f"Active Build: {phase.label} - {phase.title}"
            status = "Blocked: tests failing" if by_status.get("failed") else "In Progress"
        lines = [
            "# Current Work",
            "",
            f"## {heading}",
            "",
            f"**Phase:** {phase.phase if phase else ('build_complete' if status == 'Complete' else 'planning')}",
            f"**Status:** {status}",
            f"**Updated:** {datetime.now().strftime('%Y-%m-%d %H:%M:%S')}",
            f"**Overall:** {self._completion():.1f}% ({len(completed)} of {len(self._features)} features complete)",
            "",
            "### Completed",
            *([f"- ✅ {f['id']} {f['name']}" for f in completed] or ["*Nothing yet*"]),
            "",
            "### In Progress",
            *(
                [
                    f"- 🚧 {f['id']} {f['name']}: {f['progress']}%" + (" (testing)" if f["status"] == "testing" else "")
                    for f in by_status.get("in_progress", []) + by_status.get("testing", [])
                ]
                or ["*Nothing*"]
            ),
        ]
        if by_status.get("failed"):
            lines += [
                "",
                "### Failed",
                *[f"- ❌ {f['id']} {f['name']}: {f.get('error', 'failed')}" for f in by_status["failed"]],
            ]
        lines += [
            "",
            "### Pending",
            *([f"- ⏳ {f['id']} {f['name']}" for f in by_status.get("planned", [])] or ["*Nothing*"]),
            "",
            "---",
            "",
            "*Auto-updated by the BuildRunner demo build*",
            "",
        ]
        self._write_text(self._state / "context" / "current-work.md", "\n".join(lines))

    def _write_blockers(self) -> None:
        lines = ["# Blockers", "", "## Active Blockers", ""]
        lines += (
            [f"### {self._blocker}", "", "**Owner:** build agent", "**Next:** fix and re-run the tests"]
            if self._blocker
            else ["*None currently*"]
        )
        lines += ["", "## Resolved Blockers", ""]
        lines += [f"- ~~{text}~~ (fixed)" for text in self._resolved_blockers] or ["*None yet*"]
        lines += ["", "---", "", "*Track blockers here for visibility*", ""]
        self._write_text(self._state / "context" / "blockers.md", "\n".join(lines))

    def _write_test_results(self) -> None:
        if self._last_test_run is None:
            body = ["**Status:** Not yet run", "**Date:** Pending"]
        else:
            command, result, moment = self._last_test_run
            passed = "failed" not in result
            body = [
                f"**Status:** {'Passing' if passed else 'FAILING'}",
                f"**Date:** {moment}",
                f"**Command:** `{command}`",
                "",
                "```",
                result,
                "```",
            ]
        text = "\n".join(
            [
                "# Test Results",
                "",
                "## Latest Test Run",
                "",
                *body,
                "",
                "---",
                "",
                "*Test output is piped here automatically*",
                "",
            ]
        )
        self._write_text(self._state / "context" / "test-results.md", text)

    def _write_artifact(self, name: str) -> None:
        target = self._state / "artifacts" / name
        if name == "openapi.json":
            paths = {
                f"/api/{resource}": {"get": {"summary": f"List {resource}"}, "post": {"summary": f"Create {resource}"}}
                for resource in ("projects", "tasks", "comments", "search")
            }
            text = json.dumps(
                {
                    "openapi": "3.1.0",
                    "info": {"title": f"{PROJECT_NAME} API", "version": PROJECT_VERSION},
                    "paths": paths,
                },
                indent=2,
            )
        elif name == "web-bundle-report.txt":
            text = "\n".join(
                [
                    "vite v5.4.2 building for production...",
                    f"{self._random.randint(380, 460)} modules transformed.",
                    "dist/index.html                   0.46 kB | gzip:   0.30 kB",
                    "dist/assets/index-4f2c1a9b.css   18.92 kB | gzip:   4.41 kB",
                    "dist/assets/index-9d81e0c3.js   312.40 kB | gzip: 101.77 kB",
                ]
            )
        elif name == "coverage-summary.txt":
            rows = [
                f"{path:<44} {self._random.randint(81, 99):>3}%"
                for spec in _FEATURES
                for path in spec.components
                if path.endswith(".py")
            ]
            text = "\n".join(
                [
                    "Name                                         Cover",
                    "-" * 49,
                    *rows,
                    "-" * 49,
                    f"{'TOTAL':<44} {self._random.randint(86, 92):>3}%",
                ]
            )
        else:
            text = "\n".join(
                [
                    f"# {PROJECT_NAME} {PROJECT_VERSION}",
                    "",
                    "## Features",
                    "",
                    *[f"- {spec.name}: {spec.description}" for spec in _FEATURES],
                ]
            )
        self._write_text(target, text + "\n")

    # ---------------------------------------------------------------- writing safely

    def _write_text(self, path: Path, text: str) -> None:
        """Atomic write: a dot-named `.tmp` file in the same folder, then `os.replace`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            # "x": a new file with the usual permissions (umask), never someone else's file.
            with open(temporary, "x", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            for attempt in range(_REPLACE_ATTEMPTS):
                try:
                    os.replace(temporary, path)
                    break
                except PermissionError:
                    if attempt == _REPLACE_ATTEMPTS - 1:
                        raise
                    self._stop.wait(_REPLACE_RETRY_DELAY)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def _append_log(self, lines: list[str]) -> None:
        """Whole lines, in one write, flushed: a reader never sees a partial line for long."""
        if not lines:
            return
        stamp = datetime.now().strftime("%H:%M:%S")
        text = "".join(f"[{stamp}] {line}\n" for line in lines)
        path = self._state / "logs" / LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
