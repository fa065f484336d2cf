"""Lenient records for what BuildRunner writes (formats.md): checkpoints, the feature registry, documents.

Parsing is sans-I/O: bytes (plus the file's name and mtime) in, a record out, or `ParseError`.
A missing field or one of an unexpected type falls back to its default; only a file whose top level is not
the expected kind of value is rejected ("wrong shape").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import core_schema

from .jsonbytes import MAX_FILE_BYTES, ParseError, decode_utf8, load_json
from .normalize import Status, item_progress, normalize_status, parse_percent, raw_progress, raw_status_text

_ID_KEYS = ("id", "component_id", "feature_id", "name")
_ITEM_OWN_KEYS = frozenset(("id", "component_id", "feature_id", "name", "status", "progress"))
CHECKPOINT_STATUSES = ("created", "active", "rolled_back")
DOCUMENT_CONTENT_LIMIT = 64 * 1024


class Item:
    """A component or a feature, normalised. `raw` keeps the object as written, for overlays.

    A plain slotted record rather than a pydantic model: registries of thousands of items are re-read on
    every change, and every field is built with its final type in `from_raw`, so validation would only
    cost time (the wire shape is `messages.ItemOut`)."""

    __slots__ = ("_component_paths", "_metadata", "id", "name", "progress", "raw", "raw_status", "status")

    def __init__(
        self,
        id: str,
        name: str,
        status: Status,
        raw_status: str,
        progress: float,
        metadata: dict[str, Any] | None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.name = name
        self.status: Status = status
        self.raw_status = raw_status
        self.progress = progress
        self._metadata = metadata  # None: derived from `raw` when first asked for
        self.raw = raw if raw is not None else {}
        self._component_paths: tuple[str, ...] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """Every key of the written object besides id, name, status and progress, plus `raw_progress`: the
        number a completed item carried (its progress is 100 whatever it says)."""
        if self._metadata is None:
            metadata = {k: v for k, v in self.raw.items() if k not in _ITEM_OWN_KEYS}
            carried = raw_progress(self.raw.get("progress"), self.status)
            if carried is not None:
                metadata["raw_progress"] = carried
            self._metadata = metadata
        return self._metadata

    def component_paths(self) -> tuple[str, ...]:
        """The distinct component paths a feature lists (computed once per item)."""
        if self._component_paths is None:
            paths = self.raw.get("components") if self._metadata is None else self._metadata.get("components")
            self._component_paths = (
                tuple(dict.fromkeys(p for p in paths if isinstance(p, str) and p.strip()))
                if isinstance(paths, list)
                else ()
            )
        return self._component_paths

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Item):
            return NotImplemented
        if self.raw and other.raw and self._metadata is None and other._metadata is None:
            # Both read from files: the written object determines every field but a fallback id.
            return self.id == other.id and self.raw == other.raw
        return (self.id, self.name, self.status, self.raw_status, self.progress, self.metadata) == (
            other.id,
            other.name,
            other.status,
            other.raw_status,
            other.progress,
            other.metadata,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable contents

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: Any) -> core_schema.CoreSchema:
        """Inside pydantic records: accepted as is, serialised as the protocol's item."""
        return core_schema.is_instance_schema(
            cls, serialization=core_schema.plain_serializer_function_ser_schema(lambda item: item.public())
        )

    def __repr__(self) -> str:
        return f"Item(id={self.id!r}, status={self.status!r}, progress={self.progress!r})"

    @classmethod
    def from_raw(cls, raw: dict[str, Any], fallback_id: str) -> Item:
        item_id = fallback_id
        for key in _ID_KEYS:
            value = raw.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                item_id = str(value)
                break
        name = raw.get("name")
        raw_status = raw_status_text(raw.get("status"))
        status = normalize_status(raw_status)
        return cls(
            item_id,
            name if isinstance(name, str) and name else item_id,
            status,
            raw_status,
            item_progress(raw.get("progress"), status),
            None,
            raw,
        )

    def overlaid(self, other: Item) -> Item:
        """This item with the keys `other` wrote on top (a checkpoint's entry over the registry's)."""
        return Item.from_raw({**self.raw, **other.raw}, fallback_id=self.id)

    def public(self) -> dict[str, Any]:
        """The item as the protocol sends it."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "raw_status": self.raw_status,
            "progress": self.progress,
            "metadata": self.metadata,
        }


def parse_items(value: Any, prefix: str, previous: Sequence[Item] = ()) -> list[Item]:
    """A list of item objects, or an object mapping id -> item object. Duplicate ids: the last one wins,
    in the place of the first. An entry written exactly as the one at the same place in `previous` (the last
    parse of the same file) is that item again: a large registry re-read after a small change rebuilds
    only the items that changed."""
    entries: list[tuple[str, Any]]
    if isinstance(value, list):
        entries = [(f"{prefix}-{index + 1}", entry) for index, entry in enumerate(value)]
    elif isinstance(value, dict):
        entries = [(str(key), _mapping_entry(str(key), entry)) for key, entry in value.items()]
    else:
        return []
    items: dict[str, Item] = {}
    reusable = len(previous)
    for position, (fallback_id, entry) in enumerate(entries):
        if isinstance(entry, str) and entry.strip():
            entry = {"id": entry}
        if not isinstance(entry, dict):
            continue
        old = previous[position] if position < reusable else None
        item = old if old is not None and old.raw == entry else Item.from_raw(entry, fallback_id)
        items[item.id] = item
    return list(items.values())


def _mapping_entry(key: str, entry: Any) -> Any:
    """An entry of an id -> item mapping: the key is the item's id (unless the object names its own `id`; its
    `name` is only a name), and a bare string is read as the status (`{"auth": "done"}`)."""
    if isinstance(entry, dict):
        return {"id": key, **entry}
    if isinstance(entry, str):
        return {"id": key, "status": entry}
    return entry


def _text(value: Any, default: str = "") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return default


def _text_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list):
        return []
    return [entry if isinstance(entry, str) else json.dumps(entry, sort_keys=True) for entry in value]


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 (naive = local time) or epoch seconds, as an aware UTC datetime."""
    try:
        if isinstance(value, str) and value.strip():
            parsed = datetime.fromisoformat(value.strip())
        elif isinstance(value, int | float) and not isinstance(value, bool):
            parsed = datetime.fromtimestamp(float(value), UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    try:
        if parsed.tzinfo is None:
            parsed = parsed.astimezone()  # naive means the writer's local time
        return parsed.astimezone(UTC)  # overflows for e.g. year 1 with a positive offset
    except (ValueError, OverflowError, OSError):
        return None


def _error_text(value: Any) -> str | None:
    if value is None or value is False or value == "" or value == {} or value == []:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("message", "error_message", "error", "reason"):
            if isinstance(value.get(key), str) and value[key]:
                return value[key]
    return json.dumps(value, sort_keys=True)


class Checkpoint(BaseModel):
    """One `checkpoints/*.json` file."""

    model_config = ConfigDict(frozen=True)

    file_name: str
    id: str
    timestamp: datetime
    phase: str = ""
    tasks_completed: list[str] = Field(default_factory=list)
    files_created: list[str] = Field(default_factory=list)
    status: str = "created"
    metadata: dict[str, Any] = Field(default_factory=dict)
    components: list[Item] | None = None
    features: list[Item] | None = None
    completion: float | None = None
    error: str | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any], file_name: str, mtime: datetime) -> Checkpoint:
        """Every field read leniently: missing or mistyped fields take their defaults."""
        stem = file_name.rsplit(".", 1)[0]
        completion = None
        for key in ("completion", "completion_percentage", "progress"):
            completion = parse_percent(raw.get(key))
            if completion is not None:
                break
        status = _text(raw.get("status")).strip() or "created"
        return cls.model_validate(
            {
                "file_name": file_name,
                "id": _text(raw.get("id")).strip() or stem,
                "timestamp": parse_timestamp(raw.get("timestamp")) or mtime,
                "phase": _text(raw.get("phase")),
                "tasks_completed": _text_list(raw.get("tasks_completed")),
                "files_created": _text_list(raw.get("files_created")),
                "status": status.lower() if status.lower() in CHECKPOINT_STATUSES else status,
                "metadata": raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {},
                "components": parse_items(raw["components"], "component") if "components" in raw else None,
                "features": parse_items(raw["features"], "feature") if "features" in raw else None,
                "completion": completion,
                "error": _error_text(raw.get("error")),
            }
        )

    @property
    def rolled_back(self) -> bool:
        return self.status == "rolled_back"

    @property
    def order_key(self) -> tuple[datetime, str]:
        return (self.timestamp, self.file_name)


