"""The events that take a client from one snapshot to another (a relay whose upstream reloaded, protocol.md).

Items, checkpoints, figures, the source, documents, artifacts and build runs are diffed; the bounded tails (terminal,
files, errors) get the rows that are new after the longest overlap of the old tail with the new one. A
client applying these events ends with the new state, but for `files` rows the documents' and artifacts'
own changes add.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .messages import RUN_KEYS, Message, Snapshot
from .store import empty_progress

_ITEM_KEYS = ("name", "status", "raw_status", "progress", "metadata")


def events_between(old: Snapshot, new: Snapshot, stamp: str) -> list[Message]:
    out: list[Message] = []

    def event(message_type: str, body: dict[str, Any], timestamp: str = stamp) -> None:
        out.append({"type": message_type, "session_id": "", "epoch": "", "seq": 0, "timestamp": timestamp, **body})

    for kind, key in (("component", "components"), ("feature", "features")):
        before = {item["id"]: item for item in old[key]}  # type: ignore[literal-required]
        after = {item["id"]: item for item in new[key]}  # type: ignore[literal-required]
        for item_id, item in after.items():
            if before.get(item_id) != item:
                event(f"{kind}_update", {f"{kind}_id": item_id, **item, "removed": False})
        for item_id, item in before.items():
            if item_id not in after:
                event(f"{kind}_update", {f"{kind}_id": item_id, **item, "removed": True})

    old_rows = {row["checkpoint_id"]: row for row in old["checkpoints"]}
    new_rows = {row["checkpoint_id"]: row for row in new["checkpoints"]}
    for checkpoint_id, row in new_rows.items():
        if old_rows.get(checkpoint_id) != row:
            event("checkpoint_update", _checkpoint_body(row, removed=False))
    for checkpoint_id, row in old_rows.items():
        if checkpoint_id not in new_rows:
            event("checkpoint_update", _checkpoint_body(row, removed=True))

    for line in _new_rows(old["terminal"], new["terminal"]):
        body = {"output": line["output"], "output_type": line["output_type"], "source": line["source"]}
        event("terminal_output", body, line["timestamp"])
    for row in _new_rows(old["errors"], new["errors"]):
        body = {"error_message": row["error_message"], "error_type": row["error_type"], "file_path": row["file_path"]}
        event("error", {**body, "traceback": None}, row["timestamp"])
    for row in _new_rows(old["files"], new["files"]):
        body = {"file_path": row["file_path"], "file_type": row["file_type"], "change_type": row["change_type"]}
        event("file_change", {**body, "content": None, "truncated": False}, row["timestamp"])

    _documents_and_artifacts(old, new, event)

    old_runs = {run["run_id"]: run for run in old.get("runs") or []}
    for run in new.get("runs") or []:  # oldest first: a client appends the new ones in the same order
        if old_runs.get(run["run_id"]) != run:
            body = {key: run[key] for key in RUN_KEYS}  # type: ignore[literal-required]
            if run.get("cancelled"):
                body["cancelled"] = True
            event("run_update", body)

    figures = {key: new["progress"][key] for key in empty_progress()}  # type: ignore[literal-required]
    if (old["progress"], old["project"], old.get("last_change")) != (
        new["progress"],
        new["project"],
        new.get("last_change"),
    ):
        event("build_progress", {**figures, "project": dict(new["project"]), "last_change": new.get("last_change")})
    return out


def _documents_and_artifacts(old: Snapshot, new: Snapshot, event: Any) -> None:
    before_docs = {doc["file_path"]: doc for doc in old["documents"]}
    after_docs = {doc["file_path"]: doc for doc in new["documents"]}
    for path, doc in after_docs.items():
        if before_docs.get(path) != doc and doc["content"] is not None:
            event(
                "file_change",
                {
                    "file_path": path,
                    "file_type": "spec" if path.endswith("PROJECT_SPEC.md") else "context",
                    "change_type": "modified" if path in before_docs else "created",
                    "content": doc["content"],
                    "truncated": doc["truncated"],
                    "size": doc["size"],
                },
            )
    for path in before_docs.keys() - after_docs.keys():
        event("file_change", _gone(path, "context"))
    before_art = {art["file_path"]: art for art in old["artifacts"]}
    after_art = {art["file_path"]: art for art in new["artifacts"]}
    for path, art in after_art.items():
        if before_art.get(path) != art:
            body = {**_gone(path, "artifact"), "change_type": "modified" if path in before_art else "created"}
            event("file_change", {**body, "size": art["size"], "modified": art["modified"]})
    for path in before_art.keys() - after_art.keys():
        event("file_change", _gone(path, "artifact"))


def _gone(path: str, file_type: str) -> dict[str, Any]:
    return {"file_path": path, "file_type": file_type, "change_type": "deleted", "content": None, "truncated": False}


def _checkpoint_body(row: Any, removed: bool) -> dict[str, Any]:
    return {
        "checkpoint_id": row["checkpoint_id"],
        "phase": row["phase"],
        "status": row["status"],
        "tasks_completed": row["tasks_completed"],
        "files_created": row["files_created"],
        "metadata": {},
        "removed": removed,
        "checkpoint_timestamp": row["timestamp"],
        "error": row.get("error"),
    }


def _new_rows(old: Sequence[Any], new: Sequence[Any]) -> Sequence[Any]:
    """The rows of `new` after the longest suffix of `old` that `new` starts with (bounded tails overlap)."""
    if not old:
        return new
    for start in range(len(old)):
        if not new or old[start] != new[0]:
            continue
        overlap = len(old) - start
        if overlap <= len(new) and list(old[start:]) == list(new[:overlap]):
            return new[overlap:]
    return new
