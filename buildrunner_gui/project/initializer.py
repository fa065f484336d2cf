"""Creating a new BuildRunner project: the one implementation behind `buildrunner-gui init` and the window's wizard.

No Qt here. `ProjectInitializer.run()` runs the steps of `STEPS` in order on the calling thread (the wizard runs it
on a worker thread), reporting each through `progress(step_id, message, fraction)`, where `fraction` is the
progress of the whole run (0..1). Between steps — and every 0.1 s while pipx runs — it honours a cancel flag
(`threading.Event`). On any failure or cancel it undoes exactly what this run did, newest first: the alias is
unregistered (the registry files get their old bytes back), a BuildRunner installed by this run is uninstalled,
and the files and folders this run created are removed. Nothing that existed before is ever touched: files are
created with O_EXCL and folders with `mkdir(exist_ok=False)`, so a name that appears meanwhile fails the step
instead of being overwritten, and a folder that something else put files into is left in place (and named in
the error) rather than emptied. Rollback progress is reported with the step id `"rollback"`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..model.jsonbytes import ParseError, load_json
from . import registry, templates

STEPS: list[tuple[str, str]] = [
    ("validate", "Check the alias and the folder"),
    ("create_folders", "Create the folders"),
    ("write_spec", "Write the project spec, feature registry and context"),
    ("write_files", "Write .gitignore and README.md"),
    ("install_buildrunner", "Install BuildRunner with pipx"),
    ("register", "Register the alias"),
]
STEP_IDS = [step_id for step_id, _ in STEPS]
STEP_LABELS = dict(STEPS)
ROLLBACK = "rollback"  # the step id of progress reports made while undoing a failed or cancelled run

FOLDERS = [
    ".buildrunner",
    ".buildrunner/checkpoints",
    ".buildrunner/context",
    ".buildrunner/logs",
    ".buildrunner/artifacts",
    "core",
    "tests",
    "docs",
]
SPEC_FILE = registry.DEFAULT_SPEC_PATH  # ".buildrunner/PROJECT_SPEC.md", where BuildRunner 3 keeps it
FEATURES_FILE = ".buildrunner/features.json"
CONTEXT_FOLDER = ".buildrunner/context"
CONTEXT_FILES = ["architecture.md", "current-work.md", "blockers.md", "test-results.md"]
ROOT_FILES = [".gitignore", "README.md"]

# pipx: BuildRunner 3 is not on PyPI (the `buildrunner` there is another project), so install from its repository.
PIPX_SPEC_ENV = "BUILDRUNNER_PIPX_SPEC"
PIPX_DEFAULT_SPEC = "git+https://github.com/DockeryAI/BuildRunner3.git"
PIPX_PACKAGE = "buildrunner"  # the distribution name pipx installs it under
PIPX_TIMEOUT = 120.0  # seconds, for `pipx install` and `pipx uninstall`
PIPX_LIST_TIMEOUT = 30.0
_NETWORK_HINTS = (
    "could not resolve",
    "temporary failure in name resolution",
    "name or service not known",
    "network is unreachable",
    "failed to establish a new connection",
    "connection refused",
    "no route to host",
    "connection timed out",
    "read timed out",
    "unable to access",
    "could not connect",
    "no matching distribution",
    "max retries exceeded",
    "getaddrinfo failed",
    "nodename nor servname",
)

# Folders a project must never be created as: exact matches…
_SYSTEM_FOLDERS = {
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/var",
    "/var/tmp",
    "/Applications",
    "/Library",
    "/System",
    "/Users",
    "/Volumes",
    "/cores",
    "/private",
    "/private/etc",
    "/private/tmp",
    "/private/var",
}
# …and folders nothing should be created inside.
_SYSTEM_TREES = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/sbin",
    "/sys",
    "/usr",
    "/System",
    "/private/etc",
)
_MAX_NAME = 200
_MAX_PRD_BYTES = 16 * 1024 * 1024


@dataclass
class FeatureSpec:
    name: str
    description: str = ""


@dataclass
class ProjectRequest:
    alias: str
    path: Path
    name: str = ""  # default: the folder's name
    description: str = ""
    features: list[FeatureSpec] = field(default_factory=list)
    tech_stack: list[str] = field(default_factory=list)
    install_buildrunner: bool = False
    editor: str = ""  # written to projects.json; default "claude", BuildRunner 3's default


class InitCancelled(Exception):
    """The run was cancelled; everything it did has been undone. `step` is where it stopped."""

    def __init__(self, step: str = "", leftovers: list[str] | None = None) -> None:
        self.step = step
        self.leftovers = leftovers or []
        message = "cancelled"
        if self.leftovers:
            message += f"; could not undo: {', '.join(self.leftovers)}"
        super().__init__(message)


class InitError(Exception):
    """A step failed; everything the run did has been undone. `message` is one readable line.

    `fields` (validate only) maps each field to its problem, as `validation_errors` does; `leftovers` names what
    the rollback could not remove (normally empty)."""

    def __init__(self, step: str, message: str, fields: dict[str, str] | None = None) -> None:
        self.step = step
        self.message = _one_line(message)
        self.fields = dict(fields or {})
        self.leftovers: list[str] = []
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class PRD(NamedTuple):
    name: str
    description: str
    features: list[FeatureSpec]
    tech_stack: list[str]


class PRDError(ValueError):
    """A PRD file that cannot be used; the message is one line naming the file and the reason."""


# ------------------------------------------------------------------------------------------------ PRD


def load_prd(path: Path) -> PRD:
    """Read a PRD file: `{"name", "description", "features": [{"name", "description"}], "tech_stack": [...]}`.

    Every key is optional; unknown keys are ignored. A feature may also be a plain string (its name).
    Raises PRDError (a ValueError) with a one-line reason."""
    path = Path(path)

    def bad(reason: str) -> PRDError:
        return PRDError(_one_line(f"PRD file {path}: {reason}"))

    try:
        if path.stat().st_size > _MAX_PRD_BYTES:
            raise bad("larger than 16 MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise bad(exc.strerror or str(exc)) from exc
    try:
        value = load_json(data)  # size and depth limited: a 100,000-level file is an error, not a RecursionError
    except ParseError as exc:
        raise bad(_prd_json_reason(exc)) from None
    if not isinstance(value, dict):
        raise bad(f"expected a JSON object, found {_json_type(value)}")

    def text(key: str) -> str:
        item = value.get(key, "")
        if item is None:
            return ""
        if not isinstance(item, str):
            raise bad(f'"{key}" must be a string, not {_json_type(item)}')
        return item

    name, description = text("name").strip(), text("description")
    raw_features = value.get("features") or []
    if not isinstance(raw_features, list):
        raise bad(f'"features" must be a list, not {_json_type(raw_features)}')
    features = []
    for index, item in enumerate(raw_features, 1):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise bad(f"feature {index} must be an object with a name, not {_json_type(item)}")
        feature_name = item.get("name")
        if not isinstance(feature_name, str) or not feature_name.strip():
            raise bad(f'feature {index} has no "name"')
        feature_description = item.get("description", "")
        if feature_description is None:
            feature_description = ""
        if not isinstance(feature_description, str):
            raise bad(f'feature {index} "description" must be a string, not {_json_type(feature_description)}')
        features.append(FeatureSpec(feature_name.strip(), feature_description))
    raw_stack = value.get("tech_stack") or []
    if isinstance(raw_stack, str):
        raw_stack = [raw_stack]
    if not isinstance(raw_stack, list) or not all(isinstance(item, str) for item in raw_stack):
        raise bad('"tech_stack" must be a list of strings')
    tech_stack = [item.strip() for item in raw_stack if item.strip()]
    prd = PRD(name, description, features, tech_stack)
    problems = _content_errors(prd.name, prd.description, prd.features, prd.tech_stack)
    if problems:
        raise bad(next(iter(problems.values())))
    return prd


def _prd_json_reason(exc: ParseError) -> str:
    if exc.error_type == "invalid_json":
        return f"not valid JSON ({exc.message.removeprefix('invalid JSON: ')})"
    return exc.message  # "not UTF-8 text (...)", "JSON nested deeper than 100 levels", "file is larger than ..."


def _json_type(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


# ------------------------------------------------------------------------------------------------ validation


def validation_errors(request: ProjectRequest, known: registry.RegistrySnapshot | None = None) -> dict[str, str]:
    """field -> problem, for every field with one ("alias", "path", "name", "description", "features",
    "tech_stack", "install_buildrunner"), plus "registry" when the alias registry cannot be read (corrupt: not a
    field the user can fix in the form); empty when the request is good. Cheap and side-effect free: reads the
    registry and looks at the folder, writes nothing (made for validating as the user types).

    `known`: the registry as `registry.read_snapshot()` read it; given, the registry files are not read again,
    so a form can read them once and check every keystroke in memory. The results are the same as reading then."""
    errors, _ = _validate(request, backup=False, known=known)
    return errors


def resolve_target(path: Path | str) -> Path:
    """The absolute folder a request's path means: `~` expanded, relative to the working folder, `..` folded,
    its parent's symlinks resolved (the folder itself must not be a symlink, so it is kept as named)."""
    absolute = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if absolute.parent == absolute:
        return absolute
    return Path(os.path.realpath(absolute.parent)) / absolute.name