def parse_checkpoint(data: bytes, file_name: str, mtime: float) -> Checkpoint:
    raw = load_json(data)
    if not isinstance(raw, dict):
        raise ParseError("wrong_shape", f"a checkpoint must be a JSON object, not {_json_kind(raw)}")
    return Checkpoint.from_json(raw, file_name, datetime.fromtimestamp(mtime, UTC))


class FeatureRegistry(BaseModel):
    """`features.json`: the registry's own fields plus every feature, `*_features` lists merged in."""

    model_config = ConfigDict(frozen=True)

    project: str = ""
    version: str = ""
    status: str = ""
    last_updated: str = ""
    description: str = ""
    features: list[Item] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any] | list[Any], previous: FeatureRegistry | None = None) -> FeatureRegistry:
        before = previous.features if previous is not None else ()
        if isinstance(data, list):
            return cls.model_construct(features=parse_items(data, "feature", before))
        merged: list[Any] = []
        lists = [data.get("features")] + [
            value for key, value in data.items() if key != "features" and key.endswith("_features")
        ]
        for value in lists:
            if isinstance(value, list):
                merged.extend(value)
            elif isinstance(value, dict):
                merged.extend(_mapping_entry(key, entry) for key, entry in value.items())
        # Every field is normalised above, so construct without re-validating thousands of items.
        metrics = data.get("metrics")
        return cls.model_construct(
            project=_text(data.get("project")),
            version=_text(data.get("version")),
            status=_text(data.get("status")),
            last_updated=_text(data.get("last_updated")),
            description=_text(data.get("description")),
            features=parse_items(merged, "feature", before),
            metrics=metrics if isinstance(metrics, dict) else {},
        )


