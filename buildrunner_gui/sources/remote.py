"""A session mirrored from a remote server (`buildrunner-gui mirror URL`): the same face as `ProjectWatcher`,
fed by a WebSocket instead of files. Runs as a task on the app's asyncio loop (the GUI thread, via qasync);
reconnects with jittered backoff (1-16 s) and asks to resume from the last event it applied."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from ..model.mirror_state import MirrorState
from .watcher import BatchSubscribers

log = logging.getLogger(__name__)

Message = dict[str, Any]
BACKOFF_START, BACKOFF_MAX = 1.0, 16.0


class RemoteSource:
    def __init__(self, url: str, token: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or "/api/build/stream/" not in parts.path:
            raise ValueError(f"not a mirror stream URL: {url} (expected ws://HOST:PORT/api/build/stream/ID)")
        self.url = url
        self.session_id = parts.path.rsplit("/", 1)[-1]
        self.folder = url  # shown where a local project shows its folder
        self.messages = BatchSubscribers()
        self.reloads = BatchSubscribers()  # a fresh `status` replaced the state: views must load it again
        self.loaded = threading.Event()
        self.connected = False
        self.last_error = ""
        self._token = token or dict(parse_qsl(parts.query)).get("token")
        self._mirror = MirrorState()
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- the watcher-like face

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mirror:{self.session_id}")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def status_message(self) -> Message:
        assert self._mirror.state is not None
        return {
            "type": "status",
            "session_id": self.session_id,
            "epoch": self._mirror.epoch,
            "seq": self._mirror.seq,
            "timestamp": "",
            "state": self.snapshot(),
        }

    def snapshot(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._mirror.state))

    # ---------------------------------------------------------------- the connection

    async def _run(self) -> None:
        delay = BACKOFF_START
        while True:
            try:
                await self._session()
                delay = BACKOFF_START
            except (OSError, ConnectionClosed, InvalidStatus, InvalidURI, TimeoutError) as exc:
                self.last_error = _describe(exc)
                log.info("mirror %s: %s", self.session_id, self.last_error)
                if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403, 404):
                    return  # retrying cannot fix a refusal
            self.connected = False
            await asyncio.sleep(delay * random.uniform(0.75, 1.0))
            delay = min(delay * 2, BACKOFF_MAX)

    async def _session(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with connect(
            _without_token(self.url), additional_headers=headers, compression=None, max_size=None, open_timeout=10
        ) as socket:
            self.connected, self.last_error = True, ""
            if self._mirror.state is not None:
                await socket.send(
                    json.dumps({"type": "resume", "epoch": self._mirror.epoch, "last_seq": self._mirror.seq})
                )
            async for frame in socket:
                self._receive(json.loads(frame))

    def _receive(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "status":
            if (
                self._mirror.state is not None
                and message["epoch"] == self._mirror.epoch
                and message["seq"] <= self._mirror.seq
            ):
                return  # nothing new in it
            self._mirror.load(message)
            if self.loaded.is_set():
                self.reloads.emit([message])
            self.loaded.set()
        elif self._mirror.apply(message):
            self.messages.emit([message])


def _without_token(url: str) -> str:
    """The token travels in a header, not in the URL (URLs end up in logs)."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "token"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        return f"server refused: HTTP {exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        return "connection closed"
    return str(exc) or type(exc).__name__
