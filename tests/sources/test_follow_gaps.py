"""The sans-I/O parts of a mirror's resilience: a gap in the upstream's events, the backoff, failures in words.

A gap must never show a state the upstream did not have: the follower takes no event past it, asks for a
`status`, and the status brings the store exactly to the upstream's state.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.follow import UpstreamFollower, read_upstream_frame
from buildrunner_gui.model.inputs import LogAppended
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources.backoff import Backoff
from buildrunner_gui.sources.remote_link import describe_failure

MIRROR_SOURCE: Any = {"kind": "mirror", "upstream": "ws://127.0.0.1:1/api/build/stream/p", "state": "live"}


def wire(value: Any) -> Any:
    return json.loads(json.dumps(value))


def comparable(snapshot: Any) -> dict[str, Any]:
    return {key: value for key, value in wire(snapshot).items() if key != "source"}


def log_line(engine: SessionEngine, text: str) -> dict[str, Any]:
    (event,) = engine.apply([LogAppended(".buildrunner/logs/build.log", text + "\n")])
    return wire(event)


def terminal(store: SessionStore) -> list[str]:
    return [line["output"] for line in store.snapshot()["terminal"]]


def following() -> tuple[SessionEngine, SessionStore, UpstreamFollower]:
    upstream = SessionEngine("p", "project")
    upstream.apply([LogAppended(".buildrunner/logs/build.log", "zero\n")])
    mirror = SessionStore("m", {"name": "m", "alias": None, "path": ""}, MIRROR_SOURCE)
    follower = UpstreamFollower(mirror)
    follower.connected()
    assert follower.requests() == []  # nothing loaded yet: nothing to resume
    follower.take_status(wire(upstream.store.status_message()))
    return upstream, mirror, follower


def take(follower: UpstreamFollower, events: list[dict[str, Any]]) -> None:
    """As the mirror client does; the store stamps the events it takes with its own numbering (copies here)."""
    follower.store.publish([wire(event) for event in events if follower.take_event(event)])


def test_no_event_past_a_gap_is_taken_and_the_status_asked_for_makes_the_store_exact():
    upstream, mirror, follower = following()
    one, two, _lost, four, five = (log_line(upstream, text) for text in ("one", "two", "three", "four", "five"))
    take(follower, [one, two])
    assert follower.requests() == []
    take(follower, [four])  # `three` was lost
    assert follower.requests() == [{"type": "request_status"}]
    take(follower, [five])  # still past the gap: waits for the status, and is not asked twice
    assert follower.requests() == []
    assert terminal(mirror) == ["zero", "one", "two"]  # a state the upstream had, not one with a hole in it
    assert follower.seq == two["seq"] and follower.awaiting_status

    catch_up = follower.take_status(wire(upstream.store.status_message()))
    assert catch_up is not None and not follower.awaiting_status
    assert comparable(mirror.snapshot()) == comparable(upstream.store.snapshot())
    six = log_line(upstream, "six")
    take(follower, [six])  # the events after the status follow it
    assert terminal(mirror)[-1] == "six"
    assert comparable(mirror.snapshot()) == comparable(upstream.store.snapshot())
    assert follower.gaps == 1


def test_a_reconnect_after_a_gap_resumes_from_the_last_event_taken():
    upstream, mirror, follower = following()
    one, two, three = (log_line(upstream, text) for text in ("one", "two", "three"))
    take(follower, [one, three])
    assert follower.requests() == [{"type": "request_status"}]
    follower.connected()  # the connection dropped before the status came
    assert follower.requests() == [{"type": "resume", "epoch": upstream.store.epoch, "last_seq": one["seq"]}]
    take(follower, [two, three])  # the resume's answer: exactly the events after `one`
    assert comparable(mirror.snapshot()) == comparable(upstream.store.snapshot())


def test_an_event_of_a_type_this_version_does_not_know_moves_the_position_without_a_gap():
    upstream, mirror, follower = following()
    one = log_line(upstream, "one")
    newer = {**upstream.store.control("build_forecast", eta="soon"), "seq": one["seq"] + 1}
    message = read_upstream_frame(json.dumps(newer))
    upstream.store.seq += 1  # the newer server numbered it
    two = log_line(upstream, "two")
    take(follower, [one, message, two])
    assert follower.requests() == [] and follower.gaps == 0
    assert terminal(mirror) == ["zero", "one", "two"]


def test_an_older_status_or_an_event_of_another_epoch_changes_nothing():
    upstream, mirror, follower = following()
    old_status = wire(upstream.store.status_message())
    one = log_line(upstream, "one")
    take(follower, [one])
    assert follower.take_status(old_status) is None
    take(follower, [{**log_line(upstream, "two"), "epoch": "another"}])
    assert terminal(mirror) == ["zero", "one"] and follower.requests() == []


def test_the_backoff_doubles_from_the_start_to_the_limit_with_jitter_and_starts_over():
    top = Backoff(1.0, 30.0, draw=lambda: 0.999999)
    assert [round(top.next_delay()) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    top.reset()
    assert round(top.next_delay()) == 1
    bottom = Backoff(1.0, 30.0, draw=lambda: 0.0)
    assert [bottom.next_delay() for _ in range(7)] == [0.5, 1, 2, 4, 8, 15, 15]
    jittered = Backoff(1.0, 30.0, draw=random.Random(7).random)
    delays = [jittered.next_delay() for _ in range(40)]
    assert all(0.5 <= d <= 30 for d in delays) and len(set(delays)) == 40


@pytest.mark.parametrize(
    ("status", "reason", "refused"),
    [
        (401, "refused: token", True),
        (403, "refused: origin", True),
        (404, "refused: session id", True),
        (503, "HTTP 503: too many clients (at most 200); try again later", False),
        (500, "HTTP 500", False),
    ],
)
def test_refusals_stop_the_retries_and_say_what_to_fix(status, reason, refused):
    body = b"too many clients (at most 200); try again later\n" if status == 503 else b""
    failure = describe_failure(InvalidStatus(Response(status, "", Headers(), body)), None)
    assert (failure.reason, failure.refused) == (reason, refused)
