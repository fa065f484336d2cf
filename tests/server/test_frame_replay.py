"""The server's replay of encoded events: exact tails, bounded by count and bytes, and within a budget."""

from __future__ import annotations

from buildrunner_gui.server import frame_replay as replay_module
from buildrunner_gui.server.frame_replay import EventFrame, FrameReplay

UNLIMITED = 1 << 40


def frames(first: int, last: int, size: int = 10) -> list[EventFrame]:
    return [EventFrame(seq, "terminal", f"{seq:0{size}d}") for seq in range(first, last + 1)]


def test_the_events_after_a_position_exactly_and_in_order():
    replay = FrameReplay()
    kept = frames(1, 5)
    for event in kept:
        replay.add(event)
    assert replay.after(2, UNLIMITED) == kept[2:]
    assert replay.after(0, UNLIMITED) == kept
    assert replay.after(5, UNLIMITED) == []
    assert replay.after(6, UNLIMITED) is None  # ahead of what happened: not this history
    assert replay.after(-1, UNLIMITED) is None


def test_it_keeps_the_last_10000_events():
    assert replay_module.REPLAY_EVENTS == 10_000
    replay = FrameReplay()
    total = replay_module.REPLAY_EVENTS + 50
    for event in frames(1, total):
        replay.add(event)
    assert len(replay) == 10_000
    assert replay.after(0, UNLIMITED) is None  # events 1..50 are gone
    assert replay.after(49, UNLIMITED) is None
    resumed = replay.after(50, UNLIMITED)
    assert resumed is not None and [e.seq for e in resumed] == list(range(51, total + 1))
    assert [e.seq for e in replay.after(total - 1, UNLIMITED) or []] == [total]


def test_it_is_bounded_by_bytes_too():
    replay = FrameReplay(max_bytes=1000)
    for event in frames(1, 30, size=100):
        replay.add(event)
    assert len(replay) == 10
    assert replay.after(19, UNLIMITED) is None  # evicted: a status is due
    assert [e.seq for e in replay.after(20, UNLIMITED) or []] == list(range(21, 31))


def test_a_tail_over_the_budget_is_not_offered():
    replay = FrameReplay()
    for event in frames(1, 10, size=100):
        replay.add(event)
    assert replay.after(5, 500) is not None  # five frames of 100 bytes
    assert replay.after(4, 500) is None  # six would exceed it: a status is cheaper


def test_a_gap_in_seq_forgets_what_came_before_it():
    replay = FrameReplay()
    for event in [*frames(1, 3), *frames(7, 8)]:
        replay.add(event)
    assert replay.after(2, UNLIMITED) is None
    assert [e.seq for e in replay.after(6, UNLIMITED) or []] == [7, 8]
