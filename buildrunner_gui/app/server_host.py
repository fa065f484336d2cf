"""The embedded mirror server's lifecycle: started and stopped with the preferences, serving every session."""

from __future__ import annotations

import logging

from ..ports import default_port, start_server
from ..server.control import Controller
from ..server.mirror_server import MirrorServer
from ..settings import Preferences
from ..sources.source import SessionSource

log = logging.getLogger(__name__)


class ServerHost:
    def __init__(self) -> None:
        self.server: MirrorServer | None = None
        self.error = ""
        self.note = ""  # "port 8765 was taken; serving on N" while it is
        self._sources: dict[str, SessionSource] = {}
        self.controller: Controller | None = None  # the build actions the server's control routes run

    async def start(self, preferences: Preferences) -> None:
        self.note = ""
        try:  # an empty token setting means "none" (so generated beyond loopback); a short one is refused
            dialect = "br3" if preferences.serve_br3 else "v1"
            origins = preferences.allowed_origins.replace(",", " ").split()
            server = MirrorServer(
                preferences.host,
                preferences.port,
                preferences.token or None,
                origins,
                dialect=dialect,
                control_token=preferences.control_token or None,
            )
            server.controller = self.controller
            server.stall_minutes = preferences.stall_minutes  # the feeds' activity rule, as the window's
            # The default port, taken (a second window, a `serve`), falls back to a free one; a chosen one does not.
            self.note = await start_server(server, fallback=preferences.port == default_port())
        except ValueError as exc:
            self.error = f"mirror server not started: {exc}"
            log.warning(self.error)
            return
        except OSError as exc:
            self.error = f"mirror server not started: {exc.strerror or exc}"
            log.warning(self.error)
            return
        self.server, self.error = server, ""
        if self.note:
            log.warning("mirror server: %s", self.note)
        for source in self._sources.values():
            server.add_session(source)

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()

    def add(self, source: SessionSource) -> None:
        """Serve a session: local or mirrored, every source is served (protocol.md)."""
        self._sources[source.session_id] = source
        if self.server is not None:
            self.server.add_session(source)

    def remove(self, session_id: str) -> None:
        self._sources.pop(session_id, None)
        if self.server is not None:
            self.server.remove_session(session_id)

    def status(self) -> tuple[str | None, int, str]:
        """(browser page URL or None, clients, note) for the status bar."""
        if self.server is None:
            return None, 0, self.error or "mirror server off"
        return self.server.page_url(), self.server.client_count(), self.note
