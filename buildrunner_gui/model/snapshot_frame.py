"""The encoded `status` frame: built once per seq and shared by every client, within protocol.md's 1 MiB.

Over the limit, the terminal tail is cut to its newest 256 KiB, then documents' `content` is left out
(`content: null`, `truncated: true`), largest first, until the frame fits. Only items can make it larger.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

MAX_STATUS_BYTES = 1024 * 1024
TERMINAL_TAIL_BYTES = 256 * 1024


def encode(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))  # ASCII: lone surrogates from files stay encodable


class StatusFrame:
    def __init__(self) -> None:
        self._seq = -1
        self._frame = ""

    def encoded(self, seq: int, build: Callable[[], dict[str, Any]]) -> str:
        if seq != self._seq:
            self._frame = fitted_status(build())
            self._seq = seq
        return self._frame

    def forget(self) -> None:
        self._seq = -1


def fitted_status(message: dict[str, Any]) -> str:
    frame = encode(message)
    excess = len(frame) - MAX_STATUS_BYTES
    if excess <= 0:
        return frame
    state = dict(message["state"])
    terminal = state["terminal"]
    kept, size = 0, 0
    for line in reversed(terminal):
        size += len(encode(line)) + 1
        if size > TERMINAL_TAIL_BYTES:
            break
        kept += 1
    dropped_lines = terminal[: len(terminal) - kept]
    excess -= sum(len(encode(line)) + 1 for line in dropped_lines)
    state["terminal"] = terminal[len(terminal) - kept :]
    documents = list(state["documents"])
    by_size = sorted(
        (i for i, doc in enumerate(documents) if doc["content"]),
        key=lambda i: len(documents[i]["content"]),
        reverse=True,
    )
    for i in by_size:
        if excess <= 0:
            break
        doc = documents[i]
        excess -= len(encode(doc["content"])) - len("null")
        documents[i] = {**doc, "content": None, "truncated": True}
    state["documents"] = documents
    return encode({**message, "state": state})