def _validate(
    request: ProjectRequest, *, backup: bool, known: registry.RegistrySnapshot | None = None
) -> tuple[dict[str, str], Path | None]:
    errors: dict[str, str] = {}
    try:
        problem = _alias_error(request.alias, backup=backup, known=known)
    except registry.RegistryError as exc:  # corrupt or unreadable: reported (and, when running, backed up)
        errors["registry"] = str(exc)
    else:
        if problem:
            errors["alias"] = problem
    target = None
    raw = request.path
    if raw is None or not os.fspath(raw).strip():
        errors["path"] = "choose a folder for the project"
    else:
        try:
            target = resolve_target(raw)
            problem = _path_error(Path(os.path.abspath(os.path.expanduser(os.fspath(raw)))), target)
        except (OSError, ValueError) as exc:
            problem = f"{raw} cannot be used: {_describe(exc)}"
        if problem:
            errors["path"] = problem
    name = request.name if request.name else (target.name if target else "")
    errors.update(_content_errors(name, request.description, request.features, request.tech_stack))
    if request.install_buildrunner and shutil.which("pipx") is None:
        errors["install_buildrunner"] = _PIPX_MISSING
    return errors, target


def _alias_error(alias: str, *, backup: bool, known: registry.RegistrySnapshot | None = None) -> str | None:
    if not isinstance(alias, str) or not alias:
        return "enter an alias"
    if not registry.is_valid_alias(alias):
        return f"alias {alias!r} is not valid: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"
    # Only a valid alias is looked up, so a bad alias is reported even while the registry is unreadable.
    existing = known.lookup(alias) if known is not None else registry.lookup(alias, backup=backup)
    if existing is not None:
        return f"alias '{alias}' is already registered" + (f" (to {existing})" if existing else "")
    return None


