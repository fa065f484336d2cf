"""What each subcommand does; `__main__` maps parsed arguments here."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model.activity import ago, duration, local_time
from .model.classify import STATE_DIR
from .model.now import WhatNow, what_now
from .project.registry import resolve_project

if TYPE_CHECKING:
    from .model.store import SessionStore


STALL_MINUTES = 10.0  # "building" only while the last change is younger than this (formats.md, Activity)
LINE_SHOWN = 160  # the newest terminal line, clipped to one terminal row or so


def open_project(argument: str, watched: bool = False) -> tuple[Path, str | None]:
    """A PROJECT argument -> (folder, alias or None), telling on stderr, in one line, what the user may not
    expect: `.buildrunner/` (or a folder inside it) given for the project, or a project with no `.buildrunner/`
    yet (`watched`: it is picked up when it appears)."""
    folder, alias = resolve_project(argument)
    project = project_of_state_dir(folder)
    if project is not None:
        _error(f"{folder} is a project's build state; reading the project {project} (give that folder next time)")
        folder, alias = resolve_project(str(project))
    if not (folder / STATE_DIR).is_dir():
        _error(f"{folder} has no {STATE_DIR}/ yet: no build has run there" + ("; watching for it" if watched else ""))
    return folder, alias


def project_of_state_dir(folder: Path) -> Path | None:
    """The project a `.buildrunner/` folder (or one inside it) belongs to; None for any other folder."""
    for candidate in (folder, *folder.parents):
        if candidate.name == STATE_DIR:
            return candidate.parent
    return None


def status(project: str, as_json: bool, indent: int | None = None) -> int:
    from .sources.oneshot import read_once

    folder, alias = open_project(project)
    engine = read_once(folder, alias)
    snapshot = engine.snapshot()
    if as_json:
        sys.stdout.write(json.dumps(snapshot, indent=indent) + "\n")  # ASCII: lone surrogates stay printable
    else:
        sys.stdout.write(summary(snapshot, glance_lines(engine.store, datetime.now(UTC))))
    return 0


def glance_lines(store: SessionStore, now: datetime) -> list[str]:
    """What the build is doing now (model/now.py): the activity line, the reason it failed, the headline,
    the phase, the items in progress and the newest terminal line."""
    glance = what_now(store, now, STALL_MINUTES)
    lines = [f"activity: {_activity_text(glance, now)}"]
    if glance.failure is not None:
        where = "" if glance.failure.where == "terminal" else f" ({glance.failure.where} {glance.failure.ref})"
        lines.append(f"reason: {_one_line(glance.failure.reason)}{where}")
    lines.append(f"counts: {glance.headline}")
    if glance.phase:
        lines.append(f"phase: {glance.phase}")
    if glance.current:
        lines.append(f"current: {glance.current}")
    if glance.last_line:
        lines.append(f"newest line: {_one_line(glance.last_line)}")
    return lines


def _activity_text(glance: WhatNow, now: datetime) -> str:
    text = glance.activity.text
    if glance.activity.building and glance.span is not None:
        return f"{text} (for {duration(glance.span)}; last change {ago(glance.last_change, now)})"
    if glance.last_change is None:
        return text
    if glance.activity.word == "idle":
        return f"{text} ({ago(glance.last_change, now)})"
    return f"{text} (last change {local_time(glance.last_change, now)}, {ago(glance.last_change, now)})"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= LINE_SHOWN else line[: LINE_SHOWN - 1] + "…"


def summary(state: dict[str, Any], glance: list[str] | None = None) -> str:
    """The readable form of a snapshot, for people at a terminal; `glance`: the lines of `glance_lines`."""
    progress = state["progress"]
    fs, cs = state["feature_stats"], state["component_stats"]
    lines = [
        f"{state['project']['name']}  ({state['project']['path']})",
        f"status: {state['status']}   progress: {progress['percent']:.1f}%"
        f"   ({progress['completed']}/{progress['total']} completed)",
        *(glance or []),
        f"features: {fs['total']} total, {fs['completed']} completed, {fs['in_progress']} in progress, "
        f"{fs['pending']} pending, {fs['failed']} failed",
        f"components: {cs['total']} total, {cs['completed']} completed, {cs['in_progress']} in progress, "
        f"{cs['pending']} pending, {cs['failed']} failed",
        f"checkpoints: {len(state['checkpoints'])}   tasks completed: {progress['tasks_completed']}"
        f"   files created: {progress['files_created']}",
    ]
    if state["checkpoints"]:
        last = state["checkpoints"][-1]
        lines.append(f"latest checkpoint: {last['checkpoint_id']}  phase {last['phase'] or '-'}  ({last['timestamp']})")
    for feature in state["features"]:
        if feature["status"] in ("in_progress", "failed"):
            lines.append(f"  {feature['status']:<11} {feature['progress']:5.1f}%  {feature['name']}")
    for error in state["errors"][-10:]:
        lines.append(f"error: {error['file_path'] or '-'}: {error['error_message']}")
    return "\n".join(lines) + "\n"


def schema(asyncapi: bool = False) -> int:
    if asyncapi:
        from .server.asyncapi import document

        sys.stdout.write(json.dumps(document(), indent=2) + "\n")
        return 0
    from .model.messages import json_schemas

    sys.stdout.write(json.dumps(json_schemas(), indent=2) + "\n")
    return 0


def init(
    alias: str, path: str, name: str | None, description: str | None, prd: str | None, install_buildrunner: bool
) -> int:
    """`init ALIAS PATH`: the wizard's initializer, printing each step as it runs and, last, the project folder."""
    from .project.initializer import (
        ROLLBACK,
        STEP_IDS,
        STEP_LABELS,
        InitCancelled,
        InitError,
        PRDError,
        ProjectInitializer,
        ProjectRequest,
        load_prd,
    )

    features, tech_stack = [], []
    if prd is not None:
        try:
            loaded = load_prd(Path(prd))
        except PRDError as exc:
            _error(str(exc))
            return 2
        name = loaded.name if name is None else name
        description = loaded.description if description is None else description
        features, tech_stack = loaded.features, loaded.tech_stack
    request = ProjectRequest(
        alias=alias,
        path=Path(path),
        name=name or "",
        description=description or "",
        features=features,
        tech_stack=tech_stack,
        install_buildrunner=install_buildrunner,
    )
    started: set[str] = set()

    def progress(step: str, message: str, fraction: float) -> None:
        if step == ROLLBACK:
            line = f"      undo: {message}"
        elif step not in started:
            started.add(step)
            line = f"[{STEP_IDS.index(step) + 1}/{len(STEP_IDS)}] {message}"
        else:
            line = f"      {message}"
        with contextlib.suppress(OSError):  # a closed stdout (`| head`) must not fail, and so undo, the run
            print(line, flush=True)

    cancel = threading.Event()
    with _cancel_on_signals(cancel):
        try:
            folder = ProjectInitializer(request, progress, cancel).run()
        except InitCancelled as exc:
            _error("init cancelled; " + (str(exc) if exc.leftovers else "everything it created was removed"))
            return 130
        except InitError as exc:
            if exc.step == "validate":
                _error(exc.message)
                return 1 if "registry" in exc.fields else 2
            undone = "" if exc.leftovers else "; everything it created was removed"
            _error(f"init failed at '{STEP_LABELS.get(exc.step, exc.step)}': {exc.message}{undone}")
            return 1
    print(folder, flush=True)
    return 0


