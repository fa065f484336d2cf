"""The mirror server's port (cli.md): 8765 unless one is given. A taken default falls back to a free port and
says so, for `serve` and the window alike; a port given explicitly and taken is an error.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server.mirror_server import MirrorServer

DEFAULT_PORT = 8765
# Replaces the default port, so a test can hold "the default" on a port of its own, not the real 8765.
DEFAULT_PORT_VARIABLE = "BUILDRUNNER_DEFAULT_PORT"
_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


class PortInUseError(OSError):
    """The port asked for is taken; `strerror` is one readable line."""


def default_port() -> int:
    value = os.environ.get(DEFAULT_PORT_VARIABLE, "").strip()
    if value.isdigit() and 0 < int(value) <= 65535:
        return int(value)
    return DEFAULT_PORT


def is_address_in_use(exc: OSError) -> bool:
    # asyncio reports a failed bind with the errno of the last address tried, and the words in the text
    return exc.errno in _IN_USE or "address already in use" in str(exc).lower()


async def start_server(server: MirrorServer, fallback: bool) -> str:
    """Start `server` on its requested port; when that port is taken and `fallback` allows, on a free one.
    Returns what to tell the user ("" when the port asked for was bound)."""
    wanted = server.requested_port
    try:
        await server.start()
        return ""
    except OSError as exc:
        if not is_address_in_use(exc):
            raise
        if not fallback:
            raise PortInUseError(errno.EADDRINUSE, f"port {wanted} on {server.host} is already in use") from exc
    server.requested_port = 0  # the OS picks a free one
    await server.start()
    return f"port {wanted} was taken; serving on {server.port}"
