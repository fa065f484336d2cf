"""formats.md, "Normalising items": status words and progress values."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from buildrunner_gui.model.formats import Item
from buildrunner_gui.model.normalize import (
    STATUSES,
    item_progress,
    normalize_status,
    parse_percent,
    raw_progress,
    raw_status_text,
)

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "formats.md"

# The table of formats.md, as written there ("anything else" aside).
STATUS_TABLE: dict[str, list[str]] = {
    "completed": ["complete", "completed", "done", "finished", "success", "succeeded", "passed", "production_ready"],
    "in_progress": ["in_progress", "active", "running", "started", "building", "wip", "in_development", "testing"],
    "failed": ["failed", "failure", "error", "errored", "broken", "crashed"],
    "pending": ["pending", "planned", "todo", "not_started", "queued", "new", "blocked", "empty"],
}
WORDS = [(word, status) for status, words in STATUS_TABLE.items() for word in words]


def test_table_matches_the_spec():
    """The table above is the spec's own table (guards against either drifting)."""
    if not SPEC.exists():
        pytest.skip("spec not available")
    text = SPEC.read_text(encoding="utf-8")
    section = text.split("## Normalising items", 1)[1].split("Progress:", 1)[0]
    found: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`(\w+)`\s*\|(.*)\|\s*$", line)
        if match:
            words = [w.strip() for w in match.group(2).split(",")]
            found[match.group(1)] = [w for w in words if w and w != "anything else"]
    assert found == STATUS_TABLE


@pytest.mark.parametrize(("word", "expected"), WORDS)
def test_every_status_word(word, expected):
    assert normalize_status(word) == expected


@pytest.mark.parametrize(("word", "expected"), WORDS)
def test_status_is_case_insensitive(word, expected):
    assert normalize_status(word.upper()) == expected
    assert normalize_status(word.title()) == expected
    assert normalize_status(f"  {word.capitalize()} ") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("in progress", "in_progress"),
        ("In-Progress", "in_progress"),
        ("IN PROGRESS", "in_progress"),
        ("production-ready", "completed"),
        ("Production Ready", "completed"),
        ("not started", "pending"),
        ("Not-Started", "pending"),
        ("in development", "in_progress"),
    ],
)
def test_spaces_and_dashes_read_as_underscores(raw, expected):
    assert normalize_status(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "whatever", "completed!", "done-ish", "fail", "in__progress", "42", "✓"])
def test_unknown_is_pending(raw):
    assert normalize_status(raw) == "pending"


def test_statuses_constant():
    assert set(STATUSES) == set(STATUS_TABLE)


@pytest.mark.parametrize(
    ("status", "raw", "normalised"),
    [
        ("In Progress", "In Progress", "in_progress"),
        ("DONE", "DONE", "completed"),
        ("Kaputt", "Kaputt", "pending"),
        (None, "", "pending"),
        (3, "3", "pending"),
        (True, "True", "pending"),
        ({"a": 1}, "", "pending"),
    ],
)
def test_raw_status_is_kept(status, raw, normalised):
    item = Item.from_raw({"id": "x", "status": status}, "fallback")
    assert item.raw_status == raw
    assert item.status == normalised
    assert raw_status_text(status) == raw


def test_missing_status_is_pending_with_empty_raw():
    item = Item.from_raw({"id": "x"}, "fallback")
    assert (item.status, item.raw_status, item.progress) == ("pending", "", 0.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0.0),
        (45, 45.0),
        (45.5, 45.5),
        (100, 100.0),
        ("45%", 45.0),
        ("45", 45.0),
        (" 45 % ", 45.0),
        ("12.5%", 12.5),
        ("0%", 0.0),
        ("100%", 100.0),
        (-5, 0.0),
        (150, 100.0),
        (-0.1, 0.0),
        (100.01, 100.0),
        ("250%", 100.0),
        ("-3%", 0.0),
        (10**400, 100.0),
        (-(10**400), 0.0),
        (math.inf, 100.0),
        (-math.inf, 0.0),
    ],
)
def test_parse_percent_numbers_and_strings_clamped(value, expected):
    assert parse_percent(value) == expected


