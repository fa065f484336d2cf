"""A big batch reaches the store over several turns of the event loop and the sinks once, whole, in order."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer

from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.sources import chunked_publisher
from buildrunner_gui.sources.chunked_publisher import ChunkedPublisher


def feature(n: int) -> dict[str, Any]:
    return {"type": "feature_update", "session_id": "", "epoch": "", "seq": 0, "timestamp": "t",
            "feature_id": f"f{n}", "id": f"f{n}", "name": "F", "status": "pending", "raw_status": "",
            "progress": 0.0, "metadata": {}, "removed": False}  # fmt: skip


def test_a_big_batch_is_published_in_chunks_and_delivered_once(qtbot):
    store = SessionStore("s", {"name": "p", "alias": None, "path": ""})
    delivered: list[list[dict[str, Any]]] = []
    turns: list[int] = []  # the store's seq each time the loop got to run something else
    ticker = QTimer()
    ticker.timeout.connect(lambda: turns.append(store.seq))
    ticker.start(0)
    publisher = ChunkedPublisher(store, delivered.append)
    finished: list[bool] = []
    size = chunked_publisher.PUBLISH_CHUNK * 2 + 10
    publisher.publish([feature(n) for n in range(size)], after=lambda: finished.append(True))
    assert store.seq == chunked_publisher.PUBLISH_CHUNK  # the first chunk at once, the rest later
    publisher.publish([feature(size)])  # arrives while chunks wait: goes after them, in the same hand-over
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    ticker.stop()
    assert len(delivered) == 1
    assert [m["seq"] for m in delivered[0]] == list(range(1, size + 2))
    assert any(0 < seq < size for seq in turns), "the loop ran between chunks"
    assert len(store.items["feature"]) == size + 1
