"""Shared helpers for the model tests: every message the engine emits is checked against the protocol models."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from typing import Any

import pytest

from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.messages import SERVER_MESSAGE, SNAPSHOT, Snapshot

SNAPSHOT_KEYS = Snapshot.__required_keys__  # protocol.md's snapshot, as `model.messages` defines it once


class Protocol:
    """Validation against `model.messages`: the contract of protocol.md."""

    @staticmethod
    def message(message: dict[str, Any]) -> dict[str, Any]:
        SERVER_MESSAGE.validate_python(message)
        for key in ("type", "session_id", "epoch", "seq", "timestamp"):
            assert key in message, f"{message.get('type')} lacks common field {key}"
        assert message["timestamp"].endswith("Z"), message["timestamp"]
        json.dumps(message)
        return message

    def messages(self, messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.message(message) for message in messages]

    @staticmethod
    def snapshot(state: dict[str, Any]) -> dict[str, Any]:
        SNAPSHOT.validate_python(state)
        missing = SNAPSHOT_KEYS - state.keys()
        assert not missing, f"snapshot lacks {sorted(missing)}"
        json.dumps(state)
        return state


class CheckedEngine:
    """A SessionEngine whose every emitted message is validated, and whose seq numbers are checked to be
    consecutive. `engine` is the real engine: tests may call anything on it directly."""

    def __init__(self, engine: SessionEngine, protocol: Protocol) -> None:
        self.engine = engine
        self.protocol = protocol
        self.emitted: list[dict[str, Any]] = []

    def apply(self, inputs: Iterable[Any]) -> list[dict[str, Any]]:
        before = self.engine.seq
        out = self.engine.apply(list(inputs))
        self.protocol.messages(out)
        assert [m["seq"] for m in out] == list(range(before + 1, before + 1 + len(out)))
        assert self.engine.seq == before + len(out)
        for message in out:
            assert message["epoch"] == self.engine.epoch
            assert message["session_id"] == self.engine.session_id
        self.emitted.extend(out)
        return out

    def snapshot(self) -> dict[str, Any]:
        return self.protocol.snapshot(self.engine.snapshot())


class TickClock:
    """A deterministic clock: a new millisecond per call."""

    def __init__(self) -> None:
        self.ticks = 0

    def __call__(self) -> str:
        self.ticks += 1
        seconds, millis = divmod(self.ticks, 1000)
        minutes, seconds = divmod(seconds, 60)
        return f"2026-01-01T00:{minutes % 60:02d}:{seconds:02d}.{millis:03d}Z"


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    return Protocol()


@pytest.fixture
def make_engine(protocol: Protocol):
    def make(session_id: str = "demo", project_name: str = "demo", **kwargs: Any) -> CheckedEngine:
        kwargs.setdefault("clock", TickClock())
        return CheckedEngine(SessionEngine(session_id, project_name, **kwargs), protocol)

    return make


@pytest.fixture
def local_tz_plus3():
    """Local time is UTC+3 (a POSIX TZ string: no tz database needed) for the duration of a test."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "XYZ-03"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
