"""The br3 dialect (protocol.md, "Dialects"): v1 messages as BuildRunner 3's own web client reads them.

A pure translation, message in, messages out, applied per dialect after the shared v1 encoding, never a second
engine. BuildRunner's client reads its own field names and status words, calls `.length`, `.filter` and
`.forEach` on lists (so lists are always lists, strings always strings), ignores `status` messages and never
resumes: it catches up on connect from one update per item and one `build_progress` (`catch_up`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.clock import parse_iso
from ..model.messages import Message

DIALECTS = ("v1", "br3")
V1_SUBPROTOCOL = "buildrunner.v1"

ITEM_WORDS = {"pending": "not_started", "failed": "error"}  # in_progress and completed are kept
BUILD_WORDS = {"pending": "initializing", "in_progress": "running", "failed": "error"}  # completed is kept


def item_status(status: str) -> str:
    return ITEM_WORDS.get(status, status)


def build_status(status: str) -> str:
    return BUILD_WORDS.get(status, status)


def translate(message: Message) -> list[Message]:
    """The br3 messages for one v1 message (none for `status`, which BuildRunner's client ignores)."""
    kind = message.get("type")
    if kind == "status":
        return []
    if kind == "component_update":
        # A message has one `type`: the component's own kind travels as `component_type` here (BuildRunner's
        # client dispatches on the message's type and reads only status, progress, files and error from it).
        fields = component_fields(message)
        fields["component_type"] = fields.pop("type")
        return [{**message, **fields, "status": item_status(message["status"])}]
    if kind == "feature_update":
        return [{**message, **feature_fields(message), "status": item_status(message["status"])}]
    if kind == "build_progress":
        return [{**message, "status": build_status(message["status"])}]
    if kind == "terminal_output":
        lines = str(message.get("output") or "").splitlines() or [""]
        return [{**message, "output": line, "content": line} for line in lines]
    if kind == "error":
        return [{**message, "message": str(message.get("error_message") or "")}]
    return [message]


def catch_up(snapshot: Mapping[str, Any], common: Message) -> list[Message]:
    """What a br3 client gets on connect instead of a `status`: one update per component and per feature, then
    one `build_progress` (it only updates items it already has, so this is how it catches up after any gap).
    `common` holds the fields every message carries (type excluded)."""
    out: list[Message] = []
    for kind, key in (("component", "components"), ("feature", "features")):
        for item in snapshot[key]:
            v1 = {**common, "type": f"{kind}_update", f"{kind}_id": item["id"], **item, "removed": False}
            out.extend(translate(v1))
    out.extend(translate({**common, "type": "build_progress", **snapshot["progress"]}))
    return out


def status_body(snapshot: Mapping[str, Any], session_id: str) -> dict[str, Any]:
    """`GET /api/build/status/{id}` for a br3 client: the snapshot in its words, plus the fields it reads."""
    components = [_item(component_fields(item), item) for item in snapshot["components"]]
    features = [_item(feature_fields(item), item) for item in snapshot["features"]]
    project = snapshot.get("project") or {}
    checkpoints = snapshot.get("checkpoints") or []
    start = checkpoints[0]["timestamp"] if checkpoints else snapshot.get("last_change")
    current = (_first_in_progress(snapshot["components"]), _first_in_progress(snapshot["features"]))
    moment = parse_iso(start)
    # Beyond protocol.md, the names BuildRunner's page itself reads (its header and its timer, in ms).
    camel = {
        "projectName": str(project.get("name") or ""),
        "projectAlias": str(project.get("alias") or ""),
        "projectPath": str(project.get("path") or ""),
        "startTime": round(moment.timestamp() * 1000) if moment is not None else None,
        "currentComponent": current[0],
        "currentFeature": current[1],
    }
    return {
        **snapshot,
        **camel,
        "status": build_status(snapshot["status"]),
        "progress": {**snapshot["progress"], "status": build_status(snapshot["progress"]["status"])},
        "components": components,
        "features": features,
        "id": session_id,
        "project_name": str(project.get("name") or ""),
        "project_alias": str(project.get("alias") or ""),
        "project_path": str(project.get("path") or ""),
        "start_time": start,
        "current_component": current[0],
        "current_feature": current[1],
    }


def component_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    meta = _metadata(item)
    item_id = str(item.get("id") or item.get("component_id") or "")
    files = _strings(meta.get("files"))
    if not files and ("/" in item_id or "." in item_id):  # a component named by its path is its one file
        files = [item_id]
    return {
        "type": str(meta.get("type") or "component"),
        "dependencies": _strings(meta.get("dependencies")),
        "files": files,
        "testsPass": _tests_pass(meta),
        "error": _text_or_none(meta.get("error")),
    }


def feature_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    meta = _metadata(item)
    components = _strings(meta.get("components"))
    return {
        "description": str(meta.get("description") or ""),
        "priority": str(meta.get("priority") or ""),
        "component": components[0] if components else None,
        "dependencies": _strings(meta.get("dependencies")),
        "tasks": _tasks(meta.get("tasks")),
        "estimatedTime": meta.get("estimatedTime", meta.get("estimated_time")),
    }


def _item(extra: dict[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    return {**item, **extra, "status": item_status(str(item["status"]))}


def _metadata(item: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = item.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(entry) for entry in value if entry is not None]
    return []


def _text_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _tests_pass(meta: Mapping[str, Any]) -> bool | None:
    for key in ("testsPass", "tests_pass"):
        if isinstance(meta.get(key), bool):
            return bool(meta[key])
    tests = meta.get("tests")
    if isinstance(tests, Mapping) and isinstance(tests.get("passing"), bool):
        return bool(tests["passing"])
    return None


def _tasks(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    tasks = []
    for index, task in enumerate(value):
        if isinstance(task, Mapping):
            name = str(task.get("name") or task.get("title") or task.get("id") or f"task {index + 1}")
            done = task.get("completed", task.get("done", str(task.get("status", "")).lower() in ("completed", "done")))
            tasks.append({"id": str(task.get("id") or index + 1), "name": name, "completed": bool(done)})
        elif isinstance(task, str):
            tasks.append({"id": str(index + 1), "name": task, "completed": False})
    return tasks


def _first_in_progress(items: list[Mapping[str, Any]]) -> str | None:
    return next((str(item["id"]) for item in items if item.get("status") == "in_progress"), None)
