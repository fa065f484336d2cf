"""The encoded `status` frame: built once per seq and shared by every client, within protocol.md's 1 MiB.

Over the limit, the terminal tail is cut to its newest 256 KiB, then documents' `content` is left out
(`content: null`, `truncated: true`), largest first, until the frame fits. Only items can make it larger.

The frame is assembled from pieces: every element of the snapshot's lists (items, lines, rows, documents) is
encoded once and kept while the store holds that same object (the store replaces an element when it changes,
never edits it), so a new seq costs the encoding of what changed and one join, not the whole state again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

MAX_STATUS_BYTES = 1024 * 1024
TERMINAL_TAIL_BYTES = 256 * 1024


def encode(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))  # ASCII: lone surrogates from files stay encodable


class _Pieces:
    """Encodings of list elements, by identity; an entry holds its object, so its id cannot be reused."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[Any, str]] = {}

    def encode_all(self, values: Sequence[Any]) -> list[str]:
        kept, fresh, out = self._kept, {}, []
        for value in values:
            entry = kept.get(id(value))
            if entry is None or entry[0] is not value:
                entry = (value, encode(value))
            fresh[id(value)] = entry
            out.append(entry[1])
        self._kept = fresh
        return out


class StatusFrame:
    def __init__(self) -> None:
        self._seq = -1
        self._frame = ""
        self._pieces: dict[str, _Pieces] = {}

    def encoded(self, seq: int, build: Callable[[], dict[str, Any]]) -> str:
        if seq != self._seq:
            self._frame = self._assemble(build())
            self._seq = seq
        return self._frame

    def forget(self) -> None:
        self._seq = -1

    def _assemble(self, message: dict[str, Any]) -> str:
        state = message["state"]
        parts: dict[str, Any] = {}
        for key, value in state.items():
            if isinstance(value, list):
                parts[key] = self._pieces.setdefault(key, _Pieces()).encode_all(value)
            else:
                parts[key] = encode(value)
        head = encode({key: value for key, value in message.items() if key != "state"})
        frame = _join(head, parts)
        if len(frame) <= MAX_STATUS_BYTES:
            return frame
        parts["terminal"] = _newest(parts["terminal"], TERMINAL_TAIL_BYTES)
        frame = _join(head, parts)
        excess = len(frame) - MAX_STATUS_BYTES
        documents: list[str] = list(parts["documents"])
        by_size = sorted(range(len(documents)), key=lambda i: len(documents[i]), reverse=True)
        for i in by_size:
            if excess <= 0:
                break
            doc = state["documents"][i]
            if doc["content"] is None:
                continue
            without = encode({**doc, "content": None, "truncated": True})
            excess -= len(documents[i]) - len(without)
            documents[i] = without
        parts["documents"] = documents
        return _join(head, parts)


def _newest(lines: list[str], budget: int) -> list[str]:
    """The newest encoded lines whose list fits in `budget` bytes."""
    size, first = 2, len(lines)
    while first > 0 and size + len(lines[first - 1]) + 1 <= budget:
        first -= 1
        size += len(lines[first]) + 1
    return lines[first:]


def _join(head: str, parts: dict[str, Any]) -> str:
    fields = [
        f'"{key}":[{",".join(value)}]' if isinstance(value, list) else f'"{key}":{value}'
        for key, value in parts.items()
    ]
    return head[:-1] + ',"state":{' + ",".join(fields) + "}}"


def fitted_status(message: dict[str, Any]) -> str:
    """One `status` frame within the limit (no reuse between calls)."""
    return StatusFrame()._assemble(message)
