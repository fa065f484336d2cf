"""What every session source offers its sinks (the window, the server, the CLI): one store and its batches.

A source is a local project (`ProjectWatcher`) or a remote session this app mirrors (`RemoteSource`). Sinks
subscribe to the source, never to each other: `batches` carries each list of events just published into
`store` (the store has already applied them), `reloads` says the store's whole state was replaced (a mirror
reloaded its upstream), and `ready` fires once the first state is in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..model.messages import Message
from ..model.store import SessionStore
from .subscribers import Subscribers

BatchCallback = Callable[[list[Message]], None]
Notify = Callable[[], None]


class SessionSource(Protocol):
    store: SessionStore
    batches: Subscribers[BatchCallback]
    reloads: Subscribers[Notify]
    ready: Subscribers[Notify]

    @property
    def session_id(self) -> str: ...

    @property
    def is_ready(self) -> bool: ...

    @property
    def location(self) -> str:
        """Where the session comes from, as shown to people: a folder, or `mirror of HOST:PORT`."""
        ...

    @property
    def is_local(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...
