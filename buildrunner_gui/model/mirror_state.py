"""A remote session's state, kept from the protocol alone (no Qt, no I/O): a `status` snapshot, then events.

This is what a mirror client needs to show, export or re-load exactly what the server shows."""

from __future__ import annotations

import copy
from typing import Any

from .engine import ERROR_EVENTS, FILE_EVENTS, SNAPSHOT_CHECKPOINTS, TERMINAL_LINES
from .normalize import STATUSES

Message = dict[str, Any]
_ITEM_FIELDS = ("id", "name", "status", "raw_status", "progress", "metadata")


class MirrorState:
    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self.epoch: str | None = None
        self.seq = -1

    def load(self, status: Message) -> None:
        self.state = copy.deepcopy(status["state"])
        self.epoch = status["epoch"]
        self.seq = status["seq"]

    def is_news(self, message: Message) -> bool:
        """An event this state does not contain yet (same epoch, higher seq)."""
        return self.state is not None and message.get("epoch") == self.epoch and message.get("seq", -1) > self.seq

    def apply(self, message: Message) -> bool:
        if not self.is_news(message):
            return False
        self.seq = message["seq"]
        state = self.state
        assert state is not None
        kind = message["type"]
        if kind in ("component_update", "feature_update"):
            key = "components" if kind == "component_update" else "features"
            _upsert_item(state[key], message)
            state[f"{key[:-1]}_stats"] = _stats(state[key])
        elif kind == "checkpoint_update":
            _upsert_checkpoint(state["checkpoints"], message)
        elif kind == "build_progress":
            state["progress"] = {k: message[k] for k in state["progress"]}
            state["status"] = message["status"]
        elif kind == "terminal_output":
            for line in message["output"].splitlines() or [""]:
                state["terminal"].append(
                    {
                        "output": line,
                        "output_type": message["output_type"],
                        "source": message["source"],
                        "timestamp": message["timestamp"],
                    }
                )
            del state["terminal"][:-TERMINAL_LINES]
        elif kind == "file_change":
            _file_change(state, message)
        elif kind == "error":
            state["errors"].append({k: message[k] for k in ("error_message", "error_type", "file_path", "timestamp")})
            del state["errors"][:-ERROR_EVENTS]
        return True


def _upsert_item(items: list[dict[str, Any]], message: Message) -> None:
    item_id = message["component_id"] if message["type"] == "component_update" else message["feature_id"]
    position = next((i for i, item in enumerate(items) if item["id"] == item_id), None)
    if message["removed"]:
        if position is not None:
            del items[position]
        return
    item = {key: message[key] for key in _ITEM_FIELDS if key != "id"}
    item = {"id": item_id, **item}
    if position is None:
        items.append(item)
    else:
        items[position] = item


def _upsert_checkpoint(rows: list[dict[str, Any]], message: Message) -> None:
    position = next((i for i, row in enumerate(rows) if row["checkpoint_id"] == message["checkpoint_id"]), None)
    if message.get("removed"):
        if position is not None:
            del rows[position]
        return
    row = {
        "checkpoint_id": message["checkpoint_id"],
        "phase": message["phase"],
        "status": message["status"],
        "tasks_completed": message["tasks_completed"],
        "files_created": message["files_created"],
    }
    if position is None:
        rows.append({**row, "timestamp": message["timestamp"]})
        del rows[:-SNAPSHOT_CHECKPOINTS]
    else:
        rows[position] = {**rows[position], **row}


def _file_change(state: dict[str, Any], message: Message) -> None:
    path, change = message["file_path"], message["change_type"]
    state["files"].append(
        {"file_path": path, "file_type": message["file_type"], "change_type": change, "timestamp": message["timestamp"]}
    )
    del state["files"][:-FILE_EVENTS]
    if message["file_type"] in ("context", "spec"):
        documents = [d for d in state["documents"] if d["file_path"] != path]
        if change not in ("deleted", "moved") and message["content"] is not None:
            content = message["content"]
            title = next((line.lstrip("#").strip() for line in content.splitlines() if line.startswith("#")), "")
            documents.append(
                {
                    "file_path": path,
                    "title": title or path.rsplit("/", 1)[-1],
                    "size": len(content.encode()),
                    "content": content,
                    "truncated": message["truncated"],
                }
            )
        state["documents"] = sorted(documents, key=lambda d: d["file_path"])
    elif message["file_type"] == "artifact":
        artifacts = [a for a in state["artifacts"] if a["file_path"] != path]
        if change not in ("deleted", "moved") and isinstance(message.get("size"), int):
            artifacts.append({"file_path": path, "size": message["size"], "modified": message["timestamp"]})
        state["artifacts"] = sorted(artifacts, key=lambda a: a["file_path"])


def _stats(items: list[dict[str, Any]]) -> dict[str, Any]:
    counts = dict.fromkeys(STATUSES, 0)
    for item in items:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    mean = round(sum(item["progress"] for item in items) / len(items), 1) if items else 0.0
    return {"total": len(items), **counts, "completion_percentage": mean}
