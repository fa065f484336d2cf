"""BuildRunner's alias registry, read and written the way BuildRunner 3 keeps it.

Two files in `buildrunner_home()` (`BUILDRUNNER_HOME`, else `~/.buildrunner`), kept in step:

- `projects.json`: `{alias: {"alias", "path", "created", "editor", "spec_path", "last_accessed"}}` — what
  BuildRunner 3's `core/project_registry.py` writes. Its loader builds `ProjectInfo(**entry)`, so an entry must
  carry exactly these keys: `alias` included, nothing of our own added.
- `aliases.json`: `{alias: path}` — what BuildRunner 3's `core/alias_manager.py` writes.

Writes never lose anything: every change is read-modify-write under an exclusive `flock` on `.registry.lock` in
the same folder (so two processes registering at once both land), and each file is replaced atomically
(temporary file in the same folder, fsync, `os.replace`), so a crash mid-write leaves the old file or the new
one, never half of one. Keys we do not know — other aliases, other tools' keys inside an entry, top-level
keys — are written back untouched.

Every file is parsed by `model.jsonbytes.load_json` (size and depth limited). A registry that cannot be parsed —
not JSON, not an object, nested too deep, truncated by a writer that does not write atomically, as BuildRunner 3
itself does — is never treated as empty by an operation that writes: it is copied to `<file>.corrupt-<timestamp>`
and reported with `CorruptRegistryError`, and nothing is written until someone fixes or removes it.

Reads for monitoring (`registered_aliases`, `resolve_project`) stay lenient: an unreadable file there is
skipped with a one-line logged warning; only an alias that nothing readable knows is an error, naming the file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.jsonbytes import ParseError, load_json

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

PROJECTS_FILE = "projects.json"
ALIASES_FILE = "aliases.json"
LOCK_FILE = ".registry.lock"
ALIAS_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # used with fullmatch: `$` would let "a\n" through
DEFAULT_EDITOR = "claude"  # BuildRunner 3's default; its launcher needs a real editor name
DEFAULT_SPEC_PATH = ".buildrunner/PROJECT_SPEC.md"  # BuildRunner 3's default, relative to the project
_REREAD_DELAY = 0.05  # a file that fails to parse is read once more: a non-atomic writer may be mid-write


# ------------------------------------------------------------------------------------------------ errors


class RegistryError(Exception):
    """The registry could not be read or written; the message is one readable line."""


class CorruptRegistryError(RegistryError):
    """A registry file exists but is not a JSON object. `backup` is the copy we saved (None if saving failed)."""

    def __init__(self, path: Path, reason: str, backup: Path | None, attempted: bool = True) -> None:
        self.path, self.reason, self.backup = path, reason, backup
        if backup is not None:
            saved = f"a copy was saved as {backup.name}; "
        else:
            saved = "no copy could be saved; " if attempted else ""
        super().__init__(
            f"the alias registry {path} is corrupt ({reason}); {saved}fix or delete the file, then try again"
        )


class AliasExistsError(RegistryError):
    pass


class UnknownProjectError(ValueError):
    """A PROJECT argument that is neither a folder nor a registered alias (a usage error: exit 2)."""


class UnknownAliasError(UnknownProjectError):
    pass


class UnreadableRegistryError(RegistryError, UnknownProjectError):
    """A PROJECT argument that is no folder and no alias of the readable registry, while a registry file could not
    be read: the message names that file rather than calling the alias unknown. An UnknownProjectError too, so
    every caller that reports an unknown PROJECT in one line (the CLI, the window) reports this one."""


# ------------------------------------------------------------------------------------------------ paths


def buildrunner_home() -> Path:
    """`BUILDRUNNER_HOME`, else `~/.buildrunner`."""
    override = os.environ.get("BUILDRUNNER_HOME")
    return Path(override).expanduser() if override else Path.home() / ".buildrunner"


def projects_file() -> Path:
    return buildrunner_home() / PROJECTS_FILE


def aliases_file() -> Path:
    return buildrunner_home() / ALIASES_FILE


def is_valid_alias(alias: str) -> bool:
    return isinstance(alias, str) and ALIAS_RE.fullmatch(alias) is not None


# ------------------------------------------------------------------------------------------------ parsing


def _parse(data: bytes) -> tuple[dict[str, Any] | None, str]:
    """(object, "") or (None, one-line reason). Depth and size limited: a 100,000-level file is a reason."""
    try:
        value = load_json(data)
    except ParseError as exc:
        return None, exc.message
    if not isinstance(value, dict):
        return None, f"expected a JSON object, found {type(value).__name__}"
    return value, ""


# ------------------------------------------------------------------------------------------------ lenient reads

_reported: set[str] = set()  # lenient-read problems already logged (once each per process, not per read)


def _read_lenient(path: Path) -> tuple[dict[str, Any], str | None]:
    """(object, None), or ({}, one-line problem) when the file exists but cannot be used. Never raises."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"the alias registry {path} cannot be read ({exc.strerror or exc})"
    value, reason = _parse(data)
    if value is None:
        return {}, f"the alias registry {path} cannot be read ({reason})"
    return value, None


