"""The mirror server's sockets: WebSocket stream and HTTP routes, on the server's own thread (`loop_thread.py`).

Everything here runs on that thread's loop. Sessions are `ServedSession`s fed by the owner (the thread that owns
the session stores: the GUI thread in the window) through this thread's mailbox; what only the stores know (a
`status` frame, a snapshot, the session list) is asked of the owner through its mailbox, never read here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from .. import __version__
from ..model.messages import Message
from . import cctray, cors, metrics
from . import http_replies as reply
from .access import AccessPolicy
from .br3_dialect import V1_SUBPROTOCOL
from .channel import ClientChannel
from .client_input import BadInput, Ping, RequestStatus, Resume, Subscribe, read_client_message
from .control import ControlAnswer, ControlLimiter, bearer_matches, control_route
from .feed_state import SessionFeed
from .mailbox import Mailbox
from .request_bodies import BodyRefusingConnection
from .served_session import ServedSession

log = logging.getLogger(__name__)

STREAM_PREFIX = "/api/build/stream/"
STATUS_PREFIX = "/api/build/status/"
MAX_MESSAGE_BYTES = 64 * 1024
RATE_LIMIT = 100  # client messages per second
PING_SECONDS = 20.0
STALL_CHECK_SECONDS = 1.0
LATE_LOOP_SECONDS = 0.25  # housekeeping this late means this thread was held up: input read since came in bunches

T = TypeVar("T")


class OwnerReads(Protocol):
    """What the server asks of the stores' owner; each runs on the owner's thread."""

    def status_frames(self, session_id: str, dialect: str) -> tuple[list[str], int] | None: ...

    def snapshot_body(self, session_id: str, dialect: str) -> bytes | None: ...

    def session_rows(self) -> list[dict[str, Any]]: ...

    def control(self, action: str, session_id: str) -> ControlAnswer: ...

    def feeds(self) -> list[SessionFeed]: ...


class StreamServer:
    def __init__(
        self,
        access: AccessPolicy,
        host: str,
        port: int,
        max_clients: int,
        page: bytes,
        reads: OwnerReads,
        to_owner: Mailbox,
        to_self: Mailbox,
        dialect: str = "v1",
        control_token: str | None = None,
    ) -> None:
        self.access = access
        self.control_token = control_token  # None: remote control is off, its paths answer 404
        self.control_limiter = ControlLimiter()
        self.dialect = dialect  # what clients that do not ask for v1 get (protocol.md, Dialects)
        self.host = host
        self.requested_port = port
        self.max_clients = max_clients
        self.sessions: dict[str, ServedSession] = {}
        self.clients = 0  # read from the owner's thread too (an int: always whole)
        self.clients_of: dict[str, int] = {}  # by session; the owner only ever reads single entries
        self._page = page
        self._reads = reads
        self._to_owner = to_owner
        self._to_self = to_self
        self._server: Server | None = None
        self._client_numbers = itertools.count(1)
        self._housekeeping: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()  # fire-and-forget closes, referenced until done
        # While this loop is (or was just) held up, the rate limit does not close: what clients sent meanwhile
        # is read in one go and would look like more than RATE_LIMIT messages in a second.
        self._housekeeping_due = float("inf")  # when the housekeeping should next run (monotonic)
        self._rate_forgiven_until = 0.0
        # Counted for /metrics: refusals by HTTP status, clients closed for lag, and what clients now gone got.
        self._metrics = metrics.MetricsFeed()
        self.refused: Counter[int] = Counter()
        self.slow_closed = 0
        self._gone_sent = self._gone_lags = 0

    # ---------------------------------------------------------------- lifecycle (this thread)

    async def start(self) -> int:
        """Listen; returns the bound port (OSError when the address cannot be bound)."""
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
            create_connection=BodyRefusingConnection,
            select_subprotocol=_v1_if_asked,
        )
        port: int = self._server.sockets[0].getsockname()[1]
        self._housekeeping = asyncio.get_running_loop().create_task(self._close_stalled_clients())
        return port

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
        for served in self.sessions.values():
            for channel in list(served.channels):
                await channel.stop()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # ---------------------------------------------------------------- sessions (posted by the owner, in order)

    def add_session(self, session_id: str, epoch: str, seq: int) -> None:
        self.remove_session(session_id)
        self.sessions[session_id] = ServedSession(session_id, epoch, seq, self._ask_status)
        self.clients_of[session_id] = 0

    def remove_session(self, session_id: str) -> None:
        served = self.sessions.pop(session_id, None)
        if served is None:
            return
        for channel in served.channels:
            self._spawn(channel.close(1001, "session removed"))

    def publish(self, session_id: str, batch: list[Message]) -> None:
        served = self.sessions.get(session_id)
        if served is not None:
            served.publish(batch)

    def _ask_status(self, session_id: str, dialect: str) -> None:
        self._to_owner.post(self._status_on_owner, session_id, dialect)

    def _status_on_owner(self, session_id: str, dialect: str) -> None:  # the owner's thread
        found = self._reads.status_frames(session_id, dialect)
        if found is not None:
            self._to_self.post(self._status_ready, session_id, dialect, *found)

    def _status_ready(self, session_id: str, dialect: str, frames: list[str], seq: int) -> None:
        served = self.sessions.get(session_id)
        if served is not None:
            served.status_ready(dialect, frames, seq)

    async def _on_owner(self, read: Callable[[], T]) -> T:
        """The result of `read()`, run on the owner's thread."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        def run() -> None:  # the owner's thread
            try:
                self._to_self.post(settle, read(), None)
            except Exception as exc:
                self._to_self.post(settle, None, exc)

        self._to_owner.post(run)
        return await future

    # ---------------------------------------------------------------- HTTP and handshake

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        answer = await self._route(connection, request)
        if answer is not None and answer.status_code >= 400:
            self.refused[answer.status_code] += 1
        return answer

    async def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        method = getattr(request, "method", "GET")
        route = control_route(unquote(urlsplit(request.path).path))
        if route is not None:
            return await self._answer_control(connection, request, method, *route)
        if method == "OPTIONS":
            return self._preflight(request)
        if method != "GET":  # read-only: nothing here accepts a body
            return reply.method_not_allowed()
        answer = await self._answer_get(connection, request)
        if answer is not None and answer.status_code < 400:  # every check passed: the headers are single-valued
            origin = request.headers.get("Origin")
            if origin is not None:
                cors.allow(answer, origin)  # an allowed origin: a page there may read the answer
        return answer

    def _preflight(self, request: Request) -> Response:
        """CORS preflight (protocol.md, Access): 204 for an allowed origin, else 403; no token is asked."""
        refusal = self.access.check(request.path, request.headers, None, need_token=False)
        origin = request.headers.get("Origin")
        if refusal is not None or origin is None:
            return reply.text(*(refusal or (403, "a preflight needs an Origin")))
        return cors.preflight(origin)

    async def _answer_get(self, connection: ServerConnection, request: Request) -> Response | None:
        address = connection.remote_address
        penalty = self.access.penalty_seconds(address)
        if penalty > 0:  # repeated wrong tokens from this client: it waits (its connection only) before any answer
            await asyncio.sleep(penalty)
        refusal = self.access.check(request.path, request.headers, address)
        if refusal is not None:
            refused = reply.text(*refusal)
            if refusal[0] == 429:
                refused.headers["Retry-After"] = str(max(1, round(self.access.penalty_seconds(address))))
            if refusal[0] == 401:  # RFC 9110; feed readers (CCTray clients) ask for their token on it
                refused.headers["WWW-Authenticate"] = 'Bearer realm="buildrunner"'
            return refused
        path = unquote(urlsplit(request.path).path)
        if path.startswith(STREAM_PREFIX):
            if path[len(STREAM_PREFIX) :] not in self.sessions:
                return reply.text(404, "unknown session")
            if "websocket" not in request.headers.get("Upgrade", "").lower():
                return reply.text(426, "this path is a WebSocket endpoint")
            if self.clients >= self.max_clients:
                return reply.text(503, f"too many clients (at most {self.max_clients}); try again later")
            return None
        if path == "/":
            return reply.page(self._page)
        if path == "/healthz":
            return reply.text(200, "ok")
        if path == "/api/build/sessions":
            rows = await self._on_owner(self._reads.session_rows)
            for row in rows:
                row["clients"] = self.clients_of.get(row["session_id"], 0)
            return reply.json_reply(200, rows)
        if path in (cctray.PATH, metrics.PATH):
            return await self._answer_feed(path, request)
        if path.startswith(STATUS_PREFIX):
            session_id = path[len(STATUS_PREFIX) :]
            dialect = "v1" if parse_qs(urlsplit(request.path).query).get("v") == ["1"] else self.dialect
            body = await self._on_owner(lambda: self._reads.snapshot_body(session_id, dialect))
            return reply.text(404, "unknown session") if body is None else reply.encoded_json(200, body)
        return reply.text(404, "not found")

    async def _answer_feed(self, path: str, request: Request) -> Response:
        """`/cctray.xml` or `/metrics` (protocol.md, "Feeds for other tools"): the sessions as the stores have
        them (read on the owner's thread), with this thread's own figures."""
        feeds = await self._on_owner(self._reads.feeds)
        if path == cctray.PATH:
            page = f"http://{request.headers.get('Host')}/"  # as the client reached us (the access check vetted it)
            return reply.response(200, cctray.document(feeds, page), cctray.CONTENT_TYPE)
        body, content_type = self._metrics.render(feeds, self.figures(), request.headers.get("Accept"))
        return reply.response(200, body, content_type)

    def figures(self) -> metrics.ServerFigures:
        channels = [channel for served in self.sessions.values() for channel in served.channels]
        return metrics.ServerFigures(
            clients=self.clients,
            clients_of=dict(self.clients_of),
            messages_sent=self._gone_sent + sum(channel.frames_sent for channel in channels),
            lag_episodes=self._gone_lags + sum(channel.lag_episodes for channel in channels),
            slow_closed=self.slow_closed,
            refused=dict(self.refused),
            replay_events={session_id: len(served.replay) for session_id, served in self.sessions.items()},
            replay_bytes={session_id: served.replay.byte_size for session_id, served in self.sessions.items()},
        )

    async def _answer_control(
        self, connection: ServerConnection, request: Request, method: str, action: str, session_id: str
    ) -> Response:
        """A build action (protocol.md, "Build runs and remote control"); the action runs on the owner's thread."""
        if self.control_token is None:
            return reply.text(404, "not found")
        allowed, wait = self.control_limiter.allow(connection.remote_address)
        if not allowed:
            refused = reply.text(429, "too many control requests from this address; try again later")
            refused.headers["Retry-After"] = str(max(1, round(wait)))
            return refused
        if method == "OPTIONS":
            preflight = self._preflight(request)
            if preflight.status_code == 204:
                preflight.headers["Access-Control-Allow-Methods"] = "POST"
            return preflight
        if method != "POST":
            refused = reply.text(405, "only POST is served here")
            refused.headers["Allow"] = "POST"
            return refused
        refusal = self.access.check(request.path, request.headers, connection.remote_address, need_token=False)
        if refusal is not None:
            return reply.text(*refusal)
        if not bearer_matches(request.headers, self.control_token):
            return reply.text(401, "the control token is required (Authorization: Bearer TOKEN)")
        if session_id not in self.sessions:
            return reply.text(404, "unknown session")
        answer: ControlAnswer = await self._on_owner(lambda: self._reads.control(action, session_id))
        if answer is None:
            return reply.text(404, "unknown session (or one that cannot run builds)")
        if isinstance(answer, str):
            return reply.text(409, answer)
        accepted = reply.json_reply(202, answer)  # the run_update the action produced
        origin = request.headers.get("Origin")
        if origin is not None:
            cors.allow(accepted, origin)
        return accepted

    # ---------------------------------------------------------------- a WebSocket client

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        session_id = unquote(urlsplit(connection.request.path).path)[len(STREAM_PREFIX) :]
        served = self.sessions.get(session_id)
        if served is None:  # removed between handshake and here
            await connection.close(1001, "session removed")
            return
        dialect = "v1" if connection.subprotocol == V1_SUBPROTOCOL else self.dialect
        channel = ClientChannel(connection, f"c{next(self._client_numbers)}", session_id, served.want_status, dialect)
        self._joined(served, channel)
        try:
            channel.request_status()  # `connection` then `status` go out together once the frame is here
            channel.start()
            await self._serve_client(connection, channel, served)
        except ConnectionClosed:
            pass
        finally:
            self._left(served, channel)
            await channel.stop()

    def _joined(self, served: ServedSession, channel: ClientChannel) -> None:
        served.channels.add(channel)
        self.clients += 1
        self.clients_of[served.session_id] = len(served.channels)

    def _left(self, served: ServedSession, channel: ClientChannel) -> None:
        if channel in served.channels:
            served.channels.discard(channel)
            self.clients -= 1
            self._gone_sent += channel.frames_sent
            self._gone_lags += channel.lag_episodes
        if self.sessions.get(served.session_id) is served:
            self.clients_of[served.session_id] = len(served.channels)

    async def _serve_client(self, connection: ServerConnection, channel: ClientChannel, served: ServedSession) -> None:
        recent: deque[float] = deque(maxlen=RATE_LIMIT + 1)
        closing = False
        async for frame in connection:
            if closing:
                continue  # keep reading, so the client's answer to our close frame is seen
            recent.append(time.monotonic())
            if len(recent) > RATE_LIMIT and recent[-1] - recent[0] < 1.0:
                if not self._held_up(recent[-1]):
                    closing = True
                    self._spawn(channel.close(1008, f"more than {RATE_LIMIT} messages in one second"))
                    continue
                recent.clear()  # a bunch from this loop's own delay, not the client's rate
            self._answer(read_client_message(frame), channel, served)

    def _held_up(self, now: float) -> bool:
        """This loop is late for its housekeeping, or was a moment ago: input read now came in a bunch."""
        return now < self._rate_forgiven_until or now - self._housekeeping_due > LATE_LOOP_SECONDS

    def _answer(self, request: Any, channel: ClientChannel, served: ServedSession) -> None:
        if isinstance(request, Ping):
            channel.send_answer(served.control("pong"))
        elif isinstance(request, RequestStatus):
            channel.request_status()
        elif isinstance(request, Subscribe):
            channel.topics = request.topics
            channel.send_answer(served.control("subscribed", topics=sorted(request.topics)))
        elif isinstance(request, Resume):
            served.resume(channel, request.epoch, request.last_seq)
        elif isinstance(request, BadInput):
            error = {"error_message": request.message, "error_type": request.error_type}
            if channel.dialect == "br3":
                error["message"] = request.message  # v1 error answers, with what BuildRunner's client reads
            channel.send_answer(served.control("error", **error, file_path=None, traceback=None))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_stalled_clients(self) -> None:
        while True:
            self._housekeeping_due = time.monotonic() + STALL_CHECK_SECONDS
            await asyncio.sleep(STALL_CHECK_SECONDS)
            now = time.monotonic()
            if now - self._housekeeping_due > LATE_LOOP_SECONDS:
                log.info("server loop held up %.1f s: the rate limit waits a second", now - self._housekeeping_due)
                self._rate_forgiven_until = now + 1.0  # the rest of what waited is still being read
            for served in list(self.sessions.values()):
                for channel in [c for c in served.channels if c.stalled(now)]:
                    log.info("closing stalled client %s", channel.client_id)
                    self.slow_closed += 1
                    self._left(served, channel)
                    self._spawn(channel.close_stalled())


def _v1_if_asked(_connection: ServerConnection, offered: Sequence[str]) -> Subprotocol | None:
    """`buildrunner.v1` when a client asks for it (it then gets v1, whatever the dialect); any other client,
    with or without subprotocols of its own, is served in the server's dialect."""
    return Subprotocol(V1_SUBPROTOCOL) if V1_SUBPROTOCOL in offered else None
