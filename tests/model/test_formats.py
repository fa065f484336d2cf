"""formats.md: lenient checkpoint / registry / document parsing, and the bad input it must reject cleanly."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from buildrunner_gui.model.formats import (
    DOCUMENT_CONTENT_LIMIT,
    Checkpoint,
    FeatureRegistry,
    parse_checkpoint,
    parse_document,
    parse_registry,
)
from buildrunner_gui.model.jsonbytes import ParseError, load_json

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("BUILDRUNNER_FIXTURES", REPO.parent / "shared" / "fixtures"))
SAMPLE = FIXTURES / "br3-sample" / ".buildrunner"
DEPTH = 100  # formats.md: deeper than this is rejected
SIXTEEN_MIB = 16 * 1024 * 1024
MTIME = 1_763_419_222.5  # 2025-11-17T22:40:22.5Z
MTIME_DT = datetime.fromtimestamp(MTIME, UTC)


def checkpoint(obj, name: str = "cp_one.json", mtime: float = MTIME) -> Checkpoint:
    return parse_checkpoint(json.dumps(obj).encode(), name, mtime)


def registry(obj) -> FeatureRegistry:
    return parse_registry(json.dumps(obj).encode())


# ---------------------------------------------------------------- checkpoints


def test_empty_checkpoint_takes_every_default():
    cp = checkpoint({}, name="checkpoint_20251117_224022_364548.json")
    assert cp.id == "checkpoint_20251117_224022_364548"
    assert cp.timestamp == MTIME_DT
    assert cp.timestamp.tzinfo is not None
    assert cp.phase == ""
    assert cp.tasks_completed == []
    assert cp.files_created == []
    assert cp.status == "created"
    assert cp.metadata == {}
    assert cp.components is None
    assert cp.features is None
    assert cp.completion is None
    assert cp.error is None
    assert not cp.rolled_back


def test_stem_keeps_inner_dots():
    assert checkpoint({}, name="v1.2.checkpoint.json").id == "v1.2.checkpoint"


@pytest.mark.skipif(not SAMPLE.exists(), reason="fixtures not available")
@pytest.mark.parametrize("path", sorted((SAMPLE / "checkpoints").glob("*.json")), ids=lambda p: p.name)
def test_real_checkpoints(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    cp = parse_checkpoint(path.read_bytes(), path.name, 0.0)
    assert cp.id == raw["id"] == path.stem
    assert cp.phase == raw["phase"]
    assert cp.status == raw["status"]
    assert cp.metadata == raw["metadata"]
    assert cp.tasks_completed == raw["tasks_completed"]
    expected = datetime.fromisoformat(raw["timestamp"]).astimezone().astimezone(UTC)
    assert cp.timestamp == expected
    assert cp.timestamp != datetime.fromtimestamp(0.0, UTC)  # the file's own timestamp, not the mtime


def test_extra_fields_are_tolerated():
    cp = checkpoint({"id": "c1", "phase": "p", "surprise": {"deep": [1, 2]}, "version": 7, "tasks": None})
    assert (cp.id, cp.phase, cp.status) == ("c1", "p", "created")


def test_naive_timestamp_is_local_time(local_tz_plus3):
    cp = checkpoint({"timestamp": "2025-11-17T22:40:22.364557"})
    assert cp.timestamp == datetime(2025, 11, 17, 19, 40, 22, 364557, tzinfo=UTC)


def test_aware_timestamps_are_converted_to_utc(local_tz_plus3):
    assert checkpoint({"timestamp": "2025-11-17T22:40:22+02:00"}).timestamp == datetime(
        2025, 11, 17, 20, 40, 22, tzinfo=UTC
    )
    assert checkpoint({"timestamp": "2025-11-17T22:40:22Z"}).timestamp == datetime(2025, 11, 17, 22, 40, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2025-13-45T99:00:00",
        None,
        True,
        [],
        {"t": 1},
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        10**30,
    ],
)
def test_unreadable_timestamp_falls_back_to_mtime(value):
    assert checkpoint({"timestamp": value}).timestamp == MTIME_DT


def test_epoch_seconds_timestamp():
    assert checkpoint({"timestamp": 1_700_000_000}).timestamp == datetime.fromtimestamp(1_700_000_000, UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("created", "created"),
        ("active", "active"),
        ("rolled_back", "rolled_back"),
        ("Rolled_Back", "rolled_back"),
        ("ACTIVE", "active"),
        ("archived", "archived"),
        ("", "created"),
        (None, "created"),
        (5, "5"),
        ([], "created"),
    ],
)
def test_checkpoint_status(value, expected):
    cp = checkpoint({"status": value})
    assert cp.status == expected
    assert cp.rolled_back == (expected == "rolled_back")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], ["a", "b"]),
        ("one", ["one"]),
        (None, []),
        (3, []),
        ({"a": 1}, []),
        ([1, {"x": 2}], ["1", '{"x": 2}']),
    ],
)
def test_lists_of_strings(value, expected):
    cp = checkpoint({"tasks_completed": value, "files_created": value})
    assert cp.tasks_completed == expected
    assert cp.files_created == expected


@pytest.mark.parametrize("value", [None, [], "meta", 3])
def test_metadata_not_an_object_is_empty(value):
    assert checkpoint({"metadata": value}).metadata == {}


@pytest.mark.parametrize("key", ["id", "component_id", "feature_id", "name"])
def test_item_id_keys(key):
    cp = checkpoint({"components": [{key: "auth", "status": "done"}], "features": [{key: "f-1"}]})
    assert [c.id for c in cp.components] == ["auth"]
    assert [f.id for f in cp.features] == ["f-1"]
    assert cp.components[0].status == "completed"


def test_item_id_key_precedence():
    cp = checkpoint(
        {
            "components": [
                {"name": "Nice", "feature_id": "f", "component_id": "c", "id": "i"},
                {"name": "Nice", "feature_id": "f", "component_id": "c"},
                {"name": "Nice", "feature_id": "f"},
            ]
        }
    )
    assert [c.id for c in cp.components] == ["i", "c", "f"]
    assert all(c.name == "Nice" for c in cp.components)


def test_components_and_features_as_list():
    cp = checkpoint(
        {
            "components": [
                {"id": "api", "status": "in_progress", "progress": "45%", "owner": "bob"},
                {"status": "done"},
                "cli",
                7,
                None,
            ],
            "features": [{"id": "f1", "name": "Feature one", "status": "failed"}],
        }
    )
    api, second, cli = cp.components
    assert (api.id, api.name, api.status, api.raw_status, api.progress) == (
        "api",
        "api",
        "in_progress",
        "in_progress",
        45.0,
    )
    assert api.metadata == {"owner": "bob"}
    assert (second.id, second.status, second.progress) == ("component-2", "completed", 100.0)
    assert (cli.id, cli.status) == ("cli", "pending")
    (f1,) = cp.features
    assert (f1.id, f1.name, f1.status, f1.progress) == ("f1", "Feature one", "failed", 0.0)


def test_components_and_features_as_mapping():
    cp = checkpoint(
        {
            "components": {
                "api": {"status": "done"},
                "db": {"status": "running", "progress": 50},
                "cli": "Done",
                "skipped": 7,
                "also": None,
            },
            "features": {"f1": {"name": "One"}, "f2": {"id": "f-two", "status": "wip"}, "f3": {"feature_id": "other"}},
        }
    )
    # The key is the id; a bare string is the status; values that are neither are skipped.
    assert [(c.id, c.status, c.raw_status, c.progress) for c in cp.components] == [
        ("api", "completed", "done", 100.0),
        ("db", "in_progress", "running", 50.0),
        ("cli", "completed", "Done", 100.0),
    ]
    # `name` is a name, not the id, when the mapping gives the id; an explicit `id` in the object wins.
    assert [(f.id, f.name, f.status) for f in cp.features] == [
        ("f1", "One", "pending"),
        ("f-two", "f-two", "in_progress"),
        ("f3", "f3", "pending"),
    ]


@pytest.mark.parametrize("value", [None, "components", 3, True])
def test_components_of_wrong_type_are_empty(value):
    assert checkpoint({"components": value}).components == []


def test_duplicate_item_ids_last_wins():
    cp = checkpoint({"components": [{"id": "a", "status": "pending"}, {"id": "b"}, {"id": "a", "status": "done"}]})
    assert [(c.id, c.status) for c in cp.components] == [("a", "completed"), ("b", "pending")]


@pytest.mark.parametrize("key", ["completion", "completion_percentage", "progress"])
@pytest.mark.parametrize(("value", "expected"), [(45, 45.0), ("45%", 45.0), (12.5, 12.5), (140, 100.0), ("-1%", 0.0)])
def test_completion_keys(key, value, expected):
    assert checkpoint({key: value}).completion == expected


@pytest.mark.parametrize("value", ["soon", True, None, [50], {"p": 1}])
def test_unreadable_completion_is_absent(value):
    assert checkpoint({"completion": value}).completion is None


def test_completion_key_precedence():
    assert checkpoint({"progress": 10, "completion_percentage": 20, "completion": 30}).completion == 30.0
    assert checkpoint({"progress": 10, "completion_percentage": 20}).completion == 20.0
    assert checkpoint({"progress": 10, "completion": "n/a"}).completion == 10.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("disk full", "disk full"),
        ({"message": "boom", "code": 3}, "boom"),
        ({"error_message": "bad"}, "bad"),
        ({"reason": "why"}, "why"),
        ({"code": 3}, '{"code": 3}'),
        (None, None),
        ("", None),
        ({}, None),
        (False, None),
    ],
)
def test_error_as_string_or_object(value, expected):
    assert checkpoint({"error": value}).error == expected


def test_checkpoint_nan_reads_as_null():
    cp = parse_checkpoint(
        b'{"id": "n", "completion": NaN, "progress": Infinity, "components": [{"progress": NaN}]}', "n.json", MTIME
    )
    assert cp.completion is None  # NaN and Infinity are not JSON: read as null
    assert cp.components[0].progress == 0.0


# ---------------------------------------------------------------- feature registry


@pytest.mark.skipif(not SAMPLE.exists(), reason="fixtures not available")
def test_real_registry():
    raw = json.loads((SAMPLE / "features.json").read_text(encoding="utf-8"))
    reg = parse_registry((SAMPLE / "features.json").read_bytes())
    assert reg.project == raw["project"]
    assert reg.version == raw["version"]
    assert [f.id for f in reg.features] == [f["id"] for f in raw["features"]]
    # Every feature is "complete", so its progress is 100; the number it carried (95 for three) stays aside.
    assert [f.progress for f in reg.features] == [100.0] * len(raw["features"])
    assert [f.metadata["raw_progress"] for f in reg.features] == [f["progress"] for f in raw["features"]]
    assert all(f.status == "completed" and f.raw_status == "complete" for f in reg.features)
    assert reg.features[0].metadata["components"] == raw["features"][0]["components"]
    assert reg.metrics == raw["metrics"]


def test_merged_star_features_lists():
    reg = registry(
        {
            "project": "P",
            "features": [{"id": "a", "status": "done"}],
            "in_progress_features": [{"id": "b", "status": "wip"}],
            "completed_features": {"c": {"status": "complete", "name": "Cee"}, "d": "wip", "e": 5},
            "features_count": [{"id": "not-merged"}],
            "planned_features": "not a list",
        }
    )
    assert [(f.id, f.status) for f in reg.features] == [
        ("a", "completed"),
        ("b", "in_progress"),
        ("c", "completed"),
        ("d", "in_progress"),
    ]
    assert reg.features[2].name == "Cee"


def test_merged_lists_do_not_duplicate_ids():
    reg = registry(
        {"features": [{"id": "a", "status": "planned"}], "in_progress_features": [{"id": "a", "status": "wip"}]}
    )
    assert [(f.id, f.status) for f in reg.features] == [("a", "in_progress")]


def test_bare_list_registry():
    reg = registry([{"id": "a", "status": "done"}, {"name": "B"}, "c"])
    assert [(f.id, f.status) for f in reg.features] == [("a", "completed"), ("B", "pending"), ("c", "pending")]
    assert reg.project == ""


def test_registry_keys_of_wrong_type_fall_back():
    reg = registry(
        {
            "project": 123,
            "version": None,
            "status": ["x"],
            "last_updated": {},
            "description": False,
            "features": "none",
            "metrics": [1, 2],
        }
    )
    assert (reg.project, reg.version, reg.status, reg.last_updated, reg.description) == ("123", "", "", "", "")
    assert reg.features == []
    assert reg.metrics == {}


def test_empty_registry_object():
    reg = registry({})
    assert reg.features == [] and reg.project == "" and reg.metrics == {}


@pytest.mark.skipif(not FIXTURES.exists(), reason="fixtures not available")
def test_example_registry_statuses():
    reg = parse_registry((FIXTURES / "br3-example-features.json").read_bytes())
    raw = json.loads((FIXTURES / "br3-example-features.json").read_text(encoding="utf-8"))
    mapping = {"complete": "completed", "in_progress": "in_progress", "planned": "pending"}
    assert [(f.id, f.status, f.raw_status) for f in reg.features] == [
        (f["id"], mapping[f["status"]], f["status"]) for f in raw["features"]
    ]
    assert [f.progress for f in reg.features] == [100.0 if f["status"] == "complete" else 0.0 for f in raw["features"]]
    assert reg.features[0].metadata["week"] == 1
    assert reg.features[0].metadata["priority"] == "critical"


# ---------------------------------------------------------------- bad input


def nested(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b"{}" + b"}" * (depth - 1)


BAD = [
    ("invalid_json", b"{not json}"),
    ("invalid_json", b'{"id": "x",}'),
    ("invalid_json", b""),
    ("invalid_json", b"   \n"),
    ("invalid_json", b'{"id": "x"} trailing'),
    ("invalid_json", b"{" + b'"n": 1' + b"0" * 5000 + b"}"),  # integer beyond Python's digit limit
    ("not_utf8", b'{"id": "\xff\xfe"}'),
    ("not_utf8", '{"id": "caf\u00e9"}'.encode("latin-1")),
    ("too_deep", nested(DEPTH + 1)),
    ("too_deep", b"[" * (DEPTH + 1) + b"]" * (DEPTH + 1)),
    ("too_deep", b"[" * 100_000 + b"]" * 100_000),
]


@pytest.mark.parametrize(("error_type", "data"), BAD, ids=[f"{e}-{i}" for i, (e, _) in enumerate(BAD)])
@pytest.mark.parametrize("parse", ["checkpoint", "registry"])
def test_bad_input_raises_parse_error(error_type, data, parse):
    with pytest.raises(ParseError) as info:
        if parse == "checkpoint":
            parse_checkpoint(data, "c.json", MTIME)
        else:
            parse_registry(data)
    assert info.value.error_type == error_type
    assert info.value.message and "\n" not in info.value.message


def test_depth_limit_is_exactly_100_levels():
    assert load_json(nested(DEPTH)) is not None
    assert parse_checkpoint(nested(DEPTH), "c.json", MTIME).id == "c"
    with pytest.raises(ParseError):
        load_json(nested(DEPTH + 1))


@pytest.mark.skipif(not SAMPLE.exists(), reason="fixtures not available")
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_real_files(fraction):
    for path, parse in [
        (SAMPLE / "features.json", parse_registry),
        (sorted((SAMPLE / "checkpoints").glob("*.json"))[-1], lambda d: parse_checkpoint(d, "c.json", MTIME)),
    ]:
        data = path.read_bytes()
        with pytest.raises(ParseError) as info:
            parse(data[: int(len(data) * fraction)])
        assert info.value.error_type == "invalid_json"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b'"a string"', "string"),
        (b"42", "number"),
        (b"4.5", "number"),
        (b"null", "null"),
        (b"true", "boolean"),
        (b"[1, 2]", "list"),
    ],
)
def test_checkpoint_of_wrong_shape(data, kind):
    with pytest.raises(ParseError) as info:
        parse_checkpoint(data, "c.json", MTIME)
    assert info.value.error_type == "wrong_shape"
    assert kind in info.value.message


@pytest.mark.parametrize("data", [b'"a string"', b"42", b"null", b"false"])
def test_registry_of_wrong_shape(data):
    with pytest.raises(ParseError) as info:
        parse_registry(data)
    assert info.value.error_type == "wrong_shape"


def test_too_large():
    data = b'"' + b"a" * (SIXTEEN_MIB - 1) + b'"'
    assert len(data) == SIXTEEN_MIB + 1
    for parse in (parse_registry, lambda d: parse_checkpoint(d, "c.json", MTIME)):
        with pytest.raises(ParseError) as info:
            parse(data)
        assert info.value.error_type == "too_large"


def test_bom_is_tolerated():
    assert parse_checkpoint(b'\xef\xbb\xbf{"id": "bom"}', "c.json", MTIME).id == "bom"


# ---------------------------------------------------------------- documents


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("# Architecture Decisions\n\n## Feature Registry\n", "Architecture Decisions"),
        ("Intro line\n\n## Second level first\n# Later\n", "Second level first"),
        ("   ###   Spaced   \n", "Spaced"),
        ("#\n# \n# Real\n", "Real"),
        ("no heading at all\n", "notes.md"),
        ("", "notes.md"),
    ],
)
def test_document_title(text, title):
    doc = parse_document(text.encode(), ".buildrunner/context/notes.md")
    assert doc.title == title
    assert doc.content == text
    assert doc.size == len(text.encode())
    assert doc.truncated is False
    assert doc.file_path == ".buildrunner/context/notes.md"


@pytest.mark.skipif(not SAMPLE.exists(), reason="fixtures not available")
@pytest.mark.parametrize(
    "path", [*sorted((SAMPLE / "context").glob("*.md")), SAMPLE / "PROJECT_SPEC.md"], ids=lambda p: p.name
)
def test_real_documents(path):
    text = path.read_text(encoding="utf-8")
    first_heading = next(line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#"))
    doc = parse_document(path.read_bytes(), f".buildrunner/{path.name}")
    assert doc.title == first_heading
    assert doc.content == text
    assert doc.size == path.stat().st_size


def test_document_content_truncated_at_64_kib():
    data = ("# Big\n" + "x" * (DOCUMENT_CONTENT_LIMIT + 100)).encode()
    doc = parse_document(data, "PROJECT_SPEC.md")
    assert doc.truncated is True
    assert len(doc.content.encode()) == DOCUMENT_CONTENT_LIMIT == 64 * 1024
    assert doc.size == len(data)
    assert doc.title == "Big"


def test_document_exactly_64_kib_is_not_truncated():
    data = b"y" * DOCUMENT_CONTENT_LIMIT
    doc = parse_document(data, "PROJECT_SPEC.md")
    assert doc.truncated is False
    assert len(doc.content) == DOCUMENT_CONTENT_LIMIT


def test_document_truncation_does_not_split_a_character():
    data = b"a" * (DOCUMENT_CONTENT_LIMIT - 1) + "é".encode() * 10
    doc = parse_document(data, "x.md")
    assert doc.truncated is True
    assert doc.content == "a" * (DOCUMENT_CONTENT_LIMIT - 1)


def test_document_not_utf8():
    with pytest.raises(ParseError) as info:
        parse_document(b"# Title\n\xff\xfe", ".buildrunner/context/a.md")
    assert info.value.error_type == "not_utf8"


def test_huge_numbers_clamp_instead_of_crashing():
    big = b"1" + b"0" * 400
    cp = parse_checkpoint(
        b'{"completion": ' + big + b', "components": [{"id": "a", "progress": -' + big + b"}]}", "c.json", MTIME
    )
    assert cp.completion == 100.0
    assert cp.components[0].progress == 0.0
    reg = parse_registry(b'[{"id": "f", "progress": ' + big + b'}, {"id": "g", "progress": 1e400}]')
    assert [f.progress for f in reg.features] == [100.0, 100.0]


def test_exactly_16_mib_is_not_too_large():
    data = b'"' + b"a" * (SIXTEEN_MIB - 2) + b'"'
    assert len(data) == SIXTEEN_MIB
    assert load_json(data) == "a" * (SIXTEEN_MIB - 2)


def test_document_larger_than_16_mib():
    with pytest.raises(ParseError) as info:
        parse_document(b"# Huge\n" + b"x" * SIXTEEN_MIB, "PROJECT_SPEC.md")
    assert info.value.error_type == "too_large"
    assert parse_document(b"x" * SIXTEEN_MIB, "PROJECT_SPEC.md").truncated is True
