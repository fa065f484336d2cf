"""The broker's pure parts: which sessions are gone, a broker URL as it may be shown, refusals in words."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from buildrunner_gui.model.broker_keys import (
    GoneRule,
    SessionEntry,
    is_broker_url,
    read_entry,
    refusal,
    session_entry,
    shown_url,
)
from buildrunner_gui.model.clock import iso
from buildrunner_gui.server.broker_publisher import BrokerPublisher
from buildrunner_gui.sources.broker_directory import BrokerDirectory

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def entry(updated: datetime) -> SessionEntry:
    return SessionEntry("proj", "host:1", iso(updated))


def test_an_entry_not_refreshed_for_the_limit_is_gone_by_this_machines_clock():
    rule = GoneRule(gone_after=60)
    assert rule.gone({"a": entry(START)}, START) == set()
    assert rule.gone({"a": entry(START)}, START + timedelta(seconds=59)) == set()
    assert rule.gone({"a": entry(START)}, START + timedelta(seconds=61)) == {"a"}
    refreshed = entry(START + timedelta(seconds=70))
    assert rule.gone({"a": refreshed}, START + timedelta(seconds=71)) == set()  # published again: back


def test_a_publisher_whose_clock_is_ahead_or_behind_is_judged_by_when_its_entry_changes():
    rule = GoneRule(gone_after=60)
    behind = START - timedelta(minutes=5)  # its clock is five minutes slow, and it refreshes every 10 s
    assert rule.gone({"slow": entry(behind)}, START) == {"slow"}  # first met: its own stamp is old
    assert rule.gone({"slow": entry(behind + timedelta(seconds=10))}, START + timedelta(seconds=10)) == set()
    ahead = START + timedelta(hours=1)
    assert rule.gone({"fast": entry(ahead)}, START) == set()
    assert rule.gone({"fast": entry(ahead)}, START + timedelta(seconds=61)) == {"fast"}  # stopped refreshing


def test_entries_of_the_sessions_hash_are_read_leniently():
    assert read_entry(session_entry("proj", "host:1", "2030-01-01T00:00:00.000Z")) == SessionEntry(
        "proj", "host:1", "2030-01-01T00:00:00.000Z"
    )
    for raw in (b"not json", b"[]", b'{"name": "x"}', b'{"updated": 5}'):
        assert read_entry(raw) is None


def test_a_broker_url_is_shown_without_its_credentials():
    assert shown_url("redis://:secret@10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"
    assert shown_url("rediss://user:pw@broker:6380/2?ssl_cert_reqs=none") == "rediss://broker:6380/2"
    assert is_broker_url("redis://h:1/0") and is_broker_url("rediss://h:1/0")
    assert not is_broker_url("ws://h:1/api/build/stream/x") and not is_broker_url("/home/me/redis")


def test_refusals_say_what_to_fix():
    assert "needs a password" in refusal("NOAUTH Authentication required.")
    assert "needs a password" in refusal("HELLO must be called with the client already authenticated, otherwise…")
    assert "wrong password" in refusal("invalid username-password pair or user is disabled.")
    assert refusal("") == "refused: access denied"


def test_a_url_the_client_cannot_take_is_refused_at_once_without_its_password():
    for make in (BrokerPublisher, BrokerDirectory):
        with pytest.raises(ValueError) as refused:
            make("redis://:sekrit@broker:notaport/0")
        assert "not a usable broker URL: redis://broker:notaport/0" in str(refused.value)
        assert "sekrit" not in str(refused.value)


def test_serve_refuses_an_unusable_broker_url_as_a_usage_error(tmp_path):
    for argv in (
        ["serve", "redis://:sekrit@127.0.0.1:notaport/0"],
        ["serve", str(tmp_path), "--publish", "redis://:sekrit@h:x/0"],
    ):
        (tmp_path / ".buildrunner").mkdir(exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "buildrunner_gui", *argv, "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "BUILDRUNNER_HOME": str(tmp_path / "home")},
        )
        assert done.returncode == 2, done.stderr
        assert (
            done.stderr.startswith("buildrunner-gui: not a usable broker URL: redis://") and "sekrit" not in done.stderr
        )
        assert len(done.stderr.strip().splitlines()) == 1
