"""Reading a project's files safely and turning them into differ inputs (plain I/O, no Qt, no threads).

`ProjectReader` remembers what it has seen (a signature per file, a cursor per log) so that it can tell a
creation from a modification, read only the new bytes of a log, and find what a missed event left stale.
It is used from one thread at a time.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import BinaryIO

from ..model.classify import PARSED_TYPES, STATE_DIR, FileType, classify, is_relevant
from ..model.formats import FeatureRegistry, parse_checkpoint, parse_document, parse_registry
from ..model.inputs import (
    FileFailed,
    FileRead,
    FileRemoved,
    LogAppended,
    SourceInput,
    StateDirChanged,
)
from ..model.jsonbytes import MAX_FILE_BYTES, ParseError
from ..model.messages import ChangeType

LOG_TAIL_BYTES = 256 * 1024  # how much of an existing log is shown when monitoring starts
LOG_CHUNK_BYTES = 32 * 1024  # at most this much new log text per read; the rest on the next pass
# An unfinished log line is held until its newline comes, but never more than this of it: a progress bar
# that writes only `\r` makes one endless line. The rest is counted, and the line ends in a marker.
LINE_CAP_BYTES = 64 * 1024
CUT_MARKER = " … [line cut: {} bytes]"

Signature = tuple[int, int, int]  # (mtime_ns, size, inode)
_NO_SIGNATURE: Signature = (0, -1, 0)
_LASTING = frozenset(("too_large", "not_regular_file"))  # failures about what a file is, not what it says


@dataclass
class _LogCursor:
    """Where reading a log stands, and its unfinished last line (at most LINE_CAP_BYTES of it)."""

    inode: int
    offset: int
    line: bytearray = field(default_factory=bytearray)
    cut: int = 0  # bytes of the unfinished line dropped beyond the cap
    skipping: bool = False  # reading began mid-line: everything up to the first newline is dropped

    def restart(self, inode: int) -> None:
        self.inode, self.offset, self.cut, self.skipping = inode, 0, 0, False
        self.line = bytearray()

    def take_lines(self, chunk: bytes) -> str:
        """The lines `chunk` completes, as text without the last newline. Only `chunk` is searched for
        newlines, never the held line, so reading an endless line costs time in proportion to its length."""
        last = chunk.rfind(b"\n")
        if last < 0:
            self._hold(chunk)
            return ""
        first = chunk.find(b"\n")
        parts: list[str] = []
        if self.skipping:
            self.skipping = False
        else:
            self._hold(chunk[:first])
            parts.append(self._finish_line())
        if first < last:  # whole lines inside one chunk: shorter than the cap already
            parts.append(chunk[first + 1 : last].decode("utf-8", errors="replace"))
        self._hold(chunk[last + 1 :])
        return "\n".join(parts)

    def _hold(self, data: bytes) -> None:
        if self.skipping:
            return
        if self.cut:
            self.cut += len(data)
            return
        room = LINE_CAP_BYTES - len(self.line)
        if len(data) <= room:
            self.line += data
            return
        self.line += data[:room]
        whole = _whole_chars(self.line)  # the cut falls between characters, never inside one
        self.cut = len(self.line) - whole + len(data) - room
        del self.line[whole:]

    def _finish_line(self) -> str:
        text = self.line.decode("utf-8", errors="replace")
        if self.cut:
            text += CUT_MARKER.format(self.cut)
        self.line, self.cut = bytearray(), 0
        return text


@dataclass(frozen=True)
class ReadResult:
    """What syncing one path produced. `failed` lists paths whose parse failed (worth one re-read);
    `more` lists logs with unread bytes left."""

    inputs: list[SourceInput]
    failed: list[str]
    more: list[str]


class ProjectReader:
    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.state_dir_present = False
        self._known: dict[str, Signature] = {}
        self._logs: dict[str, _LogCursor] = {}
        # Paths whose very first read failed: their next good read is still their creation.
        self._never_read: set[str] = set()
        self._good_bytes: dict[str, bytes] = {}  # last cleanly parsed content of each parsed file
        self._records: dict[str, object] = {}  # and what it parsed into (a registry reuses its unchanged items)
        self._reported: dict[str, tuple[str, Signature]] = {}  # failures no re-read fixes, as last reported

    # ---------------------------------------------------------------- whole-tree passes

    def scan(self) -> list[SourceInput]:
        """The first read of the project: everything is state, nothing is announced as activity."""
        self.state_dir_present = os.path.isdir(self._abs(STATE_DIR))
        inputs: list[SourceInput] = [StateDirChanged(self.state_dir_present, at_start=True)]
        for rel in self._walk():
            result = self._read_file(rel, None, announce=False)
            inputs.extend(result.inputs)
            while result.more:  # a log's tail comes in several chunks
                result = self._read_file(rel, None, announce=False)
                inputs.extend(result.inputs)
        return inputs

    def stale_paths(self) -> list[str]:
        """Paths whose signature differs from what was last read, plus known paths that vanished."""
        seen: set[str] = set()
        stale: list[str] = []
        if os.path.isdir(self._abs(STATE_DIR)) != self.state_dir_present:
            stale.append(STATE_DIR)
        for rel in self._walk():
            seen.add(rel)
            if self._known.get(rel) != self._signature(rel):
                stale.append(rel)
        stale.extend(rel for rel in self._known if rel not in seen)
        return stale

    def known_paths(self) -> list[str]:
        return list(self._known)

    # ---------------------------------------------------------------- one path

    def sync(self, rel: str, hint: ChangeType | None = None) -> ReadResult:
        """Bring one path up to date: a file is read, a folder is walked, a vanished path is removed."""
        inputs: list[SourceInput] = []
        failed: list[str] = []
        more: list[str] = []
        if rel == STATE_DIR or (rel.startswith(STATE_DIR + "/") and not self.state_dir_present):
            present = os.path.isdir(self._abs(STATE_DIR))
            if present != self.state_dir_present:
                self.state_dir_present = present
                inputs.append(StateDirChanged(present))
                if not present:
                    inputs.extend(self._forget_under(STATE_DIR, "deleted"))
                    return ReadResult(inputs, failed, more)
                rel = STATE_DIR
        full = self._abs(rel)
        if os.path.isdir(full) and not os.path.islink(full):
            inputs.extend(self._forget(rel, "deleted"))  # a file replaced by a folder of the same name
            present_files = set(self._walk_under(rel))
            for child in sorted(present_files):
                if child not in self._known or self._known[child] != self._signature(child):
                    result = self._read_file(child, None, announce=True)
                    inputs.extend(result.inputs)
                    failed.extend(result.failed)
                    more.extend(result.more)
            gone = [k for k in self._known if k.startswith(rel + "/") and k not in present_files]
            for path in gone:
                inputs.extend(self._forget(path, "deleted"))
        elif os.path.lexists(full):
            result = self._read_file(rel, hint, announce=True)
            inputs.extend(result.inputs)
            failed.extend(result.failed)
            more.extend(result.more)
        else:
            inputs.extend(self._forget_under(rel, "moved" if hint == "moved" else "deleted"))
        return ReadResult(inputs, failed, more)

    def _read_file(self, rel: str, hint: ChangeType | None, announce: bool) -> ReadResult:
        file_type = classify(rel)
        change: ChangeType = "modified" if rel in self._known and rel not in self._never_read else "created"
        if hint == "moved" and rel not in self._known:
            change = "created"
        try:
            if file_type not in PARSED_TYPES and file_type != "log":
                return self._list_file(rel, file_type, change, announce)
            return self._read_content(rel, file_type, change, announce)
        except ParseError as exc:
            self._known[rel] = self._signature(rel)
            # A file grown past the limit between stat() and read() is no writer caught mid-write: no re-read.
            retry = exc.error_type != "too_large"
            return self._failure(rel, file_type, change, exc.error_type, exc.message, retry=retry)
        except NotRegularFile as exc:
            self._known[rel] = self._signature(rel)
            return self._failure(rel, file_type, change, "not_regular_file", str(exc), retry=False)
        except PermissionError:
            self._known[rel] = self._signature(rel)
            return self._failure(rel, file_type, change, "unreadable", "permission denied", retry=False)
        except OSError as exc:
            self._known[rel] = self._signature(rel)
            return self._failure(rel, file_type, change, "unreadable", exc.strerror or str(exc), retry=True)
        except Exception as exc:  # a bug must not take the monitor down: report it like a bad file
            self._known[rel] = self._signature(rel)
            return self._failure(rel, file_type, change, "internal_error", f"{type(exc).__name__}: {exc}", retry=False)

    def _read_content(self, rel: str, file_type: FileType, change: ChangeType, announce: bool) -> ReadResult:
        """A log or a parsed file, through a symlink only when it stays inside the project."""
        full = self._abs(rel)
        real = os.path.realpath(full)
        if not _inside(real, self.root):
            self._known[rel] = self._signature(rel)
            reason = "symlink points outside the project; not followed"
            return self._failure(rel, file_type, change, "outside_project", reason, retry=False)
        try:
            info = os.stat(real)
        except FileNotFoundError:
            if os.path.islink(full):
                self._known[rel] = self._signature(rel)
                reason = "symlink points to a file that does not exist"
                return self._failure(rel, file_type, change, "dangling_symlink", reason, retry=False)
            return ReadResult(self._forget(rel, "deleted"), [], [])
        if stat.S_ISDIR(info.st_mode):  # a folder (through a symlink) took the file's name: the file is gone
            return ReadResult(self._forget(rel, "deleted"), [], [])
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(info.st_mode)  # never opened: opening a FIFO blocks until a writer comes
        if file_type == "log":
            return self._read_log(rel, real, info, change, announce)
        return self._read_parsed(rel, real, info, file_type, change, announce)

    def _read_parsed(
        self, rel: str, real: str, info: os.stat_result, file_type: FileType, change: ChangeType, announce: bool
    ) -> ReadResult:
        signature = (info.st_mtime_ns, info.st_size, info.st_ino)
        if info.st_size > MAX_FILE_BYTES:
            self._known[rel] = signature
            reason = f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
            return self._failure(rel, file_type, change, "too_large", reason, retry=False)
        with _open_regular(real) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        self._known[rel] = signature
        self._reported.pop(rel, None)
        if rel not in self._never_read and self._good_bytes.get(rel) == data:
            # The same bytes as the last good read (a close event after a write, an editor's double save):
            # nothing changed. Bytes, not size+mtime, decide: two same-size writes within one clock tick look
            # alike otherwise.
            return ReadResult([], [], [])
        record = _parse(file_type, data, rel, info.st_mtime, self._records.get(rel))
        self._good_bytes[rel] = data
        self._records[rel] = record
        self._never_read.discard(rel)
        return ReadResult([FileRead(rel, file_type, change, record, info.st_size, info.st_mtime, announce)], [], [])

    def _list_file(self, rel: str, file_type, change: ChangeType, announce: bool) -> ReadResult:
        """Artifacts and unknown files are listed, never read; symlinks are described, not followed."""
        try:
            info = os.lstat(self._abs(rel))
        except FileNotFoundError:
            return ReadResult(self._forget(rel, "deleted"), [], [])
        self._known[rel] = self._signature(rel)
        return ReadResult([FileRead(rel, file_type, change, None, info.st_size, info.st_mtime, announce)], [], [])

    def _failure(self, rel: str, file_type, change, error_type: str, reason: str, retry: bool) -> ReadResult:
        """A file that could not be read. One that no re-read will fix is reported once, and again only when
        it changes (size, mtime, inode); a file too large or not a file at all, once for as long as it stays so
        (a FIFO's mtime moves with every write to it, a growing file's size with every append)."""
        if change == "created":
            self._never_read.add(rel)
        if not retry:
            before = self._reported.get(rel)
            now = (error_type, self._known.get(rel, _NO_SIGNATURE))
            self._reported[rel] = now
            if before is not None and before[0] == error_type and (before == now or error_type in _LASTING):
                return ReadResult([], [], [])
        one_line = " ".join(reason.split())[:300]
        return ReadResult([FileFailed(rel, file_type, change, error_type, one_line)], [rel] if retry else [], [])

    def _read_log(self, rel: str, real: str, info: os.stat_result, change: ChangeType, announce: bool) -> ReadResult:
        cursor = self._logs.get(rel)
        restarted = False
        if cursor is None:
            start = 0 if announce else max(0, info.st_size - LOG_TAIL_BYTES)
            cursor = self._logs[rel] = _LogCursor(info.st_ino, start, skipping=start > 0)
        elif cursor.inode != info.st_ino or info.st_size < cursor.offset:
            cursor.restart(info.st_ino)
            restarted = True
        with _open_regular(real) as handle:
            handle.seek(cursor.offset)
            chunk = handle.read(LOG_CHUNK_BYTES)
        self._reported.pop(rel, None)
        cursor.offset += len(chunk)
        text = cursor.take_lines(chunk)
        self._known[rel] = (
            (info.st_mtime_ns, cursor.offset, info.st_ino)
            if cursor.offset < info.st_size
            else (info.st_mtime_ns, info.st_size, info.st_ino)
        )
        inputs: list[SourceInput] = []
        if change == "created" and announce:
            inputs.append(FileRead(rel, "log", change, None, info.st_size, info.st_mtime, announce))
        if text or restarted:
            inputs.append(LogAppended(rel, text, restarted))
        more = [rel] if cursor.offset < info.st_size else []
        return ReadResult(inputs, [], more)

    def _forget(self, rel: str, change: ChangeType) -> list[SourceInput]:
        self._never_read.discard(rel)
        self._reported.pop(rel, None)
        self._good_bytes.pop(rel, None)
        self._records.pop(rel, None)
        if self._known.pop(rel, None) is None:
            return []
        self._logs.pop(rel, None)
        return [FileRemoved(rel, classify(rel), change)]

    def _forget_under(self, rel: str, change: ChangeType) -> list[SourceInput]:
        inputs = self._forget(rel, change)
        for path in [k for k in self._known if k.startswith(rel + "/")]:
            inputs.extend(self._forget(path, change))
        return inputs

    # ---------------------------------------------------------------- helpers

    def _abs(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def _signature(self, rel: str) -> Signature:
        full = self._abs(rel)
        try:
            info = os.stat(full)
        except OSError:
            try:
                info = os.lstat(full)
            except OSError:
                return _NO_SIGNATURE
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _walk(self) -> list[str]:
        found = [rel for rel in ("PROJECT_SPEC.md",) if os.path.lexists(self._abs(rel))]
        if os.path.isdir(self._abs(STATE_DIR)):
            found.extend(self._walk_under(STATE_DIR))
        return found

    def _walk_under(self, rel_dir: str) -> list[str]:
        """Files (and symlinks to anything) under a folder; symlinked folders are not entered."""
        found: list[str] = []
        stack = [rel_dir]
        while stack:
            current = stack.pop()
            try:
                entries = list(os.scandir(self._abs(current)))
            except OSError:
                continue
            for entry in entries:
                rel = f"{current}/{entry.name}"
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(rel)
                    elif is_relevant(rel):
                        found.append(rel)
                except OSError:
                    continue
        return found


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file was expected."""

    def __init__(self, mode: int) -> None:
        super().__init__(f"not a regular file ({_kind(mode)}); not read")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _open_regular(path: str) -> BinaryIO:
    """Open a file to read only if it is a regular file. stat() said so already; this closes the gap in which
    it could become a FIFO: O_NONBLOCK keeps the open from waiting for a writer, fstat() then refuses it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _parse(file_type: str, data: bytes, rel: str, mtime: float, previous: object = None):
    if file_type == "checkpoint":
        return parse_checkpoint(data, rel.rsplit("/", 1)[-1], mtime)
    if file_type == "features":
        return parse_registry(data, previous if isinstance(previous, FeatureRegistry) else None)
    return parse_document(data, rel)


def _whole_chars(data: bytearray) -> int:
    """The length of UTF-8 `data` without a character cut off at its end."""
    end = len(data)
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte & 0xC0 != 0x80:  # the first byte of the last character says how long it is
            length = 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4 if byte >> 3 == 0b11110 else 1
            return end if back >= length else end - back
    return end


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)
