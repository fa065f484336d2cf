"""A child's output bytes as lines (sans-I/O): split on newlines, invalid UTF-8 replaced, long lines cut.

Memory is bounded: a line longer than `MAX_LINE_BYTES` is handed out cut (with `CUT_MARKER`) as soon as it is
that long, and the rest of it, up to its newline, is dropped as it comes. A partial line (no newline yet) is
handed out by `flush()`; the caller does that once it has waited long enough (100 ms in the runner).
"""

from __future__ import annotations

MAX_LINE_BYTES = 64 * 1024
CUT_MARKER = " … [line cut at 64 KiB]"


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _complete_utf8(data: bytearray) -> int:
    """How many leading bytes of `data` hold no UTF-8 sequence cut at its end (a partial flush keeps the rest)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= need else len(data) - back
    return len(data)


class LineSplitter:
    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_line_bytes
        self._buffer = bytearray()
        self._dropping = False  # inside a line that was already handed out cut: drop up to its newline
        self.peak_buffer = 0  # the most bytes ever held (for tests: memory stays bounded)

    @property
    def pending(self) -> bool:
        """A partial line is waiting for its newline (or for `flush()`)."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[str]:
        """The complete lines in `data` (after what came before), without their newlines."""
        lines: list[str] = []
        start = 0
        size = len(data)
        while start < size:
            end = data.find(b"\n", start)
            piece = data[start:] if end < 0 else data[start:end]
            start = size if end < 0 else end + 1
            if self._dropping:
                if end >= 0:
                    self._dropping = False
                continue
            room = self._max - len(self._buffer)
            if len(piece) > room:  # too long: hand it out cut now and drop the rest of the line
                self._buffer += piece[:room]
                lines.append(_decode(self._buffer) + CUT_MARKER)
                self._buffer.clear()
                self._dropping = end < 0
                continue
            if end < 0:
                self._buffer += piece
                self.peak_buffer = max(self.peak_buffer, len(self._buffer))
                continue
            if self._buffer:
                self._buffer += piece
                lines.append(_decode(self._buffer))
                self._buffer.clear()
            else:
                lines.append(_decode(piece))
        return lines

    def flush(self) -> str | None:
        """The partial line waiting, if any (a UTF-8 sequence cut at its end waits for the rest)."""
        if not self._buffer:
            return None
        keep = _complete_utf8(self._buffer)
        if keep == 0:
            return None
        line = _decode(self._buffer[:keep])
        del self._buffer[:keep]
        return line

    def close(self) -> str | None:
        """At the end of the stream: whatever is left, as it is."""
        if not self._buffer:
            return None
        line = _decode(self._buffer)
        self._buffer.clear()
        return line