@pytest.mark.parametrize(
    "value",
    [None, True, False, math.nan, "nan", "NaN%", "", "%", "abc", "45 percent", "4 5%", [], [45], {}, {"p": 45}],
)
def test_parse_percent_unreadable_is_none(value):
    assert parse_percent(value) is None


@pytest.mark.parametrize("status", ["completed", "in_progress", "failed", "pending"])
@pytest.mark.parametrize("value", [None, math.nan, True, "garbage", [50], {}])
def test_missing_or_unreadable_progress_defaults_by_status(status, value):
    assert item_progress(value, status) == (100.0 if status == "completed" else 0.0)


@pytest.mark.parametrize("status", ["in_progress", "failed", "pending"])
def test_explicit_progress_wins_over_status_default(status):
    assert item_progress("30%", status) == 30.0
    assert item_progress(0, status) == 0.0
    assert item_progress(200, status) == 100.0


@pytest.mark.parametrize("value", [95, 0, "30%", 99.9, -5, 200, None, "garbage"])
def test_a_completed_item_is_at_100_whatever_it_carries(value):
    assert item_progress(value, "completed") == 100.0


@pytest.mark.parametrize(
    ("value", "status", "kept"),
    [
        (95, "completed", 95),
        ("95%", "completed", "95%"),
        (100, "completed", 100),
        (0, "completed", 0),
        (None, "completed", None),
        ("garbage", "completed", None),
        (True, "completed", None),
        (95, "in_progress", None),  # its progress is that number: nothing to keep aside
        (95, "pending", None),
        (95, "failed", None),
    ],
)
def test_raw_progress_is_the_number_a_completed_item_carried(value, status, kept):
    assert raw_progress(value, status) == kept


@pytest.mark.parametrize(
    ("raw", "status", "progress"),
    [
        ({"id": "a", "status": "done"}, "completed", 100.0),
        ({"id": "a", "status": "complete", "progress": 95}, "completed", 100.0),
        ({"id": "a", "status": "Done", "progress": "0%"}, "completed", 100.0),
        ({"id": "a", "status": "planned"}, "pending", 0.0),
        ({"id": "a", "status": "WIP", "progress": "45%"}, "in_progress", 45.0),
        ({"id": "a", "status": "crashed", "progress": "oops"}, "failed", 0.0),
        ({"id": "a", "status": "passed", "progress": True}, "completed", 100.0),
        ({"id": "a", "status": "building", "progress": -20}, "in_progress", 0.0),
        ({"id": "a", "progress": 10**400}, "pending", 100.0),
    ],
)
def test_items_normalise_status_and_progress(raw, status, progress):
    item = Item.from_raw(raw, "fallback")
    assert (item.status, item.progress) == (status, progress)
    assert isinstance(item.progress, float)


def test_a_completed_items_carried_number_stays_in_its_metadata():
    stale = Item.from_raw({"id": "feat-010", "status": "complete", "progress": 95, "priority": "high"}, "x")
    assert (stale.status, stale.progress) == ("completed", 100.0)
    assert stale.metadata == {"priority": "high", "raw_progress": 95}
    assert stale.public()["metadata"]["raw_progress"] == 95
    plain = Item.from_raw({"id": "b", "status": "done"}, "x")
    assert "raw_progress" not in plain.metadata
    running = Item.from_raw({"id": "c", "status": "wip", "progress": 40}, "x")
    assert running.progress == 40.0 and "raw_progress" not in running.metadata


def test_a_checkpoint_entry_marking_an_item_done_brings_it_to_100():
    base = Item.from_raw({"id": "a", "status": "wip", "progress": 60}, "x")
    done = base.overlaid(Item.from_raw({"id": "a", "status": "complete"}, "x"))
    assert (done.status, done.progress, done.metadata["raw_progress"]) == ("completed", 100.0, 60)
