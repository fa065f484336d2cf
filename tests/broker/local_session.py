"""A session of the test's own making, published through the real store: what a watcher would hand its sinks."""

from __future__ import annotations

import json
from typing import Any

from buildrunner_gui.model.clock import utc_now_iso
from buildrunner_gui.model.messages import Message
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources.source import BatchCallback
from buildrunner_gui.sources.subscribers import Subscribers


class LocalSession:
    def __init__(self, session_id: str = "local") -> None:
        self.store = SessionStore(session_id, {"name": f"{session_id} project", "alias": None, "path": "/p"})
        self.batches: Subscribers[BatchCallback] = Subscribers()
        self.lines = 0

    @property
    def session_id(self) -> str:
        return self.store.session_id

    def publish(self, events: list[Message]) -> None:
        self.batches.emit(self.store.publish(events))

    def write_lines(self, count: int, per_batch: int = 10) -> None:
        """`count` terminal lines and, every batch, one feature's update: events of several kinds."""
        for start in range(0, count, per_batch):
            batch = [
                _event("terminal_output", output=f"line {self.lines + i}", output_type="stdout", source="build")
                for i in range(min(per_batch, count - start))
            ]
            self.lines += len(batch)
            batch.append(
                _event(
                    "feature_update",
                    feature_id=f"f{self.lines % 7}",
                    id=f"f{self.lines % 7}",
                    name=f"Feature {self.lines % 7}",
                    status="in_progress",
                    raw_status="in_progress",
                    progress=float(self.lines % 100),
                    metadata={},
                    removed=False,
                )
            )
            self.publish(batch)


def _event(message_type: str, **body: Any) -> Message:
    message: Message = {"type": message_type, "session_id": "", "epoch": "", "seq": 0, "timestamp": utc_now_iso()}
    message.update(body)
    return message


def comparable(snapshot: Any) -> dict[str, Any]:
    """A snapshot as it crosses the wire, without `source` (the one field a mirror shows differently)."""
    return {key: value for key, value in json.loads(json.dumps(snapshot)).items() if key != "source"}
