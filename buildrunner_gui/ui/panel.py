"""The one contract every session panel follows: it shows the session's store, batch by batch.

A panel is a QWidget showing one session. The session view calls `load(store)` with the session's
`SessionStore` (at start, and after a mirror reloaded the whole state), then `apply_batch(batch, store)` for
each batch of event messages just published, in seq order; the store has already applied the whole batch, so
it holds the state after it. A panel reads its data from the store (never its own copy of it), applies a
batch in one pass (one edit, one `dataChanged` per model), ignores message types it does not show, never
reads files, never blocks, and resets its models only in `load`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..model.store import SessionStore

Message = dict[str, Any]
Batch = Sequence[Message]


class SessionPanel(Protocol):
    def load(self, store: SessionStore) -> None: ...

    def apply_batch(self, batch: Batch, store: SessionStore) -> None: ...
