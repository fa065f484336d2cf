"""SIGINT/SIGTERM on a Qt-driven asyncio loop: Python only runs signal handlers when it gets control, and the
Qt loop may sit in C++ for long, so a wakeup socket makes the loop notice a signal at once."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable


def stop_on_signals(callback: Callable[[], None]) -> Callable[[], None]:
    """SIGINT/SIGTERM -> callback on the loop. A wakeup socket makes the Qt loop notice the signal at once."""
    loop = asyncio.get_running_loop()
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno())
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_wakeup() -> None:
        try:
            data = reader.recv(64)
        except BlockingIOError:
            return
        if any(byte in (signal.SIGINT, signal.SIGTERM) for byte in data):
            callback()

    loop.add_reader(reader.fileno(), on_wakeup)

    def restore() -> None:
        loop.remove_reader(reader.fileno())
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reader.close()
        writer.close()

    return restore
