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

One change spans both files, and no rename covers two files, so a change is journaled: before either file is
replaced, `.registry-journal.json` records what both will hold (written atomically too), and it is removed once
both are. A writer killed in between leaves the journal, and the next start — any read or write of the registry
by this program — completes the change from it and says so in one logged warning. The same start removes the
temporary files a killed writer left (only names of our own pattern, and only under the lock: a live writer of
ours holds the lock for as long as its temporary files exist).

Every file is parsed by `model.jsonbytes.load_json` (size and depth limited). A registry that cannot be parsed —
not JSON, not an object, nested too deep, truncated by a writer that does not write atomically, as BuildRunner 3
itself does — is never treated as empty by an operation that writes: it is copied to `<file>.corrupt-<timestamp>`
and reported with `CorruptRegistryError`, and nothing is written until someone fixes or removes it.

Reads for monitoring (`registered_aliases`, `resolve_project`) stay lenient: an unreadable file there is
skipped with a one-line logged warning; only an alias that nothing readable knows is an error, naming the file.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import hashlib
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
JOURNAL_FILE = ".registry-journal.json"
ALIAS_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # used with fullmatch: `$` would let "a\n" through
DEFAULT_EDITOR = "claude"  # BuildRunner 3's default; its launcher needs a real editor name
DEFAULT_SPEC_PATH = ".buildrunner/PROJECT_SPEC.md"  # BuildRunner 3's default, relative to the project
_REREAD_DELAY = 0.05  # a file that fails to parse is read once more: a non-atomic writer may be mid-write
_JOURNAL_VERSION = 1
_TEMP_SUFFIX = ".tmp"
_TEMP_RANDOM = r"[a-z0-9_]{8}"  # what tempfile.mkstemp puts between our prefix and suffix


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
    _repair_quietly(home)
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
    _repair_quietly(buildrunner_home())
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
    _repair_quietly(buildrunner_home())
    try:
        projects, _ = _load(projects_file(), backup=backup)
        aliases, _ = _load(aliases_file(), backup=backup)
    except RegistryError as exc:
        return RegistrySnapshot(error=exc)
    return RegistrySnapshot(projects, aliases)


def lookup(alias: str, *, backup: bool = False) -> str | None:
    """The path registered for `alias` (strict: a corrupt registry raises), or None."""
    return read_snapshot(backup=backup).lookup(alias)


# ------------------------------------------------------------------------------------------------ locking


@contextlib.contextmanager
def _locked(home: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive lock on the registry folder, across processes (and across threads: flock is per open file).
    Yields True once held; with `wait=False`, yields False at once when someone else holds it."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RegistryError(f"cannot lock the alias registry in {home}: {exc.strerror or exc}") from exc
    try:
        yield _acquire(fd, wait)
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, wait: bool) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    while True:  # pragma: no cover - Windows
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            if not wait:
                return False
            time.sleep(0.05)


# ------------------------------------------------------------------------------------------------ atomic files


def _write_atomic(path: Path, data: bytes | None) -> None:
    """Replace `path` with `data` atomically (None deletes it). A symlinked registry keeps its link."""
    target = _target(path)
    if data is None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        return
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=_TEMP_SUFFIX)
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
    _sync_folder(target.parent)  # make the rename itself durable


def _target(path: Path) -> Path:
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
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


def _stale_temps(home: Path) -> list[Path]:
    """Temporary files of our own naming (`.<name>.XXXXXXXX.tmp`) beside the registry files and the journal:
    left only by a writer killed mid-write, since a live writer holds the lock while it has one."""
    found: list[Path] = []
    by_folder: dict[Path, list[str]] = {}
    for name in (PROJECTS_FILE, ALIASES_FILE, JOURNAL_FILE):
        target = _target(home / name)  # a symlinked registry's temporary files are beside its target
        by_folder.setdefault(target.parent, []).append(target.name)
    for folder, names in by_folder.items():
        pattern = re.compile("|".join(re.escape(f".{n}.") + _TEMP_RANDOM + re.escape(_TEMP_SUFFIX) for n in names))
        try:
            with os.scandir(folder) as entries:
                found += [
                    Path(e.path) for e in entries if pattern.fullmatch(e.name) and e.is_file(follow_symlinks=False)
                ]
        except OSError:
            continue
    return found


# ------------------------------------------------------------------------------------------------ the journal


@dataclass(frozen=True)
class _Change:
    """One file's part of a registry change: its bytes before and after, and the same change as an alias-level
    edit, to redo it on a file that someone else (not taking our lock) has changed since."""

    name: str  # PROJECTS_FILE or ALIASES_FILE
    before: bytes | None  # None: the file did not exist
    after: bytes | None  # None: the file is removed
    alias: str
    value: Any = None  # the alias's new value; None removes the alias
    only_path: str | None = None  # remove it only while it still points here


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _journal_bytes(action: str, changes: list[_Change]) -> bytes:
    files = [
        {
            "name": change.name,
            "before": _digest(change.before),
            "after": None if change.after is None else base64.b64encode(change.after).decode("ascii"),
            "alias": change.alias,
            "value": change.value,
            "only_path": change.only_path,
        }
        for change in changes
    ]
    return _dump({"version": _JOURNAL_VERSION, "action": action, "files": files})


