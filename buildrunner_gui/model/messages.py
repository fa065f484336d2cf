"""The mirror protocol's messages (protocol.md), defined once as TypedDicts.

A TypedDict is a plain dict at run time, so the engine and the store build and reduce messages at dict speed,
while mypy checks every place that builds one and pydantic validates them: `buildrunner-gui schema` prints
the JSON Schema of these same classes and the tests validate every message against them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict

from .normalize import Status

PROTOCOL_VERSION = 1

ChangeType = Literal["created", "modified", "deleted", "moved"]
FileTypeName = Literal["checkpoint", "features", "context", "artifact", "log", "spec", "other"]
OutputType = Literal["stdout", "stderr", "info"]
SourceState = Literal["connecting", "live", "reconnecting", "unreachable", "refused"]
RunState = Literal["starting", "running", "paused", "finished", "failed_to_start"]
RUN_KEYS = ("run_id", "state", "command", "started_at", "ended_at", "exit_code", "duration_s")

# Event type -> subscription topic.
EVENT_TOPICS: dict[str, str] = {
    "component_update": "components",
    "feature_update": "features",
    "checkpoint_update": "checkpoints",
    "build_progress": "progress",
    "source_update": "progress",
    "terminal_output": "terminal",
    "file_change": "files",
    "error": "errors",
    "run_update": "runs",  # build runs (protocol.md, "Build runs and remote control"): the topic exists already
}
TOPICS: frozenset[str] = frozenset(EVENT_TOPICS.values())
TOPIC_ALIASES: dict[str, str] = {"tasks": "checkpoints"}

Message = dict[str, Any]  # any message as it travels; the classes below say what each type holds


# ---------------------------------------------------------------- parts of the snapshot


class ItemOut(TypedDict):
    id: str
    name: str
    status: Status
    raw_status: str
    progress: float
    metadata: dict[str, Any]


class ProgressOut(TypedDict):
    total: int
    completed: int
    percent: float
    status: Status
    tasks_completed: int
    files_created: int


class StatsOut(TypedDict):
    total: int
    completed: int
    in_progress: int
    pending: int
    failed: int
    completion_percentage: float


class CheckpointOut(TypedDict):
    checkpoint_id: str
    timestamp: str
    phase: str
    status: str
    tasks_completed: list[str]
    files_created: list[str]
    error: NotRequired[str | None]  # beyond protocol.md: the checkpoint's `error` (formats.md), when it has one


class TerminalLineOut(TypedDict):
    output: str
    output_type: OutputType
    source: str
    timestamp: str


class FileOut(TypedDict):
    file_path: str
    file_type: FileTypeName
    change_type: ChangeType
    timestamp: str


class ErrorOut(TypedDict):
    error_message: str
    error_type: str
    file_path: str | None
    timestamp: str


class DocumentOut(TypedDict):
    file_path: str
    title: str
    size: int
    content: str | None  # None when a `status` had to leave it out to stay within its size limit
    truncated: bool


class ArtifactOut(TypedDict):
    file_path: str
    size: int
    modified: str


class ProjectOut(TypedDict):
    name: str
    alias: str | None
    path: str


class SourceOut(TypedDict):
    """Where a session's state comes from: `local`, or a `mirror` of an upstream server's session."""

    kind: Literal["local", "mirror", "broker"]
    upstream: NotRequired[str]
    state: NotRequired[SourceState]
    since: NotRequired[str | None]
    last_contact: NotRequired[str | None]
    reason: NotRequired[str]
    next_try: NotRequired[str]  # beyond protocol.md: when a reconnecting or unreachable mirror tries again


class RunOut(TypedDict):
    """One build run, as its latest `run_update` says (protocol.md, "Build runs and remote control")."""

    run_id: str
    state: RunState
    command: str
    started_at: str
    ended_at: str | None
    exit_code: int | None
    duration_s: float | None
    # Beyond protocol.md: the run ended because someone cancelled it, so it did not fail (its exit code is the
    # signal that stopped it).
    cancelled: NotRequired[bool]


class Snapshot(TypedDict):
    """The `state` of a `status` message, and the output of `status --json`."""

    project: ProjectOut
    source: SourceOut
    status: Status
    last_change: str | None
    progress: ProgressOut
    component_stats: StatsOut
    feature_stats: StatsOut
    components: list[ItemOut]
    features: list[ItemOut]
    checkpoints: list[CheckpointOut]
    terminal: list[TerminalLineOut]
    files: list[FileOut]
    errors: list[ErrorOut]
    documents: list[DocumentOut]
    artifacts: list[ArtifactOut]
    run: RunOut | None  # the current or last build run
    runs: list[RunOut]  # the last 20, newest last


# ---------------------------------------------------------------- server -> client


class Common(TypedDict):
    type: str
    session_id: str
    epoch: str
    seq: int
    timestamp: str


class ConnectionMessage(Common):
    type: Literal["connection"]  # type: ignore[misc]
    status: Literal["connected"]
    client_id: str
    server_version: str
    protocol_version: int
    max_frame: int


class StatusMessage(Common):
    type: Literal["status"]  # type: ignore[misc]
    state: Snapshot


class ComponentUpdate(Common, ItemOut):
    type: Literal["component_update"]  # type: ignore[misc]
    component_id: str
    removed: bool


class FeatureUpdate(Common, ItemOut):
    type: Literal["feature_update"]  # type: ignore[misc]
    feature_id: str
    removed: bool


class CheckpointUpdate(Common):
    type: Literal["checkpoint_update"]  # type: ignore[misc]
    checkpoint_id: str
    phase: str
    status: str
    tasks_completed: list[str]
    files_created: list[str]
    metadata: dict[str, Any]
    removed: bool
    # Beyond protocol.md: the checkpoint's own time, so a mirror orders and dates its history as the sender does,
    # and its `error` (formats.md), so a mirror says why a build failed as the sender does.
    checkpoint_timestamp: NotRequired[str]
    error: NotRequired[str | None]


class BuildProgress(Common, ProgressOut):
    type: Literal["build_progress"]  # type: ignore[misc]
    # Beyond protocol.md: the snapshot's `project` and `last_change`, which change with the figures and are
    # otherwise carried by no event, so a mirror keeps them as the sender does.
    project: NotRequired[ProjectOut]
    last_change: NotRequired[str | None]


class SourceUpdate(Common):
    type: Literal["source_update"]  # type: ignore[misc]
    source: SourceOut


class TerminalOutput(Common):
    type: Literal["terminal_output"]  # type: ignore[misc]
    output: str
    output_type: OutputType
    source: str


class FileChange(Common):
    type: Literal["file_change"]  # type: ignore[misc]
    file_path: str
    file_type: FileTypeName
    change_type: ChangeType
    content: str | None
    truncated: bool
    size: NotRequired[int | None]  # artifacts and documents: the file's size in bytes
    modified: NotRequired[str | None]  # beyond protocol.md: an artifact's modification time
    scan: NotRequired[bool]  # beyond protocol.md: found by the first scan (state, not activity: not in `files`)


class ErrorMessage(Common):
    type: Literal["error"]  # type: ignore[misc]
    error_message: str
    error_type: str
    file_path: str | None
    traceback: str | None


class RunUpdate(Common, RunOut):
    """A build run changed (protocol.md, "Build runs and remote control"): the runner emits it."""

    type: Literal["run_update"]  # type: ignore[misc]


class Pong(Common):
    type: Literal["pong"]  # type: ignore[misc]


class Subscribed(Common):
    type: Literal["subscribed"]  # type: ignore[misc]
    topics: list[str]


ServerMessage = Annotated[
    ConnectionMessage
    | StatusMessage
    | ComponentUpdate
    | FeatureUpdate
    | CheckpointUpdate
    | BuildProgress
    | SourceUpdate
    | TerminalOutput
    | FileChange
    | ErrorMessage
    | RunUpdate
    | Pong
    | Subscribed,
    Field(discriminator="type"),
]


# ---------------------------------------------------------------- client -> server


class PingRequest(TypedDict):
    type: Literal["ping"]


class SubscribeRequest(TypedDict):
    type: Literal["subscribe"]
    topics: list[str]


class StatusRequest(TypedDict):
    type: Literal["request_status"]


class ResumeRequest(TypedDict):
    type: Literal["resume"]
    epoch: str
    last_seq: int


ClientMessage = Annotated[PingRequest | SubscribeRequest | StatusRequest | ResumeRequest, Field(discriminator="type")]

SERVER_MESSAGE: TypeAdapter[Any] = TypeAdapter(ServerMessage)
CLIENT_MESSAGE: TypeAdapter[Any] = TypeAdapter(ClientMessage)
SNAPSHOT: TypeAdapter[Snapshot] = TypeAdapter(Snapshot)


def json_schemas() -> dict[str, Any]:
    """Every protocol message's JSON Schema: what the server sends and what a client may send."""
    return {
        "protocol_version": PROTOCOL_VERSION,
        "server_to_client": SERVER_MESSAGE.json_schema(),
        "client_to_server": CLIENT_MESSAGE.json_schema(),
    }