def _lenient_aliases() -> tuple[dict[str, str], list[str]]:
    """alias -> path from both files (`projects.json` wins), and the problems of files that could not be read."""
    home = buildrunner_home()
    short, short_problem = _read_lenient(home / ALIASES_FILE)
    full, full_problem = _read_lenient(home / PROJECTS_FILE)
    aliases = {k: v for k, v in short.items() if isinstance(v, str)}
    for alias, entry in full.items():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            aliases[alias] = entry["path"]
    return aliases, [problem for problem in (full_problem, short_problem) if problem]


def _warn_once(problems: list[str]) -> None:
    for problem in problems:
        if problem not in _reported:
            _reported.add(problem)
            log.warning("%s; its aliases are ignored", problem)


def registered_aliases() -> dict[str, str]:
    """alias -> project path, from both files (`projects.json` wins where they disagree). Lenient: an unreadable
    file is skipped with a logged warning (for monitoring; `list_aliases` reports corruption instead)."""
    aliases, problems = _lenient_aliases()
    _warn_once(problems)
    return aliases


def alias_for_path(project: Path) -> str | None:
    """The alias registered for this folder, if any."""
    target = os.path.realpath(project)
    for alias, path in sorted(registered_aliases().items()):
        if os.path.realpath(os.path.expanduser(path)) == target:
            return alias
    return None


def resolve_project(argument: str) -> tuple[Path, str | None]:
    """A PROJECT argument (a folder, or a registered alias) -> (folder, alias or None)."""
    candidate = Path(argument).expanduser()
    if candidate.is_dir():
        return candidate.resolve(), alias_for_path(candidate)
    aliases, problems = _lenient_aliases()
    if argument in aliases:
        _warn_once(problems)
        folder = Path(aliases[argument]).expanduser()
        if not folder.is_dir():
            raise UnknownProjectError(f"alias '{argument}' points to {folder}, which is not a folder")
        return folder.resolve(), argument
    if problems:  # the alias may well be in the file we could not read: say that, not "unknown"
        raise UnreadableRegistryError(
            f"'{argument}' is not a folder, and {problems[0]}, so its aliases are unknown; fix or delete the file"
        )
    raise UnknownProjectError(f"'{argument}' is neither a project folder nor a registered alias")


# ------------------------------------------------------------------------------------------------ strict reads


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"cannot read the alias registry {path}: {exc.strerror or exc}") from exc


def _backup(path: Path, data: bytes) -> Path | None:
    """Copy a corrupt registry to `<name>.corrupt-<timestamp>` beside it — once per distinct content."""
    try:
        for existing in path.parent.glob(f"{path.name}.corrupt-*"):
            with contextlib.suppress(OSError):
                if existing.is_file() and existing.read_bytes() == data:
                    return existing
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        for attempt in range(100):
            candidate = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{attempt}" if attempt else ""))
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            return candidate
    except OSError:
        return None
    return None