@dataclass(frozen=True)
class _Redo:
    """A journaled change to one file, as read back: `before` is the digest of the bytes it replaced."""

    name: str
    before: str | None
    after: bytes | None
    alias: str
    value: Any
    only_path: str | None


def _read_journal(data: bytes) -> tuple[str, list[_Redo]]:
    """(action, per-file changes). Raises ValueError for anything this program did not write."""
    try:
        value = load_json(data)
    except ParseError as exc:
        raise ValueError(exc.message) from None
    if not isinstance(value, dict) or value.get("version") != _JOURNAL_VERSION:
        raise ValueError("not a journal this version writes")
    action, files = value.get("action"), value.get("files")
    if not isinstance(action, str) or not isinstance(files, list):
        raise ValueError("no action or files")
    return action, [_redo_of(item) for item in files]


def _redo_of(item: Any) -> _Redo:
    if not isinstance(item, dict) or item.get("name") not in (PROJECTS_FILE, ALIASES_FILE):
        raise ValueError("a file entry names no registry file")
    before, after, alias, only_path = item.get("before"), item.get("after"), item.get("alias"), item.get("only_path")
    if not (before is None or isinstance(before, str)) or not (after is None or isinstance(after, str)):
        raise ValueError("bad before/after")
    if not isinstance(alias, str) or not (only_path is None or isinstance(only_path, str)):
        raise ValueError("bad alias")
    try:
        data = None if after is None else base64.b64decode(after, validate=True)
    except ValueError as exc:
        raise ValueError(f"bad after: {exc}") from None
    return _Redo(item["name"], before, data, alias, item.get("value"), only_path)


def _entry_path(name: str, entry: Any) -> str | None:
    if name == PROJECTS_FILE:
        return entry.get("path") if isinstance(entry, dict) else None
    return entry if isinstance(entry, str) else None


def _edit(value: dict[str, Any], redo: _Redo) -> bool:
    """Apply a journaled alias-level edit to a file's object in place; True if it changed anything."""
    if redo.value is not None:
        if value.get(redo.alias) == redo.value:
            return False
        value[redo.alias] = redo.value
        return True
    if redo.alias not in value:
        return False
    if redo.only_path is not None and _entry_path(redo.name, value[redo.alias]) != redo.only_path:
        return False
    del value[redo.alias]
    return True


def _redo(home: Path, redo: _Redo) -> bool:
    """Bring one file to what the journal says; True if it had to be written."""
    path = home / redo.name
    current = _read_bytes(path)
    if current == redo.after:
        return False
    if _digest(current) == redo.before:  # untouched since: the exact bytes the change would have written
        _write_or_raise(path, redo.after)
        return True
    value, _ = _load(path, backup=False)  # someone else changed it since: redo the edit on what is there now
    if not _edit(value, redo):
        return False
    _write_or_raise(path, _dump(value))
    return True


def _finish_journal(home: Path) -> list[str]:
    """Complete a change a killed writer left journaled (call under the lock). Returns notices; raises
    RegistryError, keeping the journal, when a file it must change cannot be read or written."""
    journal = home / JOURNAL_FILE
    data = _read_bytes(journal)
    if data is None:
        return []
    try:
        action, redos = _read_journal(data)
    except ValueError as exc:
        _remove(journal)
        return [f"discarded an unreadable alias registry journal {journal} ({exc})"]
    try:
        wrote = [_redo(home, redo) for redo in redos]
    except RegistryError as exc:
        raise RegistryError(f"could not complete the interrupted {action}: {exc}") from exc
    _remove(journal)
    if any(wrote):
        return [f"repaired the alias registry in {home}: completed the {action}, which a process had left half-done"]
    return []


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise RegistryError(f"cannot remove {path}: {exc.strerror or exc}") from exc
    _sync_folder(path.parent)


def _repair_locked(home: Path) -> list[str]:
    """What a killed writer left: its temporary files are removed, its journaled change completed. Notices (one
    line each) are logged as warnings and returned. Call with the lock held."""
    for temp in _stale_temps(home):
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
            log.info("removed %s, left by a process killed while writing the alias registry", temp)
    notices = _finish_journal(home)
    for notice in notices:
        log.warning("%s", notice)
    return notices


def _needs_repair(home: Path) -> bool:
    return (home / JOURNAL_FILE).exists() or bool(_stale_temps(home))


