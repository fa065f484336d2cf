"""Property tests: whatever bytes a build writes, parsing fails only with ParseError and the engine never breaks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.formats import parse_checkpoint, parse_document, parse_registry
from buildrunner_gui.model.inputs import FileFailed, FileRead, FileRemoved, LogAppended
from buildrunner_gui.model.jsonbytes import ParseError
from buildrunner_gui.model.messages import SERVER_MESSAGE, SNAPSHOT

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENGINE_RUNS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHECKPOINT_KEYS = [
    "id",
    "timestamp",
    "phase",
    "tasks_completed",
    "files_created",
    "status",
    "metadata",
    "components",
    "features",
    "completion",
    "completion_percentage",
    "progress",
    "error",
]
ITEM_KEYS = ["id", "component_id", "feature_id", "name", "status", "progress", "components", "owner"]
STATUS_WORDS = [
    "complete",
    "done",
    "In Progress",
    "in-progress",
    "failed",
    "crashed",
    "planned",
    "rolled_back",
    "active",
    "created",
    "",
    "???",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(STATUS_WORDS)
    | st.sampled_from([10**400, -(10**400), 1e308])
    | st.sampled_from(
        ["45%", "100%", "-3%", "nan", "2025-11-17T22:40:22", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)
offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
timestamps = st.one_of(
    st.datetimes().map(datetime.isoformat),  # naive: local time
    st.datetimes(timezones=offsets).map(datetime.isoformat),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59.999999",
            "2025-11-17T22:40:22Z",
            "2025-11-17",
            "17/11/2025",
        ]
    ),
    st.integers(min_value=-(10**12), max_value=10**12),
    json_values,
)
items = st.dictionaries(st.sampled_from(ITEM_KEYS), json_values, max_size=6)
item_collections = (
    st.lists(items | json_values, max_size=5)
    | st.dictionaries(st.text(max_size=8), items | json_values, max_size=5)
    | json_values
)
checkpoint_objects = st.dictionaries(
    st.sampled_from(CHECKPOINT_KEYS) | st.text(max_size=8),
    json_values,
    max_size=8,
).flatmap(
    lambda base: st.fixed_dictionaries(
        {},
        optional={
            "components": item_collections,
            "features": item_collections,
            "status": st.sampled_from(["created", "active", "rolled_back"]),
            "phase": st.sampled_from(["build_1", "plan", ""]),
            "timestamp": timestamps,
            "tasks_completed": st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=3),
        },
    ).map(lambda extra: {**base, **extra})
)
registry_objects = (
    st.fixed_dictionaries(
        {},
        optional={
            "project": json_values,
            "features": item_collections,
            "in_progress_features": item_collections,
            "metrics": json_values,
            "status": json_values,
        },
    )
    | st.lists(items | json_values, max_size=6)
    | json_values
)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def parse(kind: str, data: bytes, name: str = "c.json"):
    """The real parse function for a kind; ParseError is the only exception allowed out."""
    if kind == "checkpoint":
        return parse_checkpoint(data, name, 1_700_000_000.0)
    if kind == "features":
        return parse_registry(data)
    return parse_document(data, ".buildrunner/context/doc.md")


def check_parse(kind: str, data: bytes) -> None:
    try:
        record = parse(kind, data)
    except ParseError as exc:
        assert exc.error_type and exc.message
        return
    record.model_dump_json()


@FAST
@given(json_values)
def test_arbitrary_json_as_checkpoint(value):
    check_parse("checkpoint", dumps(value))


@FAST
@given(json_values)
def test_arbitrary_json_as_registry(value):
    check_parse("features", dumps(value))


@FAST
@given(checkpoint_objects)
def test_checkpoint_shaped_json_always_parses(value):
    cp = parse_checkpoint(dumps(value), "c.json", 1_700_000_000.0)
    assert cp.id
    assert cp.timestamp.tzinfo is not None
    for collection in (cp.components or [], cp.features or []):
        for entry in collection:
            assert 0.0 <= entry.progress <= 100.0
    assert cp.completion is None or 0.0 <= cp.completion <= 100.0


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data):
    for kind in ("checkpoint", "features", "context"):
        check_parse(kind, data)


@FAST
@given(json_values, st.integers(min_value=0, max_value=200), st.binary(max_size=8))
def test_truncated_or_corrupted_json(value, cut, junk):
    data = dumps(value)
    for candidate in (data[:cut], data[:cut] + junk, junk + data):
        for kind in ("checkpoint", "features"):
            check_parse(kind, candidate)


# ---------------------------------------------------------------- through the engine

PATHS = {
    "checkpoint": [f".buildrunner/checkpoints/cp{n}.json" for n in range(3)],
    "features": [".buildrunner/features.json"],
    "context": [".buildrunner/context/a.md", ".buildrunner/context/deep/b.txt"],
}


@st.composite
def operations(draw):
    kind = draw(st.sampled_from(["checkpoint", "features", "context", "remove", "log"]))
    if kind == "remove":
        file_type = draw(st.sampled_from(["checkpoint", "features", "context"]))
        return ("remove", file_type, draw(st.sampled_from(PATHS[file_type])), b"")
    if kind == "log":
        return ("log", "log", ".buildrunner/logs/a.log", draw(st.text(max_size=40)).encode())
    path = draw(st.sampled_from(PATHS[kind]))
    if kind == "checkpoint":
        data = draw(st.one_of(checkpoint_objects.map(dumps), json_values.map(dumps), st.binary(max_size=60)))
    elif kind == "features":
        data = draw(st.one_of(registry_objects.map(dumps), st.binary(max_size=60)))
    else:
        data = draw(st.one_of(st.text(max_size=80).map(str.encode), st.binary(max_size=60)))
    return (kind, kind, path, data)


def to_input(operation, files: dict[str, Any]):
    """What a source would hand the engine; `files` tracks the last good record per path."""
    kind, file_type, path, data = operation
    if kind == "remove":
        files.pop(path, None)
        return FileRemoved(path, file_type)
    if kind == "log":
        return LogAppended(path, data.decode())
    try:
        record = parse(kind, data, path.rsplit("/", 1)[-1])
    except ParseError as exc:
        return FileFailed(path, file_type, "modified", exc.error_type, exc.message)
    change = "modified" if path in files else "created"
    files[path] = record
    return FileRead(path, file_type, change, record, len(data), 1_700_000_000.0)


DERIVED = (
    "status",
    "progress",
    "component_stats",
    "feature_stats",
    "components",
    "features",
    "checkpoints",
    "project",
    "documents",
)


@ENGINE_RUNS
@given(st.lists(st.lists(operations(), min_size=1, max_size=4), min_size=1, max_size=6))
def test_engine_never_breaks_and_converges(batches):
    engine = SessionEngine("fuzz", "fuzz-project")
    files: dict[str, Any] = {}
    emitted = []
    for batch in batches:
        before = engine.seq
        out = engine.apply([to_input(operation, files) for operation in batch])
        for message in out:
            SERVER_MESSAGE.validate_python(message)
            json.dumps(message)
        assert [m["seq"] for m in out] == list(range(before + 1, engine.seq + 1))
        emitted.extend(out)
    snapshot = engine.snapshot()
    SNAPSHOT.validate_python(snapshot)
    json.dumps(snapshot)
    SERVER_MESSAGE.validate_python(engine.status_message())
    assert [m["seq"] for m in emitted] == list(range(1, engine.seq + 1))  # every event numbered, none skipped

    # The state converges: a fresh engine that reads only the final good files shows the same thing.
    fresh = SessionEngine("fuzz", "fuzz-project")
    fresh.apply(
        [
            FileRead(
                path,
                "checkpoint"
                if "/checkpoints/" in path
                else "features"
                if path.endswith("features.json")
                else "context",
                "created",
                record,
                0,
                1_700_000_000.0,
                announce=False,
            )
            for path, record in files.items()
        ]
    )
    fresh_snapshot = fresh.snapshot()
    for key in DERIVED:
        if key in ("features", "components"):
            # Order may differ (first seen stays first); content may not.
            # (Metadata keys may be in another order too: equal dicts are the same state.)
            def canonical(items):
                return sorted(json.dumps(item, sort_keys=True) for item in items)

            assert canonical(snapshot[key]) == canonical(fresh_snapshot[key]), key
        else:
            assert snapshot[key] == fresh_snapshot[key], key


@ENGINE_RUNS
@given(st.lists(item_collections, min_size=1, max_size=3), registry_objects)
def test_engine_messages_follow_item_changes(feature_versions, registry):
    """Every shown feature is announced by a feature_update with its final content; removed ones with removed."""
    engine = SessionEngine("fuzz", "p")
    state: dict[str, dict[str, Any]] = {}
    try:
        reg = parse_registry(dumps(registry))
    except ParseError:
        reg = None
    inputs = [FileRead(".buildrunner/features.json", "features", "created", reg, 1, 0.0)] if reg else []
    out = engine.apply(inputs)
    for version in feature_versions:
        cp = parse_checkpoint(
            dumps({"id": "c", "timestamp": "2025-01-01T00:00:00Z", "features": version}), "c.json", 0.0
        )
        out += engine.apply([FileRead(".buildrunner/checkpoints/c.json", "checkpoint", "modified", cp, 1, 0.0)])
    for message in out:
        SERVER_MESSAGE.validate_python(message)
        if message["type"] == "feature_update":
            if message["removed"]:
                state.pop(message["feature_id"], None)
            else:
                state[message["feature_id"]] = {
                    k: message[k] for k in ("id", "name", "status", "raw_status", "progress", "metadata")
                }
    shown = {f["id"]: f for f in engine.snapshot()["features"]}
    assert state == shown