def _load(path: Path, *, backup: bool) -> tuple[dict[str, Any], bytes | None]:
    """(parsed object, raw bytes) of one registry file; a missing file is `({}, None)`."""
    data = _read_bytes(path)
    if data is None:
        return {}, None
    value, reason = _parse(data)
    if value is None and backup:  # about to act on it: worth a pause (validating as the user types is not)
        time.sleep(_REREAD_DELAY)  # maybe a writer that truncates-then-writes (BuildRunner 3 does) is mid-write
        data = _read_bytes(path)
        if data is None:
            return {}, None
        value, reason = _parse(data)
    if value is None:
        raise CorruptRegistryError(path, reason, _backup(path, data) if backup else None, attempted=backup)
    return value, data


def _path_of(alias: str, projects: dict[str, Any], aliases: dict[str, Any]) -> str | None:
    entry = projects.get(alias)
    if isinstance(entry, dict):
        path = entry.get("path")
        if isinstance(path, str):
            return path
    short = aliases.get(alias)
    if isinstance(short, str):
        return short
    if alias in projects or alias in aliases:
        return ""
    return None


@dataclass(frozen=True)
class AliasEntry:
    alias: str
    path: str  # "" when the entry has no usable path
    in_projects: bool  # listed in projects.json
    in_aliases: bool  # listed in aliases.json
    details: dict[str, Any] = field(default_factory=dict)  # the projects.json entry, as written


def list_aliases(*, backup: bool = True) -> list[AliasEntry]:
    """Every registered alias from both files, sorted. Raises CorruptRegistryError (after backing the file up)."""
    projects, _ = _load(projects_file(), backup=backup)
    aliases, _ = _load(aliases_file(), backup=backup)
    entries = []
    for alias in sorted(set(projects) | set(aliases)):
        details = projects.get(alias)
        entries.append(
            AliasEntry(
                alias,
                _path_of(alias, projects, aliases) or "",
                alias in projects,
                alias in aliases,
                dict(details) if isinstance(details, dict) else {},
            )
        )
    return entries


@dataclass(frozen=True)
class RegistrySnapshot:
    """Both registry files as read at one moment (strictly), so many aliases can be checked without re-reading
    them — say, as the user types one. A registry that could not be read keeps its error, and `lookup` raises it,
    exactly as reading the files then would have. Treat the dicts as read-only."""

    projects: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, Any] = field(default_factory=dict)
    error: RegistryError | None = None

    def lookup(self, alias: str) -> str | None:
        """The path registered for `alias` ("" for an entry without a usable path), or None."""
        if self.error is not None:
            raise self.error.with_traceback(None)  # raised again each time: keep its traceback from growing
        return _path_of(alias, self.projects, self.aliases)


def read_snapshot(*, backup: bool = False) -> RegistrySnapshot:
    """Read both files once. Never raises for an unreadable or corrupt registry: the snapshot carries the error
    (`backup` as for `_load`: validation as the user types passes False, so it writes nothing)."""
    try:
        projects, _ = _load(projects_file(), backup=backup)
        aliases, _ = _load(aliases_file(), backup=backup)
    except RegistryError as exc:
        return RegistrySnapshot(error=exc)
    return RegistrySnapshot(projects, aliases)


def lookup(alias: str, *, backup: bool = False) -> str | None:
    """The path registered for `alias` (strict: a corrupt registry raises), or None."""
    return read_snapshot(backup=backup).lookup(alias)


