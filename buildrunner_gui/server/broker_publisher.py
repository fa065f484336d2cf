"""Publishing sessions to a broker, as its owner sees it (`serve … --publish redis://…`, the window's setting).

The owner is the thread of the session stores (the GUI thread in the window). It only hands each batch of a
source's events to the publisher's own thread (`publish_link.py`, which encodes and writes them) and answers
that thread's questions (a session's `status` frame, once a second at most) from the stores: a broker that is
slow or away never holds up the owner. What the owner should tell people (the broker went away, came back,
publishing fell behind) arrives as `notices`; `trouble` is the one that holds now ("" while all is well).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import redis.asyncio as redis_client

from ..model import broker_keys as keys
from ..model.messages import Message
from ..model.store import SessionStore
from .loop_thread import LoopThread
from .mailbox import Mailbox
from .publish_link import PublishLink

Notice = Callable[[str], None]


class PublishedSource(Protocol):
    """What publishing needs of a source (`sources/source.py`): its store and its batches."""

    store: SessionStore

    @property
    def batches(self) -> Any: ...

    @property
    def session_id(self) -> str: ...


class BrokerPublisher:
    def __init__(self, url: str, notice: Notice | None = None) -> None:
        if not keys.is_broker_url(url):
            raise ValueError(f"not a broker URL: {keys.shown_url(url)} (expected redis://HOST:PORT/DB)")
        try:
            redis_client.from_url(url)  # a URL the client cannot take fails here, before anything starts
        except (ValueError, TypeError) as exc:
            raise keys.unusable(url, exc) from None
        self._url = url  # with its password, if any: never shown
        self.url = keys.shown_url(url)
        self.publisher = f"{socket.gethostname()}:{os.getpid()}"
        self.notices: list[Notice] = [notice] if notice is not None else []
        self.trouble = ""
        self.sessions: dict[str, PublishedSource] = {}
        self._forwarders: dict[str, Callable[[list[Message]], None]] = {}
        self._thread: LoopThread | None = None
        self._link: PublishLink | None = None

    @property
    def link(self) -> PublishLink | None:
        """The thread's side (read its counters only from tests and benchmarks)."""
        return self._link

    async def start(self) -> None:
        thread = LoopThread("broker-publisher")
        thread.start()
        to_owner = Mailbox(asyncio.get_running_loop())

        async def make() -> PublishLink:
            link = PublishLink(
                self._url,
                self.publisher,
                lambda session_id: to_owner.post(self._answer_snapshot, session_id),
                lambda text, lasting: to_owner.post(self._tell, text, lasting),
            )
            await link.start()
            return link

        self._link = await thread.run(make())
        self._thread = thread
        for session_id in self.sessions:
            self._post_add(session_id)

    async def stop(self) -> None:
        thread, link = self._thread, self._link
        self._thread = self._link = None
        if thread is None or link is None:
            return
        try:
            await thread.run(link.stop())
        finally:
            await thread.stop()

    def add_session(self, source: PublishedSource) -> None:
        self.remove_session(source.session_id)
        session_id = source.session_id
        self.sessions[session_id] = source
        forward = partial(self._forward, session_id)
        self._forwarders[session_id] = forward
        source.batches.connect(forward)
        self._post_add(session_id)

    def remove_session(self, session_id: str) -> None:
        source = self.sessions.pop(session_id, None)
        forward = self._forwarders.pop(session_id, None)
        if source is not None and forward is not None:
            source.batches.disconnect(forward)
        if source is not None and self._thread is not None and self._link is not None:
            self._thread.mailbox.post(self._link.remove, session_id)

    def _forward(self, session_id: str, batch: list[Message]) -> None:
        if self._thread is not None and self._link is not None:
            self._thread.mailbox.post(self._link.events, session_id, batch)

    def _post_add(self, session_id: str) -> None:
        """The session and its state now, in that order, before any batch of it."""
        if self._thread is not None and self._link is not None:
            store = self.sessions[session_id].store
            self._thread.mailbox.post(self._link.add, session_id, store.project["name"])
            self._thread.mailbox.post(self._link.snapshot, session_id, store.status_frame(), store.project["name"])

    def _answer_snapshot(self, session_id: str) -> None:
        """The publisher's thread asks for a session's state: its `status` frame, shared with the server's."""
        source = self.sessions.get(session_id)
        if source is None or self._thread is None or self._link is None:
            return
        store = source.store
        self._thread.mailbox.post(self._link.snapshot, session_id, store.status_frame(), store.project["name"])

    def _tell(self, text: str, lasting: bool) -> None:
        self.trouble = text if lasting else ""
        for notice in self.notices:
            notice(text)