@contextlib.contextmanager
def _cancel_on_signals(cancel: threading.Event) -> Iterator[None]:
    """Ctrl+C or SIGTERM during `init` cancels it (so it rolls back); a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def aliases(action: str | None, alias: str | None) -> int:
    """`aliases [list]` prints `ALIAS  PATH` lines; `aliases remove ALIAS` unregisters (the folder stays)."""
    from .project import registry

    try:
        if action == "remove":
            assert alias is not None
            path = registry.unregister(alias)
            print(f"removed alias '{alias}' (it pointed to {path or '-'}; the folder is left as it was)")
            return 0
        entries = registry.list_aliases()
    except registry.UnknownAliasError as exc:
        _error(str(exc))
        return 2
    except registry.RegistryError as exc:
        _error(str(exc))
        return 1
    if not entries:
        print(f"buildrunner-gui: no aliases registered in {registry.buildrunner_home()}", file=sys.stderr)
        return 0
    width = max(len(entry.alias) for entry in entries)
    for entry in entries:
        missing = "" if entry.path and Path(entry.path).expanduser().is_dir() else "  (folder missing)"
        print(f"{entry.alias:<{width}}  {entry.path or '-'}{missing}")
    return 0


def _error(message: str) -> None:
    print(f"buildrunner-gui: {message}", file=sys.stderr, flush=True)
