"""The mirror client's connection to its upstream: a frame limit that follows `max_frame`, and failures in words.

`LimitedConnection` reads incoming frames with a bounded size (2 MiB unless the upstream says more): a frame
over it closes the connection (1009) instead of filling memory. The `connection` message carries `max_frame`, the
largest frame the server may send now; the limit is raised to allow it, so big registries still load.

`describe_failure` turns what ended a connection (or kept it from opening) into the `reason` a `source` shows,
and says whether it is a refusal that retrying cannot fix.
"""

from __future__ import annotations

import errno
import json
import socket
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidMessage, InvalidStatus, InvalidURI
from websockets.frames import Frame, Opcode

from ..model.follow import MalformedFrame

FRAME_LIMIT = 2 * 1024 * 1024  # bytes: the default limit on one incoming frame
GREETING_PEEK = 64 * 1024  # frames larger than this are not the `connection` message
REFUSALS = {401: "refused: token", 403: "refused: origin", 404: "refused: session id"}


@dataclass(frozen=True)
class Failure:
    reason: str
    refused: bool = False  # the server said no: retrying cannot fix it


class LimitedConnection(ClientConnection):
    """A client connection whose frame limit rises to the `connection` message's `max_frame`.

    The server sends `connection` and the `status` together, and websockets parses every frame that has
    arrived before `recv()` hands over the first one; raising the limit after `recv()` would be too late for a
    `status` already rejected. So the limit moves while frames are parsed: as soon as the `connection` frame
    is complete, before the next frame's header is read."""

    def __init__(self, protocol: ClientProtocol, **kwargs: Any) -> None:
        super().__init__(protocol, **kwargs)
        self.frame_limit: int | None = protocol.max_message_size
        self._looking = True  # until the greeting (or a status, which comes after it) is seen
        parse = protocol.recv_frame

        def recv_frame(frame: Frame) -> None:
            parse(frame)
            if self._looking and frame.opcode is Opcode.TEXT and frame.fin and len(frame.data) <= GREETING_PEEK:
                self._look_at(bytes(frame.data))

        protocol.recv_frame = recv_frame  # type: ignore[method-assign]

    def _look_at(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return  # the reader reports it
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "status":
            self._looking = False
        if kind != "connection":
            return
        self._looking = False
        max_frame = message.get("max_frame")
        if isinstance(max_frame, int) and self.frame_limit is not None and max_frame > self.frame_limit:
            # Twice what it may send now: a later `status` of a registry that grows meanwhile still fits.
            self.frame_limit = 2 * max_frame
            self.protocol.max_message_size = self.frame_limit


def describe_failure(exc: BaseException, frame_limit: int | None) -> Failure:
    """What ended the connection, or kept it from opening, as a source's `reason`."""
    if isinstance(exc, InvalidStatus):
        code = exc.response.status_code
        if code in REFUSALS:
            return Failure(REFUSALS[code], refused=True)
        said = exc.response.body.decode("utf-8", "replace").strip().splitlines() if exc.response.body else []
        return Failure(f"HTTP {code}: {said[0][:200]}" if said else f"HTTP {code}")
    if isinstance(exc, MalformedFrame):
        return Failure(f"the server sent {exc}")
    if isinstance(exc, ConnectionClosed):
        return Failure(_closed(exc, frame_limit))
    if isinstance(exc, TimeoutError):  # before OSError: it is one
        return Failure("timed out")
    if isinstance(exc, socket.gaierror):
        return Failure("name not known" if exc.errno in _NO_NAME else f"name lookup failed: {exc.strerror}")
    if isinstance(exc, OSError):
        return Failure(_os_error(exc))
    if isinstance(exc, InvalidMessage) and isinstance(exc.__cause__, EOFError):
        return Failure("the server closed the connection before answering")
    if isinstance(exc, InvalidHandshake | InvalidURI):
        return Failure(f"not a mirror server: {exc}")
    return Failure(f"unexpected error: {exc!r}")


def describe_close(code: int | None, reason: str) -> str:
    """The server closed the connection with a close frame."""
    if reason:
        return f"the server closed the connection: {reason}"
    return {1000: "the server closed the connection", 1001: "the server went away"}.get(
        code or 0, f"the server closed the connection ({code})"
    )


_NO_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
_OS_ERRORS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "timed out",
}


def _os_error(exc: OSError) -> str:
    if exc.errno in _OS_ERRORS:
        return _OS_ERRORS[exc.errno]
    text = str(exc)
    # Several addresses tried (localhost: ::1 and 127.0.0.1): asyncio joins their errors in one message.
    for number, words in _OS_ERRORS.items():
        if f"[Errno {number}]" in text:
            return words
    return text or type(exc).__name__


def _closed(exc: ConnectionClosed, frame_limit: int | None) -> str:
    sent, received = exc.sent, exc.rcvd
    if sent is not None and sent.code == 1009:
        return f"the server sent a frame over {_mib(frame_limit)}"
    if sent is not None and "keepalive" in sent.reason:
        return "no answer to pings: the connection was lost"
    if received is not None:
        return describe_close(received.code, received.reason)
    if sent is not None:
        return f"the connection failed: {sent.reason or sent.code}"
    return "the connection was lost"


def _mib(size: int | None) -> str:
    return "the limit" if size is None else f"{size / (1024 * 1024):g} MiB"
