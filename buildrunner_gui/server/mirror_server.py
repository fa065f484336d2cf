"""The mirror server as its owner sees it: WebSocket stream and HTTP routes on one port (protocol.md).

The owner is the thread whose asyncio loop created it and that owns the session stores (the GUI thread with
qasync in the app, the main thread in `serve`). The sockets run on a thread of their own (`stream_server.py`
on `loop_thread.py`), so handshakes and sends never stall the window. Sessions are added as sources
(`sources/source.py`: a local project or a mirrored one): the owner forwards each batch of a source's events
to the server's thread, and answers its questions (a `status` frame, a snapshot, the session list) from the
stores, on the owner's thread, with no lock anywhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import Any, Protocol

from ..model.messages import Message
from ..model.snapshot_frame import encode
from ..model.store import SessionStore
from . import br3_dialect
from .access import AccessPolicy
from .br3_dialect import DIALECTS
from .control import ControlAnswer, Controller, check_control_token
from .feed_state import SessionFeed, is_live, session_feed
from .loop_thread import LoopThread
from .mailbox import Mailbox
from .stream_server import STREAM_PREFIX, StreamServer


class SessionSource(Protocol):
    """What the server needs of a source (`sources/source.py`): its store and its batches."""

    store: SessionStore

    @property
    def batches(self) -> Any: ...

    @property
    def session_id(self) -> str: ...


class MirrorServer:
    core_class: type[StreamServer] = StreamServer  # what runs on the server's thread (benchmarks swap it)

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        allowed_origins: Iterable[str] = (),
        max_clients: int = 200,
        dialect: str = "v1",
        control_token: str | None = None,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r} (expected one of {', '.join(DIALECTS)})")
        self.dialect = dialect
        self.host = host
        self.requested_port = port
        self.max_clients = max_clients
        self.access = AccessPolicy.for_bind(host, token, allowed_origins)
        if control_token is not None:
            check_control_token(control_token, self.access.token)
        self.control_token = control_token
        self.controller: Controller | None = None  # set by the owner: runs a build action (owner's thread)
        self.stall_minutes = 10.0  # the activity rule's threshold for the feeds (the window sets its own)
        self.sessions: dict[str, SessionSource] = {}
        self._forwarders: dict[str, Any] = {}
        self._thread: LoopThread | None = None
        self._core: StreamServer | None = None
        self._page = resources.files(__package__).joinpath("static/index.html").read_bytes()

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self.access.port

    @property
    def token(self) -> str | None:
        return self.access.token

    @property
    def running(self) -> bool:
        return self._core is not None

    def url_for(self, session_id: str) -> str:
        return f"ws://{self._shown_host()}:{self.port}{STREAM_PREFIX}{session_id}"

    def page_url(self) -> str:
        query = f"?token={self.token}" if self.token else ""
        return f"http://{self._shown_host()}:{self.port}/{query}"

    def _shown_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def start(self) -> None:
        """Start the server's thread and listen (OSError, and no thread left, when the port cannot be bound)."""
        thread = LoopThread("mirror-server")
        thread.start()
        to_owner = Mailbox(asyncio.get_running_loop())
        core = self.core_class(
            self.access,
            self.host,
            self.requested_port,
            self.max_clients,
            self._page,
            self,
            to_owner,
            thread.mailbox,
            self.dialect,
            self.control_token,
        )
        try:
            self.access.port = await thread.run(core.start())
        except BaseException:
            await thread.stop()
            raise
        self._thread, self._core = thread, core
        for session_id, source in self.sessions.items():
            thread.mailbox.post(core.add_session, session_id, source.store.epoch, source.store.seq)

    async def stop(self) -> None:
        """Every client gets close 1001 (going away); the server's thread ends."""
        thread, core = self._thread, self._core
        self._thread = self._core = None
        if thread is None or core is None:
            return
        try:
            await thread.run(core.stop())
        finally:
            await thread.stop()

    # ---------------------------------------------------------------- sessions

    def add_session(self, source: SessionSource) -> None:
        """Serve `source` and follow its batches until `remove_session`."""
        self.remove_session(source.session_id)
        session_id = source.session_id
        self.sessions[session_id] = source
        forward = partial(self._forward, session_id)
        self._forwarders[session_id] = forward
        source.batches.connect(forward)
        if self._thread is not None and self._core is not None:
            self._thread.mailbox.post(self._core.add_session, session_id, source.store.epoch, source.store.seq)

    def remove_session(self, session_id: str) -> None:
        source = self.sessions.pop(session_id, None)
        forward = self._forwarders.pop(session_id, None)
        if source is not None and forward is not None:
            source.batches.disconnect(forward)
        if source is not None and self._thread is not None and self._core is not None:
            self._thread.mailbox.post(self._core.remove_session, session_id)

    def client_count(self, session_id: str | None = None) -> int:
        core = self._core
        if core is None:
            return 0
        return core.clients if session_id is None else core.clients_of.get(session_id, 0)

    def _forward(self, session_id: str, batch: list[Message]) -> None:
        """A batch just published into a session's store: to the server's thread, which encodes it once."""
        if self._thread is not None and self._core is not None:
            self._thread.mailbox.post(self._core.publish, session_id, batch)

    # ---------------------------------------------------------------- answers from the stores (owner's thread)

    def status_frames(self, session_id: str, dialect: str) -> tuple[list[str], int] | None:
        """The session's state for a client that joins: its `status` frame (v1; once per seq, in the store), or
        the br3 dialect's catch-up updates."""
        source = self.sessions.get(session_id)
        if source is None:
            return None
        store = source.store
        if dialect == "v1":
            return [store.status_frame()], store.seq
        common = store.control("build_progress")  # the common fields; catch_up gives each message its type
        return [encode(message) for message in br3_dialect.catch_up(store.snapshot(), common)], store.seq

    def snapshot_body(self, session_id: str, dialect: str = "v1") -> bytes | None:
        source = self.sessions.get(session_id)
        if source is None:
            return None
        snapshot = source.store.snapshot()
        body = snapshot if dialect == "v1" else br3_dialect.status_body(snapshot, session_id)
        return json.dumps(body).encode()

    def control(self, action: str, session_id: str) -> ControlAnswer:
        """A build action asked through the server: the owner's `controller` runs it (None: no such session)."""
        if self.controller is None or session_id not in self.sessions:
            return None
        return self.controller(action, session_id)

    def feeds(self) -> list[SessionFeed]:
        """What `/cctray.xml` and `/metrics` show of every session, read now."""
        now = datetime.now(UTC)
        return [session_feed(sid, source.store, now, self.stall_minutes) for sid, source in self.sessions.items()]

    def session_rows(self) -> list[dict[str, Any]]:
        return [_session_row(session_id, source.store) for session_id, source in self.sessions.items()]


def _session_row(session_id: str, store: SessionStore) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "name": store.project["name"],
        "status": store.status,
        "percent": store.progress["percent"],
        "clients": 0,  # counted on the server's thread
        "live": is_live(store),
    }
