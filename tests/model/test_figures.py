"""formats.md: components and features shown, checkpoint history, stats, overall progress and the status rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from buildrunner_gui.model import figures
from buildrunner_gui.model.formats import Checkpoint, FeatureRegistry, Item, parse_checkpoint, parse_registry

BASE_TS = "2025-11-17T22:00:{:02d}Z"


def cp(number: int, **fields: Any) -> Checkpoint:
    """Checkpoint `number`, its timestamp `number` seconds after a fixed minute (unless given)."""
    fields.setdefault("id", f"cp{number}")
    fields.setdefault("timestamp", BASE_TS.format(number))
    return parse_checkpoint(json.dumps(fields).encode(), f"cp{number:03d}.json", 0.0)


def reg(*features: dict[str, Any]) -> FeatureRegistry:
    return parse_registry(json.dumps({"project": "P", "features": list(features)}).encode())


def item(item_id: str, status: str = "pending", progress: Any = None, **extra: Any) -> Item:
    raw = {"id": item_id, "status": status, **extra}
    if progress is not None:
        raw["progress"] = progress
    return Item.from_raw(raw, item_id)


def derive(checkpoints: list[Checkpoint], registry: FeatureRegistry | None):
    history = figures.ordered(checkpoints)
    current = figures.latest(history)
    features = figures.shown_features(registry, current)
    components = figures.shown_components(features, current)
    feature_stats, component_stats = figures.stats(features), figures.stats(components)
    progress = figures.overall(history, current, features, components, feature_stats, component_stats)
    return history, current, features, components, progress


# ---------------------------------------------------------------- components derived from features


@pytest.mark.parametrize(
    ("owner_statuses", "expected"),
    [
        (["failed"], "failed"),
        (["completed", "failed"], "failed"),
        (["in_progress", "failed", "pending"], "failed"),
        (["completed"], "completed"),
        (["completed", "completed", "completed"], "completed"),
        (["in_progress"], "in_progress"),
        (["in_progress", "pending"], "in_progress"),
        (["completed", "pending"], "in_progress"),  # some, not all, completed
        (["pending", "completed", "pending"], "in_progress"),
        (["pending"], "pending"),
        (["pending", "pending"], "pending"),
    ],
)
def test_derived_component_status(owner_statuses, expected):
    features = [item(f"f{i}", status, components=["src/shared.py"]) for i, status in enumerate(owner_statuses)]
    (component,) = figures.shown_components(features, None)
    assert component.id == component.name == "src/shared.py"
    assert component.status == expected
    assert component.metadata["features"] == [f"f{i}" for i in range(len(owner_statuses))]


def test_derived_component_progress_is_mean_of_owners():
    features = [
        item("a", "in_progress", 30, components=["x", "y"]),
        item("b", "completed", components=["y"]),
        item("c", "pending", components=["y", "z"]),
    ]
    derived = {c.id: c for c in figures.shown_components(features, None)}
    assert list(derived) == ["x", "y", "z"]  # first seen first
    assert derived["x"].progress == 30.0
    assert derived["y"].progress == pytest.approx((30 + 100 + 0) / 3)
    assert derived["z"].progress == 0.0
    assert derived["y"].metadata["features"] == ["a", "b", "c"]


def test_components_listing_ignores_non_paths_and_duplicates():
    features = [
        item("a", "completed", components=["x", "x", "", 5, None, {"p": 1}]),
        item("b", "pending", components="not-a-list"),
    ]
    assert [(c.id, c.status) for c in figures.shown_components(features, None)] == [("x", "completed")]


def test_checkpoint_components_take_precedence():
    features = [item("a", "completed", components=["from_features"])]
    current = cp(1, components=[{"id": "api", "status": "failed"}, {"id": "ui", "status": "wip", "progress": 40}])
    shown = figures.shown_components(features, current)
    assert [(c.id, c.status, c.progress) for c in shown] == [("api", "failed", 0.0), ("ui", "in_progress", 40.0)]


def test_only_latest_checkpoint_components_count():
    registry = reg({"id": "a", "status": "done", "components": ["derived.py"]})
    older = cp(1, components=[{"id": "old-component"}])
    newer = cp(2, phase="later")
    _, current, _, components, _ = derive([older, newer], registry)
    assert current.id == "cp2"
    assert [c.id for c in components] == ["derived.py"]


# ---------------------------------------------------------------- features overlay


def test_features_overlaid_by_latest_checkpoint():
    registry = reg(
        {"id": "f1", "name": "Login", "status": "planned", "priority": "high"},
        {"id": "f2", "name": "Logout", "status": "in_progress", "progress": 50},
    )
    older = cp(1, features=[{"id": "f2", "status": "failed"}])
    newer = cp(2, features=[{"id": "f1", "status": "done"}, {"feature_id": "f2", "progress": "75%"}])
    _, _, features, _, _ = derive([newer, older], registry)
    f1, f2 = features
    assert (f1.id, f1.name, f1.status, f1.raw_status, f1.progress) == ("f1", "Login", "completed", "done", 100.0)
    assert f1.metadata["priority"] == "high"  # registry keys the checkpoint did not write stay
    assert (f2.id, f2.name, f2.status, f2.progress) == ("f2", "Logout", "in_progress", 75.0)  # older cp ignored


def test_checkpoint_features_unknown_to_registry_are_shown_after():
    registry = reg({"id": "f1", "status": "done"})
    current = cp(1, features={"f9": {"status": "running"}})
    features = figures.shown_features(registry, current)
    assert [(f.id, f.status) for f in features] == [("f1", "completed"), ("f9", "in_progress")]


def test_features_without_registry_or_checkpoint():
    assert figures.shown_features(None, None) == []
    assert [f.id for f in figures.shown_features(reg({"id": "a"}), None)] == ["a"]


# ---------------------------------------------------------------- history, rollback


def test_history_order_is_timestamp_then_file_name():
    same = "2025-11-17T22:00:00Z"
    a = parse_checkpoint(json.dumps({"id": "z", "timestamp": same}).encode(), "b.json", 0.0)
    b = parse_checkpoint(json.dumps({"id": "y", "timestamp": same}).encode(), "a.json", 0.0)
    early = parse_checkpoint(json.dumps({"id": "x", "timestamp": "2025-11-17T21:00:00Z"}).encode(), "c.json", 0.0)
    assert [c.id for c in figures.ordered([a, b, early])] == ["x", "y", "z"]


def test_history_orders_mixed_offsets_by_instant():
    east = parse_checkpoint(b'{"id": "east", "timestamp": "2025-11-17T23:00:00+02:00"}', "a.json", 0.0)
    west = parse_checkpoint(b'{"id": "west", "timestamp": "2025-11-17T22:00:00Z"}', "b.json", 0.0)
    assert [c.id for c in figures.ordered([west, east])] == ["east", "west"]


def test_rolled_back_stays_in_history_but_latest_is_last_not_rolled_back():
    registry = reg({"id": "f1", "status": "planned"})
    c1 = cp(1, phase="one", tasks_completed=["t1"], files_created=["a.py"])
    c2 = cp(2, phase="two", tasks_completed=["t2"], files_created=["b.py"], features=[{"id": "f1", "status": "done"}])
    c3 = cp(
        3,
        phase="build_three",
        status="rolled_back",
        tasks_completed=["t3", "t4"],
        files_created=["c.py"],
        features=[{"id": "f1", "status": "failed"}],
        error="boom",
        completion=5,
    )
    history, current, features, _, progress = derive([c3, c1, c2], registry)
    assert [c.id for c in history] == ["cp1", "cp2", "cp3"]
    assert current.id == "cp2"
    assert features[0].status == "completed"  # cp3's overlay does not count
    assert (progress.tasks_completed, progress.files_created) == (2, 2)
    assert progress.percent == 100.0  # cp3's completion does not count
    assert progress.status == "completed"  # cp3's error and phase do not count


def test_all_rolled_back_means_no_latest():
    c1 = cp(1, status="rolled_back", tasks_completed=["t"])
    history, current, _, _, progress = derive([c1], None)
    assert [c.id for c in history] == ["cp1"]
    assert current is None
    assert (progress.tasks_completed, progress.status, progress.percent) == (0, "pending", 0.0)


def test_rollback_to_earlier_checkpoint():
    """After a rollback the checkpoint rolled back to is current, even if later ones were rolled back."""
    c1 = cp(1, phase="build_1", completion=40)
    c2 = cp(2, phase="build_2", completion=80, status="rolled_back")
    c3 = cp(3, phase="build_3", completion=90, status="rolled_back")
    _, current, _, _, progress = derive([c1, c2, c3], None)
    assert current.id == "cp1"
    assert progress.percent == 40.0


# ---------------------------------------------------------------- stats


def test_stats_counts_and_one_decimal():
    items = [
        item("a", "done"),
        item("b", "failed"),
        item("c", "wip", "33.33%"),
        item("d", "planned"),
        item("e", "queued", 0.04),
    ]
    assert figures.stats(items) == {
        "total": 5,
        "completed": 1,
        "in_progress": 1,
        "pending": 2,
        "failed": 1,
        "completion_percentage": round((100 + 0 + 33.33 + 0 + 0.04) / 5, 1),
    }
    assert figures.stats(items)["completion_percentage"] == 26.7


def test_stats_of_nothing():
    assert figures.stats([]) == {
        "total": 0,
        "completed": 0,
        "in_progress": 0,
        "pending": 0,
        "failed": 0,
        "completion_percentage": 0,
    }


def test_stats_rounding_of_thirds():
    assert figures.stats([item("a", "done"), item("b"), item("c")])["completion_percentage"] == 33.3
    assert figures.stats([item("a", "done"), item("b", "done"), item("c")])["completion_percentage"] == 66.7


# ---------------------------------------------------------------- overall progress


def test_explicit_completion_wins():
    registry = reg({"id": "a", "status": "done"}, {"id": "b", "status": "done"})
    *_, progress = derive([cp(1, completion_percentage="12.34%")], registry)
    assert progress.percent == 12.3
    assert (progress.total, progress.completed) == (2, 2)


def test_features_percentage_when_no_explicit_completion():
    registry = reg(
        {"id": "a", "status": "done"}, {"id": "b", "status": "wip", "progress": 20}, {"id": "c", "components": ["x"]}
    )
    current = cp(1, components=[{"id": "k", "status": "done"}])
    *_, components, progress = derive([current], registry)
    assert progress.percent == 40.0
    assert (progress.total, progress.completed) == (3, 1)  # features counted, not components
    assert [c.id for c in components] == ["k"]


def test_components_percentage_when_no_features():
    current = cp(
        1, components=[{"id": "a", "status": "done"}, {"id": "b", "progress": 25}, {"id": "c", "status": "failed"}]
    )
    _, _, features, _, progress = derive([current], None)
    assert features == []
    assert progress.percent == round(125 / 3, 1)
    assert (progress.total, progress.completed) == (3, 1)


def test_nothing_means_zero():
    *_, progress = derive([], None)
    assert progress.public() == {
        "total": 0,
        "completed": 0,
        "percent": 0.0,
        "status": "pending",
        "tasks_completed": 0,
        "files_created": 0,
    }


def test_distinct_tasks_and_files_across_checkpoints():
    c1 = cp(1, tasks_completed=["t1", "t2"], files_created=["a.py"])
    c2 = cp(2, tasks_completed=["t2", "t3", "t3"], files_created=["a.py", "b.py"])
    c3 = cp(3, tasks_completed=["t9"], files_created=["z.py"], status="rolled_back")
    *_, progress = derive([c1, c2, c3], None)
    assert (progress.tasks_completed, progress.files_created) == (3, 2)


# ---------------------------------------------------------------- the seven status rules


def status_of(checkpoints: list[Checkpoint], *features: dict[str, Any]) -> str:
    *_, progress = derive(checkpoints, reg(*features) if features else None)
    return progress.status


def test_rule1_error_beats_everything():
    # phase build_ + completion < 100 (rule 3) and everything completed (rule 5): still failed.
    assert (
        status_of([cp(1, error="compile failed", phase="build_2", completion=50)], {"id": "a", "status": "done"})
        == "failed"
    )
    assert status_of([cp(1, error={"message": "x"}, completion=100)], {"id": "a", "status": "done"}) == "failed"


def test_rule1_only_latest_checkpoint_error():
    assert status_of([cp(1, error="old"), cp(2, phase="p")], {"id": "a", "status": "done"}) == "completed"


def test_rule2_failed_feature_beats_build_phase():
    assert (
        status_of([cp(1, phase="build_4e_start")], {"id": "a", "status": "failed"}, {"id": "b", "status": "wip"})
        == "failed"
    )


def test_rule2_failed_component_beats_build_phase_and_completion():
    current = cp(1, phase="build_x", completion=100, components=[{"id": "c", "status": "crashed"}])
    assert status_of([current], {"id": "a", "status": "done"}) == "failed"


def test_rule2_failed_derived_component():
    features = [item("a", "failed", components=["x"])]
    components = figures.shown_components(features, None)
    assert overall_status(None, 0.0, components) == "failed"


def test_rule3_build_phase_in_progress_beats_all_completed():
    # All features completed (rule 5), but completion is explicitly below 100.
    assert status_of([cp(1, phase="pre_build_3", completion=99)], {"id": "a", "status": "done"}) == "in_progress"


def test_rule3_build_phase_with_nothing_else_is_in_progress():
    assert status_of([cp(1, phase="build_1")]) == "in_progress"  # rule 7 would say pending


def test_rule3_needs_completion_below_100():
    assert status_of([cp(1, phase="build_1", completion=100)]) == "completed"


def test_rule3_needs_build_underscore():
    assert status_of([cp(1, phase="rebuild", completion=10)]) == "pending"
    assert status_of([cp(1, phase="BUILD-1", completion=10)]) == "pending"


def test_rule4_completion_reaching_100():
    # Items pending (rules 5-7 say pending), but the explicit completion says 100.
    assert status_of([cp(1, phase="deploy", completion="100%")], {"id": "a", "status": "planned"}) == "completed"
    assert status_of([cp(1, completion=150)], {"id": "a", "status": "wip"}) == "completed"


def test_rule5_all_items_completed_below_100():
    # The checkpoint's explicit completion says 60, yet every item is completed.
    assert (
        status_of(
            [cp(1, phase="review", completion=60)], {"id": "a", "status": "complete"}, {"id": "b", "status": "done"}
        )
        == "completed"
    )


def test_completed_items_with_stale_numbers_count_as_100():
    """The sample registry's case: "complete" features at progress 95 and a `build_` phase. Each counts 100,
    so completion is 100 and rule 3 (build phase, completion < 100) no longer holds the build "in progress"."""
    registry = reg(
        {"id": "a", "status": "complete", "progress": 95, "components": ["x"]},
        {"id": "b", "status": "complete", "progress": 100, "components": ["x", "y"]},
        {"id": "c", "status": "done", "progress": "12%"},
    )
    _, _, features, components, progress = derive([cp(1, phase="build_4e_start")], registry)
    assert [f.progress for f in features] == [100.0, 100.0, 100.0]
    assert [f.metadata["raw_progress"] for f in features] == [95, 100, "12%"]
    assert figures.stats(features)["completion_percentage"] == 100.0
    assert {c.id: c.progress for c in components} == {"x": 100.0, "y": 100.0}
    assert (progress.percent, progress.completed, progress.total, progress.status) == (100.0, 3, 3, "completed")


def test_stale_numbers_of_completed_items_do_not_lower_the_mean():
    registry = reg({"id": "a", "status": "complete", "progress": 10}, {"id": "b", "status": "wip", "progress": 50})
    _, _, features, _, progress = derive([cp(1, phase="review")], registry)
    assert figures.stats(features)["completion_percentage"] == 75.0
    assert (progress.percent, progress.status) == (75.0, "in_progress")


def test_rule6_any_in_progress():
    assert (
        status_of(
            [cp(1, phase="review")],
            {"id": "a", "status": "done"},
            {"id": "b", "status": "running"},
            {"id": "c", "status": "todo"},
        )
        == "in_progress"
    )


def test_rule6_in_progress_component_only():
    current = cp(1, components=[{"id": "x", "status": "wip"}])
    assert status_of([current], {"id": "a", "status": "planned"}) == "in_progress"


def test_rule7_otherwise_pending():
    assert (
        status_of([cp(1, phase="plan")], {"id": "a", "status": "planned"}, {"id": "b", "status": "done"}) == "pending"
    )
    assert status_of([cp(1, phase="plan")], {"id": "a", "status": "planned"}, {"id": "b"}) == "pending"
    assert status_of([]) == "pending"
    assert status_of([], {"id": "a", "status": "blocked"}) == "pending"


@pytest.mark.parametrize(
    ("error", "items", "phase", "percent", "expected"),
    [
        ("e", ["failed"], "build_1", 50, "failed"),  # rule 1
        (None, ["failed"], "build_1", 50, "failed"),  # rule 2 before rule 3
        (None, ["failed"], "", 100, "failed"),  # rule 2 before rule 4
        (None, ["completed"], "build_1", 50, "in_progress"),  # rule 3 before rule 5
        (None, ["pending"], "build_1", 99.9, "in_progress"),  # rule 3 before rule 7
        (None, ["pending"], "build_1", 100, "completed"),  # rule 4
        (None, ["in_progress"], "", 100, "completed"),  # rule 4 before rule 6
        (None, ["completed", "completed"], "", 50, "completed"),  # rule 5
        (None, [], "", 50, "pending"),  # rule 5 needs items
        (None, ["completed", "in_progress"], "", 50, "in_progress"),  # rule 6
        (None, ["completed", "pending"], "", 50, "pending"),  # rule 7
    ],
)
def test_overall_status_rule_order(error, items, phase, percent, expected):
    current = cp(1, phase=phase, error=error)
    assert overall_status(current, percent, [item(f"i{n}", s) for n, s in enumerate(items)]) == expected


def test_overall_status_without_checkpoint():
    assert overall_status(None, 0.0, []) == "pending"
    assert overall_status(None, 100.0, []) == "completed"
    assert overall_status(None, 10.0, [item("a", "failed")]) == "failed"


def test_rule6_through_a_shared_derived_component():
    """One completed and one planned feature sharing a path: the derived component is in progress."""
    assert (
        status_of(
            [cp(1, phase="plan")],
            {"id": "a", "status": "planned", "components": ["x"]},
            {"id": "b", "status": "done", "components": ["x"]},
        )
        == "in_progress"
    )


def overall_status(current, percent, items):
    """The status rules over a list of items, through the counts the engine keeps."""
    counts = {"total": len(items), "completed": 0, "in_progress": 0, "failed": 0, "pending": 0}
    for entry in items:
        counts[entry.status] += 1
    return figures.status_from_counts(current, percent, counts)
