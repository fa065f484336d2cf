"""The mirror protocol's messages (protocol.md) as pydantic models.

The engine builds messages as plain dicts for speed; these models are the contract: `buildrunner-gui schema`
prints their JSON Schema and the tests validate every message the engine emits against them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .normalize import Status

PROTOCOL_VERSION = 1

ChangeType = Literal["created", "modified", "deleted", "moved"]
FileTypeName = Literal["checkpoint", "features", "context", "artifact", "log", "spec", "other"]
OutputType = Literal["stdout", "stderr", "info"]

# Event type -> subscription topic.
EVENT_TOPICS: dict[str, str] = {
    "component_update": "components",
    "feature_update": "features",
    "checkpoint_update": "checkpoints",
    "build_progress": "progress",
    "terminal_output": "terminal",
    "file_change": "files",
    "error": "errors",
}
TOPICS: frozenset[str] = frozenset(EVENT_TOPICS.values())
TOPIC_ALIASES: dict[str, str] = {"tasks": "checkpoints"}


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    session_id: str
    epoch: str
    seq: int
    timestamp: str


class ItemOut(BaseModel):
    id: str
    name: str
    status: Status
    raw_status: str
    progress: float
    metadata: dict[str, Any]


class ProgressOut(BaseModel):
    total: int
    completed: int
    percent: float
    status: Status
    tasks_completed: int
    files_created: int


class StatsOut(BaseModel):
    total: int
    completed: int
    in_progress: int
    pending: int
    failed: int
    completion_percentage: float


class CheckpointOut(BaseModel):
    checkpoint_id: str
    timestamp: str
    phase: str
    status: str
    tasks_completed: list[str]
    files_created: list[str]


class TerminalLineOut(BaseModel):
    output: str
    output_type: OutputType
    source: str
    timestamp: str


class FileOut(BaseModel):
    file_path: str
    file_type: FileTypeName
    change_type: ChangeType
    timestamp: str


class ErrorOut(BaseModel):
    error_message: str
    error_type: str
    file_path: str | None
    timestamp: str


class DocumentOut(BaseModel):
    file_path: str
    title: str
    size: int
    content: str
    truncated: bool


class ArtifactOut(BaseModel):
    file_path: str
    size: int
    modified: str


class ProjectOut(BaseModel):
    name: str
    alias: str | None
    path: str


class Snapshot(BaseModel):
    """The `state` of a `status` message, and the output of `status --json`."""

    project: ProjectOut
    status: Status
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


class ConnectionMessage(_Message):
    type: Literal["connection"]
    status: Literal["connected"]
    client_id: str
    server_version: str
    protocol_version: int


class StatusMessage(_Message):
    type: Literal["status"]
    state: Snapshot


class ComponentUpdate(_Message, ItemOut):
    type: Literal["component_update"]
    component_id: str
    removed: bool


class FeatureUpdate(_Message, ItemOut):
    type: Literal["feature_update"]
    feature_id: str
    removed: bool


class CheckpointUpdate(_Message):
    type: Literal["checkpoint_update"]
    checkpoint_id: str
    phase: str
    status: str
    tasks_completed: list[str]
    files_created: list[str]
    metadata: dict[str, Any]
    removed: bool


class BuildProgress(_Message, ProgressOut):
    type: Literal["build_progress"]


class TerminalOutput(_Message):
    type: Literal["terminal_output"]
    output: str
    output_type: OutputType
    source: str


class FileChange(_Message):
    type: Literal["file_change"]
    file_path: str
    file_type: FileTypeName
    change_type: ChangeType
    content: str | None
    truncated: bool


class ErrorMessage(_Message):
    type: Literal["error"]
    error_message: str
    error_type: str
    file_path: str | None
    traceback: str | None


class Pong(_Message):
    type: Literal["pong"]


class Subscribed(_Message):
    type: Literal["subscribed"]
    topics: list[str]


ServerMessage = Annotated[
    ConnectionMessage
    | StatusMessage
    | ComponentUpdate
    | FeatureUpdate
    | CheckpointUpdate
    | BuildProgress
    | TerminalOutput
    | FileChange
    | ErrorMessage
    | Pong
    | Subscribed,
    Field(discriminator="type"),
]


class PingRequest(BaseModel):
    type: Literal["ping"]


class SubscribeRequest(BaseModel):
    type: Literal["subscribe"]
    topics: list[str]


class StatusRequest(BaseModel):
    type: Literal["request_status"]


class ResumeRequest(BaseModel):
    type: Literal["resume"]
    epoch: str
    last_seq: int


ClientMessage = Annotated[PingRequest | SubscribeRequest | StatusRequest | ResumeRequest, Field(discriminator="type")]

SERVER_MESSAGE = TypeAdapter(ServerMessage)
CLIENT_MESSAGE = TypeAdapter(ClientMessage)
SNAPSHOT = TypeAdapter(Snapshot)


def json_schemas() -> dict[str, Any]:
    """Every protocol message's JSON Schema: what the server sends and what a client may send."""
    return {
        "protocol_version": PROTOCOL_VERSION,
        "server_to_client": SERVER_MESSAGE.json_schema(),
        "client_to_server": CLIENT_MESSAGE.json_schema(),
    }
