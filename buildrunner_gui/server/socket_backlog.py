"""How many bytes a socket's kernel send queue still holds (sent by us, not yet taken by the peer)."""

from __future__ import annotations

import struct
import sys

try:
    import fcntl
    import termios

    OUTQ: int | None = termios.TIOCOUTQ  # Linux: SIOCOUTQ, the unsent plus unacknowledged bytes
except (ImportError, AttributeError):  # elsewhere the kernel queue is not counted: the transport's buffer still is
    OUTQ = None


def kernel_unsent(fileno: int) -> int:
    """Bytes queued in the kernel for this socket; 0 where the platform cannot tell or the socket is gone."""
    if OUTQ is None or not sys.platform.startswith("linux") or fileno < 0:
        return 0
    try:
        answer = fcntl.ioctl(fileno, OUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    count: int = struct.unpack("i", answer)[0]
    return count