def _repair_quietly(home: Path) -> list[str]:
    """`repair` for readers: cheap when there is nothing to do; skipped while a writer holds the lock (it repairs
    first itself), and any failure is logged rather than raised (a reader must still read)."""
    if not _needs_repair(home):
        return []
    try:
        with _locked(home, wait=False) as held:
            return _repair_locked(home) if held else []
    except RegistryError as exc:
        log.warning("%s", exc)
        return []


def repair() -> list[str]:
    """Repair what a process killed while changing the registry left behind (it waits for the lock). Returns the
    notices, one line each, also logged as warnings. Reads and writes of the registry do this on their own."""
    home = buildrunner_home()
    if not _needs_repair(home):
        return []
    with _locked(home):
        return _repair_locked(home)


def _commit(home: Path, action: str, changes: list[_Change]) -> None:
    """Write a change to both files as one: journaled first, so a crash between the two renames is completed at
    the next start. A failure undoes what was written (then drops the journal: nothing is left to complete)."""
    changes = [change for change in changes if change.after != change.before]
    if not changes:
        return
    journal = home / JOURNAL_FILE
    _write_or_raise(journal, _journal_bytes(action, changes))
    written: list[_Change] = []
    try:
        for change in changes:
            _write_or_raise(home / change.name, change.after)
            written.append(change)
    except BaseException:
        _abandon(home, journal, written)
        raise
    try:
        _remove(journal)
    except RegistryError as exc:  # the change is made; a journal left behind only redoes it, which changes nothing
        log.warning("%s", exc)


def _abandon(home: Path, journal: Path, written: list[_Change]) -> None:
    """Put the files already written back as they were. If that fails too, the journal stays: the next start
    completes the change, which is better than leaving the two files out of step."""
    try:
        for change in reversed(written):
            _write_atomic(home / change.name, change.before)
        _remove(journal)
    except (OSError, RegistryError) as exc:
        log.warning("could not undo a failed change to the alias registry (%s); the next start completes it", exc)


# ------------------------------------------------------------------------------------------------ writes


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
    Both files are updated as one change (see the module's docstring)."""
    if not is_valid_alias(alias):
        raise ValueError(f"invalid alias {alias!r}")
    path = os.fspath(path)
    home = buildrunner_home()
    with _locked(home):
        _repair_locked(home)
        projects, projects_before = _load(home / PROJECTS_FILE, backup=True)
        aliases, aliases_before = _load(home / ALIASES_FILE, backup=True)
        existing = _path_of(alias, projects, aliases)
        if existing is not None:
            raise AliasExistsError(f"alias '{alias}' is already registered" + (f" (to {existing})" if existing else ""))
        entry = {
            "alias": alias,
            "path": path,
            "created": _dt.datetime.now().isoformat(),
            "editor": editor or DEFAULT_EDITOR,
            "spec_path": spec_path,
            "last_accessed": None,
        }
        projects[alias], aliases[alias] = entry, path
        projects_after, aliases_after = _dump(projects), _dump(aliases)
        _commit(
            home,
            f"registration of alias '{alias}'",
            [
                _Change(PROJECTS_FILE, projects_before, projects_after, alias, entry),
                _Change(ALIASES_FILE, aliases_before, aliases_after, alias, path),
            ],
        )
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
        _repair_locked(home)
        changes = [_undo_change(home, registration, name) for name in (ALIASES_FILE, PROJECTS_FILE)]
        _commit(home, f"undoing of the registration of alias '{registration.alias}'", changes)


def _undo_change(home: Path, registration: Registration, name: str) -> _Change:
    path, alias = home / name, registration.alias
    current = _read_bytes(path)
    if current == registration.after[name]:
        return _Change(name, current, registration.before[name], alias, None, registration.path)
    value, current = _load(path, backup=True)
    if _entry_path(name, value.get(alias)) != registration.path:
        return _Change(name, current, current, alias)  # not ours (any more): nothing to do
    del value[alias]
    return _Change(name, current, _dump(value), alias, None, registration.path)


def unregister(alias: str) -> str:
    """Remove `alias` from both files; returns the path it pointed to. Raises UnknownAliasError."""
    home = buildrunner_home()
    with _locked(home):
        _repair_locked(home)
        projects, projects_before = _load(home / PROJECTS_FILE, backup=True)
        aliases, aliases_before = _load(home / ALIASES_FILE, backup=True)
        path = _path_of(alias, projects, aliases)
        if path is None:
            raise UnknownAliasError(f"no alias '{alias}' is registered")
        changes = []
        if alias in projects:
            del projects[alias]
            changes.append(_Change(PROJECTS_FILE, projects_before, _dump(projects), alias))
        if alias in aliases:
            del aliases[alias]
            changes.append(_Change(ALIASES_FILE, aliases_before, _dump(aliases), alias))
        _commit(home, f"removal of alias '{alias}'", changes)
    return path