def parse_registry(data: bytes, previous: FeatureRegistry | None = None) -> FeatureRegistry:
    """`previous`: the last good parse of the same file, whose unchanged items are reused."""
    raw = load_json(data)
    if not isinstance(raw, dict | list):
        raise ParseError("wrong_shape", f"the feature registry must be a JSON object or list, not {_json_kind(raw)}")
    return FeatureRegistry.from_json(raw, previous)


class Document(BaseModel):
    """A context or spec document: shown as markdown."""

    model_config = ConfigDict(frozen=True)

    file_path: str
    title: str
    size: int
    content: str
    truncated: bool


def parse_document(data: bytes, file_path: str) -> Document:
    if len(data) > MAX_FILE_BYTES:  # formats.md: larger than 16 MiB is bad input, documents included
        raise ParseError("too_large", f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    text = decode_utf8(data)
    clipped = data[:DOCUMENT_CONTENT_LIMIT].decode("utf-8-sig", errors="ignore")
    return Document(
        file_path=file_path,
        title=document_title(text, file_path),
        size=len(data),
        content=clipped if len(data) > DOCUMENT_CONTENT_LIMIT else text,
        truncated=len(data) > DOCUMENT_CONTENT_LIMIT,
    )


def document_title(text: str, file_path: str) -> str:
    """A document's first markdown heading (indented or not), else its file name."""
    for line in text[:8192].splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            title = stripped.lstrip("#").strip()
            if title:
                return title[:200]
    return file_path.rsplit("/", 1)[-1]


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )
