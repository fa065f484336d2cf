"""How many bytes a socket's kernel send queue still holds (sent by us, not yet taken by the peer)."""

from __future__ import annotations

import struct
import sys

try:
    import fcntl
    from termios import TIOCOUTQ  # Linux: SIOCOUTQ, the unsent plus unacknowledged bytes
except ImportError:  # elsewhere the kernel queue is not counted: the transport's own buffer still is
    TIOCOUTQ = None


def kernel_unsent(fileno: int) -> int:
    """Bytes queued in the kernel for this socket; 0 where the platform cannot tell or the socket is gone."""
    if TIOCOUTQ is None or not sys.platform.startswith("linux") or fileno < 0:
        return 0
    try:
        answer = fcntl.ioctl(fileno, TIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    count: int = struct.unpack("i", answer)[0]
    return count