def _path_error(absolute: Path, target: Path) -> str | None:
    home = Path.home()
    homes = {os.path.abspath(home), os.path.realpath(home)}
    for candidate in {str(absolute), str(target), os.path.realpath(target)}:
        if candidate in _SYSTEM_FOLDERS or candidate in homes:
            what = "your home folder" if candidate in homes else "a system folder"
            return f"{candidate} is {what}: choose a new or empty folder inside it"
        for tree in _SYSTEM_TREES:
            if candidate.startswith(tree + "/"):
                return f"{candidate} is inside the system folder {tree}"
        br_home = os.path.realpath(registry.buildrunner_home())
        if candidate == br_home or candidate.startswith(br_home + "/"):
            return f"{candidate} is BuildRunner's own settings folder"
    if absolute.is_symlink():
        return f"{absolute} is a symbolic link: choose a real folder"
    if target.is_symlink():
        return f"{target} is a symbolic link: choose a real folder"
    if target.exists():
        if not target.is_dir():
            return f"{target} already exists and is not a folder"
        with os.scandir(target) as entries:
            if next(entries, None) is not None:
                return f"{target} is not empty: choose a new or empty folder"
        if not os.access(target, os.W_OK | os.X_OK):
            return f"{target} is not writable"
        return None
    parent = target.parent
    if not parent.exists():
        return f"the parent folder {parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the parent folder {parent} is not writable"
    return None


