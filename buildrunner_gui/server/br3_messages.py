"""The br3 dialect's messages (protocol.md, "Dialects") as TypedDicts: the v1 classes with BuildRunner 3's status
words and fields added, so its JSON Schema (in the AsyncAPI document) comes from the same models as v1's, and the
tests validate what `br3_dialect.translate` produces against them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict

from ..model.messages import (
    BuildProgress,
    CheckpointUpdate,
    ComponentUpdate,
    ConnectionMessage,
    ErrorMessage,
    FeatureUpdate,
    FileChange,
    Pong,
    RunUpdate,
    SourceUpdate,
    Subscribed,
    TerminalOutput,
)

ItemWord = Literal["not_started", "in_progress", "completed", "error"]  # br3_dialect.ITEM_WORDS applied
BuildWord = Literal["initializing", "running", "completed", "error"]  # br3_dialect.BUILD_WORDS applied


class Br3Task(TypedDict):
    id: str
    name: str
    completed: bool


class Br3ComponentUpdate(ComponentUpdate):
    status: ItemWord  # type: ignore[misc]
    component_type: str  # the component's own kind (metadata `type`): the message's `type` is taken
    dependencies: list[str]
    files: list[str]
    testsPass: bool | None
    error: str | None


class Br3FeatureUpdate(FeatureUpdate):
    status: ItemWord  # type: ignore[misc]
    description: str
    priority: str
    component: str | None
    dependencies: list[str]
    tasks: list[Br3Task]
    estimatedTime: Any


class Br3BuildProgress(BuildProgress):
    status: BuildWord  # type: ignore[misc]


class Br3TerminalOutput(TerminalOutput):
    content: str  # = output: one message per line


class Br3Error(ErrorMessage):
    message: str  # = error_message


# What a br3 client is sent: no `status` (its catch-up is one update per item and a `build_progress`).
Br3ServerMessage = Annotated[
    ConnectionMessage
    | Br3ComponentUpdate
    | Br3FeatureUpdate
    | CheckpointUpdate
    | Br3BuildProgress
    | SourceUpdate
    | Br3TerminalOutput
    | FileChange
    | Br3Error
    | RunUpdate
    | Pong
    | Subscribed,
    Field(discriminator="type"),
]

BR3_SERVER_MESSAGE: TypeAdapter[Any] = TypeAdapter(Br3ServerMessage)
