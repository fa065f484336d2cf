"""What a source (the file watcher, a one-off scan) hands the differ: facts about files, already parsed."""

from __future__ import annotations

from dataclasses import dataclass

from .classify import FileType
from .formats import Checkpoint, Document, FeatureRegistry
from .messages import ChangeType

Record = Checkpoint | FeatureRegistry | Document | None


@dataclass(frozen=True, slots=True)
class FileRead:
    """A file exists and, for the kinds the differ understands, parsed cleanly into `record`.

    `announce` is False for the initial scan: files found at start are state, not activity."""

    path: str
    file_type: FileType
    change: ChangeType
    record: Record
    size: int
    mtime: float
    announce: bool = True


@dataclass(frozen=True, slots=True)
class FileRemoved:
    path: str
    file_type: FileType
    change: ChangeType = "deleted"


@dataclass(frozen=True, slots=True)
class FileFailed:
    """A file changed but could not be read or parsed: its last good state stays."""

    path: str
    file_type: FileType
    change: ChangeType
    error_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class LogAppended:
    """New text at the end of a log file (whole lines). `restarted`: the log was truncated or rotated."""

    path: str
    text: str
    restarted: bool = False


@dataclass(frozen=True, slots=True)
class StateDirChanged:
    """`.buildrunner/` appeared (present=True) or disappeared."""

    present: bool
    at_start: bool = False


@dataclass(frozen=True, slots=True)
class Notice:
    """A line about the monitor itself, shown in the terminal as `info`; with an `error_type`, an `error`."""

    text: str
    error_type: str | None = None


SourceInput = FileRead | FileRemoved | FileFailed | LogAppended | StateDirChanged | Notice
