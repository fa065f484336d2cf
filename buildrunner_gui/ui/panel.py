"""The one contract every session panel follows: fed only by protocol messages.

A panel is a QWidget showing one session. The session view calls `load(state)` with a snapshot (the `state`
of a `status` message, see `model.messages.Snapshot`) and then `apply(message)` for each event message in seq
order (`component_update`, `feature_update`, `checkpoint_update`, `build_progress`, `terminal_output`,
`file_change`, `error`). A panel ignores message types it does not show, never reads files, never blocks,
and never resets whole models on an event: it updates the rows that changed.
"""

from __future__ import annotations

from typing import Any, Protocol

Message = dict[str, Any]


class SessionPanel(Protocol):
    def load(self, state: dict[str, Any]) -> None: ...

    def apply(self, message: Message) -> None: ...
