"""The one reading of a session's `source` that every view shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from buildrunner_gui.model.liveness import last_contact, liveness

NOW = datetime(2026, 12, 6, 14, 4, 11, tzinfo=UTC)


def mirror(state: str, **fields) -> dict:
    return {"kind": "mirror", "upstream": "ws://h:1/api/build/stream/x", "state": state, "since": None, **fields}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_local_project_is_always_live():
    shown = liveness({"kind": "local"}, NOW)
    assert shown.live and not shown.stale and shown.summary == ""


def test_a_live_mirror_is_live():
    shown = liveness(mirror("live", last_contact=iso(NOW)), NOW)
    assert shown.live and shown.summary == "live"


def test_reconnecting_counts_down_to_the_next_try_and_says_since_when():
    shown = liveness(
        mirror("reconnecting", reason="connection closed", next_try=iso(NOW + timedelta(seconds=12)),
               last_contact=iso(NOW - timedelta(minutes=2))),
        NOW,
    )  # fmt: skip
    assert shown.stale and shown.state == "reconnecting"
    assert shown.summary == "reconnecting in 12 s"
    local = (NOW - timedelta(minutes=2)).astimezone().strftime("%H:%M:%S")
    assert shown.detail == f"reconnecting in 12 s · connection closed · last contact {local}, 2 min ago"


def test_unreachable_gives_its_reason_and_never_contacted():
    shown = liveness(mirror("unreachable", reason="[Errno 111] Connect call failed"), NOW)
    assert shown.stale and shown.summary == "unreachable"
    assert shown.detail == "unreachable · [Errno 111] Connect call failed · no contact yet"


def test_refused_says_what_to_fix():
    assert liveness(mirror("refused", reason="refused: token"), NOW).detail.startswith(
        "refused: token; check the token"
    )
    assert "allow" in liveness(mirror("refused", reason="server refused: HTTP 403"), NOW).detail
    assert "session id" in liveness(mirror("refused", reason="refused: session id"), NOW).detail


def test_last_contact_in_words():
    assert last_contact(None, NOW) == "no contact yet"
    assert last_contact("not a time", NOW) == "no contact yet"
    assert last_contact(iso(NOW - timedelta(seconds=5)), NOW).endswith(", 5 s ago")
    assert last_contact(iso(NOW - timedelta(hours=3)), NOW).endswith(", 3 h ago")


def test_unreachable_counts_down_to_its_next_try_too():
    shown = liveness(mirror("unreachable", reason="connection refused", next_try=iso(NOW + timedelta(seconds=4))), NOW)
    assert shown.summary == "unreachable, retrying in 4 s"
