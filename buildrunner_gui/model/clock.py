"""Timestamps as the protocol writes them: ISO-8601, UTC, milliseconds, `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now_iso() -> str:
    return iso(datetime.now(UTC))


def iso_from_epoch(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))