def _content_errors(name: str, description: str, features: list[FeatureSpec], tech_stack: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(name, str) or "\n" in name or "\r" in name:
        errors["name"] = "the project name must be one line"
    elif len(name) > _MAX_NAME:
        errors["name"] = f"the project name is longer than {_MAX_NAME} characters"
    elif not _writable_text(name):
        errors["name"] = "the project name has characters that cannot be saved as UTF-8"
    if not isinstance(description, str) or not _writable_text(description):
        errors["description"] = "the description has characters that cannot be saved as UTF-8"
    for index, feature in enumerate(features, 1):
        fname, fdesc = getattr(feature, "name", None), getattr(feature, "description", "")
        if not isinstance(fname, str) or not fname.strip():
            errors["features"] = f"feature {index} has no name"
        elif "\n" in fname or "\r" in fname or len(fname) > _MAX_NAME:
            errors["features"] = f"feature {index}'s name must be one line of at most {_MAX_NAME} characters"
        elif not isinstance(fdesc, str) or not _writable_text(fname) or not _writable_text(fdesc):
            errors["features"] = f"feature {index} has characters that cannot be saved as UTF-8"
        if "features" in errors:
            break
    for item in tech_stack:
        if not isinstance(item, str) or "\n" in item or not _writable_text(item):
            errors["tech_stack"] = "each tech stack entry must be one line of text"
            break
    return errors


def _writable_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, from "\ud800" in JSON or undecodable command-line bytes
        return False
    return True


# ------------------------------------------------------------------------------------------------ inspection


def validate_project(path: Path) -> dict[str, bool]:
    """Which parts of a project as `init` creates it exist: relative path -> present (a folder for folders, a
    file for files)."""
    root = Path(path)
    parts = {rel: (root / rel).is_dir() for rel in FOLDERS}
    for rel in [SPEC_FILE, FEATURES_FILE, *(f"{CONTEXT_FOLDER}/{n}" for n in CONTEXT_FILES), *ROOT_FILES]:
        parts[rel] = (root / rel).is_file()
    return parts


# ------------------------------------------------------------------------------------------------ the run


class ProjectInitializer:
    def __init__(
        self,
        request: ProjectRequest,
        progress: Callable[[str, str, float], None] | None = None,
        cancel: threading.Event | None = None,
        step_hook: Callable[[str], None] | None = None,
    ) -> None:
        self.request = request
        self._progress = progress
        self._cancel = cancel or threading.Event()
        self._step_hook = step_hook
        self._step = ""
        self._index = 0
        self._target: Path | None = None
        self._name = ""
        self._created: list[tuple[Path, bool]] = []  # (path, is_folder), in creation order
        self._registration: registry.Registration | None = None
        self._pipx: str | None = None  # pipx executable, once this run has started an install
        self._pipx_preinstalled = True
        self._ran = False

    # -- public

    def run(self) -> Path:
        """Create the project; returns its folder. Raises InitCancelled or InitError after undoing everything."""
        if self._ran:
            raise RuntimeError("a ProjectInitializer runs once")
        self._ran = True
        try:
            for self._index, (step_id, label) in enumerate(STEPS):
                self._step = step_id
                if self._step_hook is not None:
                    self._step_hook(step_id)
                self._check_cancel()
                self._report(label)
                getattr(self, f"_step_{step_id}")()
        except InitCancelled as exc:
            raise InitCancelled(self._step, self._rollback()) from exc
        except InitError as exc:
            exc.leftovers = self._rollback()
            if exc.leftovers:
                exc.message += f"; could not undo: {', '.join(exc.leftovers)}"
            raise
        except BaseException as exc:
            leftovers = self._rollback()
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: undone, and passed on as they are
                raise
            error = InitError(self._step, _describe(exc))
            error.leftovers = leftovers
            if leftovers:
                error.message += f"; could not undo: {', '.join(leftovers)}"
            raise error from exc
        assert self._target is not None
        return self._target

    # -- steps

    def _step_validate(self) -> None:
        errors, target = _validate(self.request, backup=True)
        if errors:
            raise InitError("validate", "; ".join(errors.values()), errors)
        assert target is not None
        self._target = target
        self._name = self.request.name.strip() or target.name
        self._report(f"{target} (alias '{self.request.alias}')", 1.0)

    def _step_create_folders(self) -> None:
        target = self._target
        assert target is not None
        if not target.exists():
            self._mkdir(target)
        for number, rel in enumerate(FOLDERS, 1):
            self._check_cancel()
            self._mkdir(target / rel)
            self._report(f"created {rel}/", number / len(FOLDERS))

    def _step_write_spec(self) -> None:
        request, now = self.request, _dt.datetime.now().astimezone()
        files = {
            SPEC_FILE: templates.project_spec(
                self._name, request.description, request.features, request.tech_stack, now
            ),
            FEATURES_FILE: templates.features_json(self._name, request.description, request.features, now),
        }
        documents = templates.context_documents(
            self._name, request.description, request.features, request.tech_stack, now
        )
        files.update({f"{CONTEXT_FOLDER}/{name}": documents[name] for name in CONTEXT_FILES})
        self._write_all(files)

    def _step_write_files(self) -> None:
        request = self.request
        self._write_all(
            {
                ".gitignore": templates.gitignore(),
                "README.md": templates.readme(
                    self._name, request.description, request.alias, request.features, request.tech_stack
                ),
            }
        )

    def _step_install_buildrunner(self) -> None:
        if not self.request.install_buildrunner:
            self._report("skipped (not requested)", 1.0)
            return
        pipx = shutil.which("pipx")
        if pipx is None:
            raise InitError("install_buildrunner", _PIPX_MISSING)
        self._pipx_preinstalled = self._pipx_has_package(pipx)
        spec = os.environ.get(PIPX_SPEC_ENV) or PIPX_DEFAULT_SPEC
        self._pipx = pipx
        self._report(f"pipx install {spec} (this can take a minute)", 0.1)
        code, output = self._run_command([pipx, "install", spec], PIPX_TIMEOUT, "pipx install")
        if code != 0:
            detail = _last_line(output) or f"exit status {code}"
            lowered = output.lower()
            if any(hint in lowered for hint in _NETWORK_HINTS):
                raise InitError("install_buildrunner", f"could not download BuildRunner (no network?): pipx: {detail}")
            raise InitError("install_buildrunner", f"pipx install failed: {detail}")
        self._report("installed" + (" (it was already installed)" if self._pipx_preinstalled else ""), 1.0)

    def _step_register(self) -> None:
        assert self._target is not None
        try:
            self._registration = registry.register(
                self.request.alias, self._target, editor=self.request.editor, spec_path=SPEC_FILE
            )
        except registry.RegistryError as exc:
            raise InitError("register", str(exc)) from exc
        self._report(f"registered '{self.request.alias}' -> {self._target}", 1.0)

    # -- helpers

    def _report(self, message: str, within_step: float = 0.0) -> None:
        if self._progress is None:
            return
        fraction = (self._index + max(0.0, min(1.0, within_step))) / len(STEPS)
        if self._step != ROLLBACK:
            self._progress(self._step, message, fraction)
            return
        with contextlib.suppress(Exception):  # a failing progress callback must not stop the rollback
            self._progress(ROLLBACK, message, fraction)

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise InitCancelled(self._step)

    def _mkdir(self, path: Path) -> None:
        path.mkdir()  # never exist_ok: a folder that is already there is not ours to remove later
        self._created.append((path, True))

    def _write_all(self, files: dict[str, str]) -> None:
        assert self._target is not None
        for number, (rel, text) in enumerate(files.items(), 1):
            self._check_cancel()
            self._write(self._target / rel, text)
            self._report(f"wrote {rel}", number / len(files))

    def _write(self, path: Path, text: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags, 0o644)  # O_EXCL: never overwrite (nor write through a symlink)
        self._created.append((path, False))
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))

    def _pipx_has_package(self, pipx: str) -> bool:
        """Whether pipx already has BuildRunner (then a rollback must not uninstall it). Unknown counts as yes."""
        try:
            code, output = self._run_command([pipx, "list", "--short"], PIPX_LIST_TIMEOUT, "pipx list")
        except InitError:
            return True
        if code != 0:
            return True
        return any(line.split()[:1] == [PIPX_PACKAGE] for line in output.splitlines())

    def _run_command(self, argv: list[str], timeout: float, what: str, cancellable: bool = True) -> tuple[int, str]:
        """Run a command to completion, output captured; cancel and the timeout stop it (and its children)."""
        with tempfile.TemporaryFile() as output:
            try:
                process = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
                )
            except OSError as exc:
                raise InitError(self._step, f"cannot run {what}: {_describe(exc)}") from exc
            deadline = time.monotonic() + timeout
            try:
                while True:
                    try:
                        code = process.wait(timeout=0.1)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    if cancellable and self._cancel.is_set():
                        raise InitCancelled(self._step)
                    if time.monotonic() > deadline:
                        raise InitError(
                            self._step,
                            f"{what} did not finish within {timeout:g} s (a slow or missing network connection?)",
                        )
            finally:
                if process.poll() is None:
                    _stop(process)
            output.seek(0)
            return code, output.read().decode("utf-8", "replace")

    def _rollback(self) -> list[str]:
        """Undo this run, newest first; returns what could not be undone (normally nothing)."""
        leftovers: list[str] = []
        if not (self._registration or self._pipx or self._created):
            return leftovers
        step, self._step = self._step, ROLLBACK
        self._report("undoing what this run did")
        if self._registration is not None:
            try:
                registry.undo_registration(self._registration)
                self._report(f"unregistered '{self._registration.alias}'")
            except Exception as exc:
                leftovers.append(f"alias '{self._registration.alias}' ({_describe(exc)})")
            self._registration = None
        if self._pipx is not None and not self._pipx_preinstalled:
            try:
                # Also after a failed or cancelled install: it may have left a partial environment behind.
                self._run_command(
                    [self._pipx, "uninstall", PIPX_PACKAGE], PIPX_TIMEOUT, "pipx uninstall", cancellable=False
                )
                self._report("uninstalled BuildRunner")
            except InitError as exc:
                leftovers.append(f"the BuildRunner installed with pipx ({exc.message})")
            self._pipx = None
        for path, is_folder in reversed(self._created):
            try:
                if is_folder:
                    path.rmdir()  # only if empty: whatever someone else put there stays
                else:
                    path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                leftovers.append(f"{path} ({_describe(exc)})")
        if self._created:
            self._report("removed the files and folders this run created")
        self._created.clear()
        self._step = step
        return leftovers


_PIPX_MISSING = (
    "pipx is not installed (not found on PATH): install pipx (https://pipx.pypa.io), "
    "or create the project without installing BuildRunner"
)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process and its children (it leads its own session), then kill if it lingers."""
    for sig, grace in ((signal.SIGTERM, 3.0), (getattr(signal, "SIGKILL", signal.SIGTERM), 3.0)):
        with contextlib.suppress(OSError):
            if sys.platform != "win32":
                os.killpg(process.pid, sig)
            else:  # pragma: no cover
                process.kill()
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):  # pip's own error line says most
        if line.lower().startswith(("error", "fatal")):
            return line
    return lines[-1] if lines else ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc) or type(exc).__name__
    return text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
