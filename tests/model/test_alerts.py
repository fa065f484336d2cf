"""Notification rules: one alert per transition, failed beats building, the stall alert fires once."""

from __future__ import annotations

import pytest

from buildrunner_gui.model.alerts import StallWatch, transition_alert, worst_status


@pytest.mark.parametrize(
    ("before", "after", "alert"),
    [
        (None, "failed", None),
        ("pending", "in_progress", "started"),
        ("in_progress", "completed", "completed"),
        ("in_progress", "failed", "failed"),
        ("failed", "in_progress", "fixed"),
        ("failed", "completed", "fixed"),
        ("in_progress", "in_progress", None),
        ("completed", "in_progress", "started"),
        ("in_progress", "pending", None),
    ],
)
def test_transition_alerts(before, after, alert):
    assert transition_alert(before, after) == alert


def test_worst_status_prefers_failed_over_building():
    assert worst_status(["completed", "in_progress", "failed"]) == "failed"
    assert worst_status(["completed", "in_progress", "pending"]) == "in_progress"
    assert worst_status(["completed"]) == "completed"
    assert worst_status([]) is None


def test_stall_alert_fires_once_per_quiet_spell():
    watch = StallWatch(minutes=10)
    watch.activity(0)
    assert not watch.check("in_progress", 9 * 60)
    assert watch.check("in_progress", 10 * 60)
    assert not watch.check("in_progress", 20 * 60)
    watch.activity(21 * 60)
    assert not watch.check("completed", 40 * 60)
    assert watch.check("in_progress", 40 * 60)