# ------------------------------------------------------------------------------------------------ writes


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """An exclusive lock on the registry folder, across processes (and across threads: flock is per open file)."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RegistryError(f"cannot lock the alias registry in {home}: {exc.strerror or exc}") from exc
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:  # pragma: no cover - Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_atomic(path: Path, data: bytes | None) -> None:
    """Replace `path` with `data` atomically (None deletes it). A symlinked registry keeps its link."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if data is None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        return
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _dump(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode("utf-8")  # ASCII, like BuildRunner's json.dump


def _write_or_raise(path: Path, data: bytes | None) -> None:
    try:
        _write_atomic(path, data)
    except OSError as exc:
        raise RegistryError(f"cannot write the alias registry {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class Registration:
    """What `register` changed, so `undo_registration` can put the files back exactly as they were."""

    alias: str
    path: str
    before: dict[str, bytes | None]  # file name -> bytes before (None: the file did not exist)
    after: dict[str, bytes]  # file name -> bytes register wrote


def register(
    alias: str, path: str | os.PathLike[str], *, editor: str = "", spec_path: str = DEFAULT_SPEC_PATH
) -> Registration:
    """Add `alias` -> `path` to both files. Raises AliasExistsError if either already has the alias, ValueError
    for an invalid alias, CorruptRegistryError / RegistryError when the registry cannot be read or written.
    Either both files are updated or neither is."""
    if not is_valid_alias(alias):
        raise ValueError(f"invalid alias {alias!r}")
    path = os.fspath(path)
    home = buildrunner_home()
    with _locked(home):
        pfile, afile = home / PROJECTS_FILE, home / ALIASES_FILE
        projects, projects_before = _load(pfile, backup=True)
        aliases, aliases_before = _load(afile, backup=True)
        existing = _path_of(alias, projects, aliases)
        if existing is not None:
            raise AliasExistsError(f"alias '{alias}' is already registered" + (f" (to {existing})" if existing else ""))
        projects[alias] = {
            "alias": alias,
            "path": path,
            "created": _dt.datetime.now().isoformat(),
            "editor": editor or DEFAULT_EDITOR,
            "spec_path": spec_path,
            "last_accessed": None,
        }
        aliases[alias] = path
        projects_after, aliases_after = _dump(projects), _dump(aliases)
        _write_or_raise(pfile, projects_after)
        try:
            _write_or_raise(afile, aliases_after)
        except BaseException:
            with contextlib.suppress(Exception):
                _write_atomic(pfile, projects_before)
            raise
    return Registration(
        alias,
        path,
        {PROJECTS_FILE: projects_before, ALIASES_FILE: aliases_before},
        {PROJECTS_FILE: projects_after, ALIASES_FILE: aliases_after},
    )


def undo_registration(registration: Registration) -> None:
    """Undo `register`: a file nobody changed since gets its old bytes back (or is removed if it did not exist);
    a file someone else changed since loses just this alias, keeping their change."""
    home = buildrunner_home()
    with _locked(home):
        for name in (ALIASES_FILE, PROJECTS_FILE):
            path = home / name
            current = _read_bytes(path)
            if current == registration.after[name]:
                _write_or_raise(path, registration.before[name])
                continue
            value, _ = _load(path, backup=True)
            if name == PROJECTS_FILE:
                entry = value.get(registration.alias)
                ours = isinstance(entry, dict) and entry.get("path") == registration.path
            else:
                ours = value.get(registration.alias) == registration.path
            if ours:
                del value[registration.alias]
                _write_or_raise(path, _dump(value))


def unregister(alias: str) -> str:
    """Remove `alias` from both files; returns the path it pointed to. Raises UnknownAliasError."""
    home = buildrunner_home()
    with _locked(home):
        pfile, afile = home / PROJECTS_FILE, home / ALIASES_FILE
        projects, projects_before = _load(pfile, backup=True)
        aliases, _ = _load(afile, backup=True)
        path = _path_of(alias, projects, aliases)
        if path is None:
            raise UnknownAliasError(f"no alias '{alias}' is registered")
        if alias in projects:
            del projects[alias]
            _write_or_raise(pfile, _dump(projects))
        if alias in aliases:
            del aliases[alias]
            try:
                _write_or_raise(afile, _dump(aliases))
            except BaseException:
                with contextlib.suppress(Exception):
                    _write_atomic(pfile, projects_before)
                raise
    return path
