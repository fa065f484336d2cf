"""Helpers for watcher tests: write files the way real writers do, and collect the messages."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from buildrunner_gui.model.messages import SERVER_MESSAGE

WAIT_MS = 5000  # how long a test waits for a change to arrive


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def replace_json(path: Path, value: Any) -> None:
    """Write through a temporary file and os.replace, as careful writers (and editors) do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value))
    os.replace(temporary, path)


class Collector:
    """Gathers every message a watcher delivers on the GUI thread, validating each against the protocol."""

    def __init__(self, watcher) -> None:
        self.messages: list[dict[str, Any]] = []
        watcher.batches.connect(self._take)

    def _take(self, batch: list[dict[str, Any]]) -> None:
        for message in batch:
            SERVER_MESSAGE.validate_python(message)
        if self.messages and batch:
            assert batch[0]["seq"] == self.messages[-1]["seq"] + 1, "messages must arrive in seq order"
        self.messages.extend(batch)

    def of_type(self, message_type: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == message_type]

    def files(self, path: str) -> list[str]:
        return [m["change_type"] for m in self.of_type("file_change") if m["file_path"] == path]

    def errors(self, path: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.of_type("error") if path is None or m["file_path"] == path]


def checkpoint_ids(watcher) -> list[str]:
    return [c["checkpoint_id"] for c in watcher.store.snapshot()["checkpoints"]]


def terminal_text(got: Collector, source: str, since: int = 0) -> list[str]:
    """stdout lines from `source` in the messages after the first `since`."""
    lines: list[str] = []
    for message in got.messages[since:]:
        if message["type"] != "terminal_output":
            continue
        if message["source"] == source and message["output_type"] == "stdout":
            lines.extend(message["output"].splitlines())
    return lines
