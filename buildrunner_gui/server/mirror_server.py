"""The mirror server: WebSocket stream and the few HTTP routes on one port (protocol.md).

Runs on the caller's asyncio loop (the Qt loop through qasync in the app). Sessions are added as sources
(`sources/source.py`: a local project or a mirrored one); the server subscribes to each source's batches
and reads everything else from the source's store, on the same thread, without any lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Iterable
from functools import partial
from importlib import resources
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .. import __version__
from ..model.messages import PROTOCOL_VERSION, Message
from ..model.snapshot_frame import MAX_STATUS_BYTES
from ..model.store import SessionStore
from .access import AccessPolicy
from .channel import ClientChannel, encode
from .client_input import BadInput, Ping, RequestStatus, Resume, Subscribe, read_client_message
from .send_pacer import SendPacer

log = logging.getLogger(__name__)

STREAM_PREFIX = "/api/build/stream/"
STATUS_PREFIX = "/api/build/status/"
MAX_MESSAGE_BYTES = 64 * 1024
RATE_LIMIT = 100  # client messages per second
PING_SECONDS = 20.0
STALL_CHECK_SECONDS = 1.0


class SessionSource(Protocol):
    """What the server needs of a source (`sources/source.py`): its store and its batches."""

    store: SessionStore

    @property
    def batches(self) -> Any: ...

    @property
    def session_id(self) -> str: ...


class MirrorServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        allowed_origins: Iterable[str] = (),
        max_clients: int = 200,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.max_clients = max_clients
        self.access = AccessPolicy.for_bind(host, token, allowed_origins)
        self.sessions: dict[str, SessionSource] = {}
        self._forwarders: dict[str, Any] = {}
        self._pacer = SendPacer()  # one for all clients: together they never hold the loop for long
        self._channels: dict[str, set[ClientChannel]] = {}
        self._server: Server | None = None
        self._client_numbers = itertools.count(1)
        self._housekeeping: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()  # fire-and-forget closes, referenced until done
        self._page = resources.files(__package__).joinpath("static/index.html").read_bytes()

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self.access.port

    @property
    def token(self) -> str | None:
        return self.access.token

    def url_for(self, session_id: str) -> str:
        return f"ws://{self._shown_host()}:{self.port}{STREAM_PREFIX}{session_id}"

    def page_url(self) -> str:
        query = f"?token={self.token}" if self.token else ""
        return f"http://{self._shown_host()}:{self.port}/{query}"

    def _shown_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def start(self) -> None:
        """Create the listening socket (call from a running coroutine, never from a constructor)."""
        self._server = await serve(
            self._handle,
            self.host,
            self.requested_port,
            process_request=self._process_request,
            compression=None,
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=PING_SECONDS,
            ping_timeout=PING_SECONDS,
            close_timeout=5,
            max_queue=32,
            server_header=f"buildrunner-gui/{__version__}",
        )
        self.access.port = self._server.sockets[0].getsockname()[1]
        self._housekeeping = asyncio.get_running_loop().create_task(self._close_stalled_clients())

    async def stop(self) -> None:
        """Every client gets close 1001 (going away)."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
            self._server = None
        for channels in self._channels.values():
            for channel in list(channels):
                await channel.stop()

    # ---------------------------------------------------------------- sessions

    def add_session(self, source: SessionSource) -> None:
        """Serve `source` and follow its batches until `remove_session`."""
        self.remove_session(source.session_id)
        self.sessions[source.session_id] = source
        self._channels.setdefault(source.session_id, set())
        forward = partial(self.publish, source.session_id)
        self._forwarders[source.session_id] = forward
        source.batches.connect(forward)

    def remove_session(self, session_id: str) -> None:
        source = self.sessions.pop(session_id, None)
        forward = self._forwarders.pop(session_id, None)
        if source is not None and forward is not None:
            source.batches.disconnect(forward)
        for channel in self._channels.pop(session_id, set()):
            self._spawn(channel.connection.close(1001, "session removed"))

    def client_count(self, session_id: str | None = None) -> int:
        if session_id is not None:
            return len(self._channels.get(session_id, ()))
        return sum(len(channels) for channels in self._channels.values())

    def publish(self, session_id: str, batch: list[Message]) -> None:
        """Hand a batch of a session's events to its clients; each event is encoded once for all of them."""
        channels = self._channels.get(session_id)
        if not channels:
            return
        for message in batch:
            frame = encode(message)
            for channel in channels:
                channel.offer_event(message, frame)

    # ---------------------------------------------------------------- HTTP and handshake

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if getattr(request, "method", "GET") != "GET":  # read-only: nothing here accepts a body
            refused = _text(405, "only GET is served")
            refused.headers["Allow"] = "GET"
            return refused
        refusal = self.access.check(request.path, request.headers)
        if refusal is not None:
            return _text(*refusal)
        path = unquote(urlsplit(request.path).path)
        wants_upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
        if path.startswith(STREAM_PREFIX):
            if path[len(STREAM_PREFIX) :] not in self.sessions:
                return _text(404, "unknown session")
            if not wants_upgrade:
                return _text(426, "this path is a WebSocket endpoint")
            if self.client_count() >= self.max_clients:
                return _text(503, f"too many clients (at most {self.max_clients}); try again later")
            return None
        if path == "/":
            page = _response(200, self._page, "text/html; charset=utf-8")
            page.headers["Content-Security-Policy"] = (
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "connect-src 'self' ws: wss:; img-src data:"
            )
            return page
        if path == "/healthz":
            return _text(200, "ok")
        if path == "/api/build/sessions":
            return _json(200, [self._session_row(sid, source) for sid, source in self.sessions.items()])
        if path.startswith(STATUS_PREFIX):
            source = self.sessions.get(path[len(STATUS_PREFIX) :])
            if source is None:
                return _text(404, "unknown session")
            return _json(200, source.store.snapshot())
        return _text(404, "not found")

    def _session_row(self, session_id: str, source: SessionSource) -> dict[str, Any]:
        store = source.store
        return {
            "session_id": session_id,
            "name": store.project["name"],
            "status": store.status,
            "percent": store.progress["percent"],
            "clients": self.client_count(session_id),
            "live": store.source.get("kind") == "local" or store.source.get("state") == "live",
        }

    # ---------------------------------------------------------------- a WebSocket client

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        session_id = unquote(urlsplit(connection.request.path).path)[len(STREAM_PREFIX) :]
        source = self.sessions.get(session_id)
        if source is None:  # removed between handshake and here
            await connection.close(1001, "session removed")
            return
        client_id = f"c{next(self._client_numbers)}"
        store = source.store
        channel = ClientChannel(connection, client_id, session_id, partial(_status_frame, store), self._pacer)
        self._channels[session_id].add(channel)
        try:
            status_frame = store.status_frame()
            channel.send_control(
                store.control(
                    "connection",
                    status="connected",
                    client_id=client_id,
                    server_version=__version__,
                    protocol_version=PROTOCOL_VERSION,
                    max_frame=max(MAX_STATUS_BYTES, len(status_frame)),
                )
            )
            channel.send_status()
            channel.start()
            await self._serve_client(connection, channel, source)
        except ConnectionClosed:
            pass
        finally:
            self._channels.get(session_id, set()).discard(channel)
            await channel.stop()

    async def _serve_client(self, connection: ServerConnection, channel: ClientChannel, source: SessionSource) -> None:
        recent: deque[float] = deque(maxlen=RATE_LIMIT + 1)
        closing = False
        async for frame in connection:
            if closing:
                continue  # keep reading, so the client's answer to our close frame is seen
            recent.append(time.monotonic())
            if len(recent) > RATE_LIMIT and recent[-1] - recent[0] < 1.0:
                closing = True
                self._spawn(channel.close(1008, f"more than {RATE_LIMIT} messages in one second"))
                continue
            self._answer(read_client_message(frame), channel, source)

    def _answer(self, request: Any, channel: ClientChannel, source: SessionSource) -> None:
        store = source.store
        if isinstance(request, Ping):
            channel.send_control(store.control("pong"))
        elif isinstance(request, RequestStatus):
            channel.send_status()
        elif isinstance(request, Subscribe):
            channel.topics = request.topics
            channel.send_control(store.control("subscribed", topics=sorted(request.topics)))
        elif isinstance(request, Resume):
            events = store.events_after(request.epoch, request.last_seq)
            if events is None:
                channel.send_status()
            else:
                channel.restart_from(events, store.seq)
        elif isinstance(request, BadInput):
            error = {"error_message": request.message, "error_type": request.error_type}
            channel.send_control(store.control("error", **error, file_path=None, traceback=None))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_stalled_clients(self) -> None:
        while True:
            await asyncio.sleep(STALL_CHECK_SECONDS)
            now = time.monotonic()
            for channels in list(self._channels.values()):
                for channel in [c for c in channels if c.stalled(now)]:
                    log.info("closing stalled client %s", channel.client_id)
                    channels.discard(channel)
                    self._spawn(channel.close_stalled())


def _response(status: int, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Connection", "close"),
        ]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


def _text(status: int, text: str) -> Response:
    return _response(status, (text + "\n").encode(), "text/plain; charset=utf-8")


def _json(status: int, value: Any) -> Response:
    return _response(status, json.dumps(value).encode(), "application/json")


def _status_frame(store: SessionStore) -> tuple[str, int]:
    return store.status_frame(), store.seq
