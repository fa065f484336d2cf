"""Reading what a mirror client sends (protocol.md, "Client -> server messages") and its bad-input table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..model.messages import TOPIC_ALIASES, TOPICS


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Subscribe:
    topics: frozenset[str]


@dataclass(frozen=True)
class RequestStatus:
    pass


@dataclass(frozen=True)
class Resume:
    epoch: str
    last_seq: int


@dataclass(frozen=True)
class BadInput:
    error_type: str
    message: str


ClientRequest = Ping | Subscribe | RequestStatus | Resume | BadInput


def read_client_message(frame: str | bytes) -> ClientRequest:
    if isinstance(frame, bytes):
        return BadInput("unsupported_frame", "binary frames are not supported; send JSON text")
    try:
        value: Any = json.loads(frame)
    except (ValueError, RecursionError):
        return BadInput("invalid_json", "message is not valid JSON")
    if not isinstance(value, dict):
        return BadInput("unknown_message", "message must be a JSON object with a 'type'")
    kind = value.get("type")
    if kind == "ping":
        return Ping()
    if kind == "request_status":
        return RequestStatus()
    if kind == "subscribe":
        return _subscribe(value.get("topics"))
    if kind == "resume":
        epoch, last_seq = value.get("epoch"), value.get("last_seq")
        if not isinstance(epoch, str) or not isinstance(last_seq, int) or isinstance(last_seq, bool):
            return Resume("", -1)  # unusable position: answered with a fresh status
        return Resume(epoch, last_seq)
    shown = kind if isinstance(kind, str) else json.dumps(kind)
    return BadInput("unknown_message", f"unknown message type {shown[:60]}")


def _subscribe(topics: Any) -> ClientRequest:
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        return BadInput("invalid_topic", "topics must be a list of topic names")
    chosen: set[str] = set()
    for topic in topics:
        if topic == "all":
            chosen |= TOPICS
        elif topic in TOPICS or topic in TOPIC_ALIASES:
            chosen.add(TOPIC_ALIASES.get(topic) or topic)
        else:
            known = ", ".join(sorted([*TOPICS, *TOPIC_ALIASES, "all"]))
            return BadInput("invalid_topic", f"unknown topic {topic[:60]!r}; known topics: {known}")
    return Subscribe(frozenset(chosen))
