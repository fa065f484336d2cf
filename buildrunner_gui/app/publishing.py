"""Publishing the window's sessions to a broker (Settings → "Publish to a broker"), started and stopped with the
preferences like the mirror server: every session but those served from a broker (a window showing a broker's
sessions must not publish them back). The writing runs on the publisher's own thread (`server/publish_link.py`):
a broker that is slow or away is a notice in the status bar, never a stall of the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..server.broker_publisher import BrokerPublisher
from ..sources.source import SessionSource

log = logging.getLogger(__name__)


class PublishHost:
    def __init__(self, notice: Callable[[str], None]) -> None:
        self.publisher: BrokerPublisher | None = None
        self.error = ""
        self._notice = notice
        self._sources: dict[str, SessionSource] = {}

    @property
    def trouble(self) -> str:
        """What holds now (the broker away, a refused URL), for the status bar; "" while all is well."""
        return self.error or (self.publisher.trouble if self.publisher is not None else "")

    async def start(self, url: str) -> None:
        self.error = ""
        try:
            publisher = BrokerPublisher(url, self._notice)
        except ValueError as exc:
            self.error = f"not published: {exc}"
            log.warning(self.error)
            return
        await publisher.start()
        self.publisher = publisher
        for source in self._sources.values():
            publisher.add_session(source)

    async def stop(self) -> None:
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            await publisher.stop()

    def add(self, source: SessionSource) -> None:
        if source.store.source.get("kind") == "broker":
            return
        self._sources[source.session_id] = source
        if self.publisher is not None:
            self.publisher.add_session(source)

    def remove(self, session_id: str) -> None:
        self._sources.pop(session_id, None)
        if self.publisher is not None:
            self.publisher.remove_session(session_id)
