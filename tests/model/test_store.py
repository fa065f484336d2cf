"""The one store: snapshots once per seq, the 1 MiB status frame, running figures, reloads and resumes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from buildrunner_gui.model import figures
from buildrunner_gui.model.catch_up import events_between
from buildrunner_gui.model.formats import Item
from buildrunner_gui.model.messages import SERVER_MESSAGE, SNAPSHOT
from buildrunner_gui.model.snapshot_frame import MAX_STATUS_BYTES, TERMINAL_TAIL_BYTES
from buildrunner_gui.model.store import SessionStore

PROJECT = {"name": "p", "alias": None, "path": "/p"}


def event(message_type: str, **body: Any) -> dict[str, Any]:
    return {
        "type": message_type,
        "session_id": "",
        "epoch": "",
        "seq": 0,
        "timestamp": "2026-01-01T00:00:00.000Z",
        **body,
    }


def feature(feature_id: str, status: str = "pending", progress: float = 0.0, removed: bool = False) -> dict[str, Any]:
    return event(
        "feature_update",
        feature_id=feature_id,
        id=feature_id,
        name=feature_id.upper(),
        status=status,
        raw_status=status,
        progress=progress,
        metadata={},
        removed=removed,
    )


def document(path: str, content: str, size: int | None = None) -> dict[str, Any]:
    body = {
        "file_path": path,
        "file_type": "context",
        "change_type": "modified",
        "content": content,
        "truncated": False,
    }
    if size is not None:
        body["size"] = size
    return event("file_change", **body)


def test_publish_numbers_events_and_the_snapshot_is_built_once_per_seq():
    store = SessionStore("s", PROJECT)
    published = store.publish([feature("a"), feature("b", "completed", 100.0)])
    assert [m["seq"] for m in published] == [1, 2] and {m["epoch"] for m in published} == {store.epoch}
    for message in published:
        SERVER_MESSAGE.validate_python(message)
    first = store.snapshot()
    assert store.snapshot() is first  # the same seq: the same object, shared by every reader
    assert store.status_frame() is store.status_frame()
    store.publish([feature("a", "in_progress", 50.0)])
    assert store.snapshot() is not first
    SNAPSHOT.validate_python(store.snapshot())
    assert store.stats("feature") == {
        "total": 2,
        "completed": 1,
        "in_progress": 1,
        "pending": 0,
        "failed": 0,
        "completion_percentage": 75.0,
    }


def test_a_document_keeps_its_real_size_and_its_indented_title():
    store = SessionStore("s", PROJECT)
    store.publish([document(".buildrunner/context/a.md", "  # Indented title\n" + "x" * 100, size=70_010)])
    (row,) = store.snapshot()["documents"]
    assert (row["title"], row["size"]) == ("Indented title", 70_010)
    # A failed read of it (no content) keeps the last good document; a deletion removes it.
    store.publish(
        [
            event(
                "file_change",
                file_path=".buildrunner/context/a.md",
                file_type="context",
                change_type="modified",
                content=None,
                truncated=False,
            )
        ]
    )
    assert len(store.snapshot()["documents"]) == 1
    store.publish(
        [
            event(
                "file_change",
                file_path=".buildrunner/context/a.md",
                file_type="context",
                change_type="deleted",
                content=None,
                truncated=False,
            )
        ]
    )
    assert store.snapshot()["documents"] == []


def test_files_found_by_the_first_scan_are_state_not_activity():
    store = SessionStore("s", PROJECT)
    store.publish([{**document(".buildrunner/context/a.md", "# A"), "scan": True}])
    assert store.snapshot()["files"] == [] and len(store.snapshot()["documents"]) == 1


def test_the_status_frame_stays_within_one_mebibyte_newest_terminal_lines_first():
    store = SessionStore("s", PROJECT)
    store.publish(
        [
            event("terminal_output", output=f"{n:04d} " + "y" * 990, output_type="stdout", source="log")
            for n in range(1000)
        ]
    )
    store.publish([document(f".buildrunner/context/d{n}.md", "# D\n" + "z" * (40_000 + n * 1000)) for n in range(20)])
    frame = store.status_frame()
    assert len(frame) <= MAX_STATUS_BYTES
    state = json.loads(frame)["state"]
    terminal = state["terminal"]
    assert terminal[-1]["output"].startswith("0999")  # the newest lines are kept
    assert len(json.dumps(terminal, separators=(",", ":"))) <= TERMINAL_TAIL_BYTES
    dropped = [d for d in state["documents"] if d["content"] is None]
    kept = [d for d in state["documents"] if d["content"] is not None]
    assert dropped and all(d["truncated"] for d in dropped)
    assert max(d["size"] for d in kept) <= min(d["size"] for d in dropped)  # largest dropped first
    assert store.snapshot()["documents"][0]["content"] is not None  # the store itself keeps everything


def test_items_alone_over_the_limit_make_a_larger_status_but_lose_nothing():
    store = SessionStore("s", PROJECT)
    store.publish([{**feature(f"f{n:05d}"), "metadata": {"description": "d" * 200}} for n in range(5000)])
    frame = store.status_frame()
    assert len(frame) > MAX_STATUS_BYTES
    assert len(json.loads(frame)["state"]["features"]) == 5000


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 30),
            st.sampled_from(["pending", "in_progress", "completed", "failed"]),
            st.floats(0, 100),
            st.booleans(),
        ),
        max_size=200,
    )
)
def test_running_figures_equal_a_fresh_count(changes):
    store = SessionStore("s", PROJECT)
    for number, status, progress, removed in changes:
        store.publish([feature(f"f{number}", status, progress, removed)])
    items = [
        Item(i["id"], i["name"], i["status"], i["raw_status"], i["progress"], {})
        for i in store.items["feature"].values()
    ]
    assert store.stats("feature") == figures.stats(items)


def test_a_reload_numbers_its_catch_up_events_after_the_events_before_it():
    store = SessionStore("s", PROJECT)
    store.publish([feature("a")])
    old_seq = store.seq
    target = SessionStore("u", PROJECT)
    target.publish([feature("a", "completed", 100.0), feature("b")])
    catch_up = events_between(store.snapshot(), target.snapshot(), "2026-01-01T00:00:01.000Z")
    published = store.reload(json.loads(json.dumps(target.snapshot())), catch_up)
    assert [m["seq"] for m in published] == list(range(old_seq + 1, store.seq + 1))
    assert store.epoch == published[0]["epoch"]  # the same history goes on: clients resume across it
    assert [m["seq"] for m in store.publish([feature("c")])] == [store.seq]


def test_catch_up_events_take_a_client_to_the_new_state():
    old, new = SessionStore("o", PROJECT), SessionStore("n", PROJECT)
    old.publish(
        [
            feature("gone"),
            feature("kept"),
            event("terminal_output", output="one\ntwo", output_type="stdout", source="log"),
        ]
    )
    new.publish(
        [
            feature("kept", "failed", 10.0),
            feature("new"),
            event("terminal_output", output="one\ntwo\nthree", output_type="stdout", source="log"),
            document(".buildrunner/context/a.md", "# A"),
            event(
                "build_progress", total=2, completed=0, percent=5.0, status="failed", tasks_completed=0, files_created=0
            ),
        ]
    )
    client = SessionStore("c", PROJECT)
    client.reload(json.loads(json.dumps(old.snapshot())), [])
    client.publish(events_between(old.snapshot(), new.snapshot(), "2026-01-01T00:00:02.000Z"))
    got, want = client.snapshot(), new.snapshot()
    for key in ("features", "progress", "status", "documents", "feature_stats"):
        assert got[key] == want[key], key
    assert [line["output"] for line in got["terminal"]] == ["one", "two", "three"]  # only the new line added


def test_the_status_frame_is_the_status_message_and_follows_every_change():
    store = SessionStore("s", PROJECT)
    store.publish([feature(f"f{n}") for n in range(50)])
    store.publish([event("terminal_output", output="one\ntwo", output_type="stdout", source="log")])
    for change in ([feature("f3", "failed", 20.0)], [feature("f7", removed=True)], [document("d.md", "# D")]):
        store.publish(change)
        decoded = json.loads(store.status_frame())
        expected = json.loads(json.dumps(store.status_message()))
        assert {k: v for k, v in decoded.items() if k != "timestamp"} == {
            k: v for k, v in expected.items() if k != "timestamp"
        }
