"""Parity: for random scripted builds, a mirror store rebuilt from the wire shows exactly the local snapshot.

The local side is the real pipeline (differ -> store); the mirrors are stores fed through `UpstreamFollower`
by the JSON frames a server sends: joining mid-stream with a `status`, following events, resuming after a gap
from the replay buffer, and reloading from a fresh `status` mid-stream. A mirror of the mirror follows the
first mirror's own numbering. Only `source` may differ (protocol.md: a mirror says it is one).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.follow import UpstreamFollower
from buildrunner_gui.model.inputs import FileRead, FileRemoved, LogAppended, Notice, StateDirChanged
from buildrunner_gui.model.messages import EVENT_TOPICS, SERVER_MESSAGE, SNAPSHOT
from buildrunner_gui.model.snapshot_frame import encode
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.server.frame_replay import EventFrame, FrameReplay

from .test_fuzz import operations, to_input

PARITY_RUNS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ARTIFACTS = [".buildrunner/artifacts/app.tar", ".buildrunner/artifacts/report.html"]
MIRROR_SOURCE = {"kind": "mirror", "upstream": "ws://127.0.0.1:1/api/build/stream/p", "state": "live"}


@st.composite
def steps(draw):
    """One input of a scripted build: the fuzz operations plus artifacts, the state folder and notices."""
    kind = draw(st.sampled_from(["file", "file", "file", "artifact", "artifact_gone", "state_dir", "notice"]))
    if kind == "file":
        return ("file", draw(operations()))
    if kind == "artifact":
        return ("artifact", draw(st.sampled_from(ARTIFACTS)), draw(st.integers(0, 10**9)), draw(st.floats(0, 2e9)))
    if kind == "artifact_gone":
        return ("artifact_gone", draw(st.sampled_from(ARTIFACTS)))
    if kind == "state_dir":
        return ("state_dir", draw(st.booleans()))
    return ("notice", draw(st.text(max_size=30)))


def to_source_input(step, files: dict[str, Any], announce: bool):
    kind = step[0]
    if kind == "file":
        entry = to_input(step[1], files)
        if isinstance(entry, FileRead) and not announce:
            return FileRead(entry.path, entry.file_type, entry.change, entry.record, entry.size, entry.mtime, False)
        return entry
    if kind == "artifact":
        _, path, size, mtime = step
        return FileRead(path, "artifact", "modified", None, size, mtime, announce)
    if kind == "artifact_gone":
        return FileRemoved(step[1], "artifact")
    if kind == "state_dir":
        return StateDirChanged(step[1])
    return Notice(step[1])


def wire(value: Any) -> Any:
    """What crosses the network: JSON text, decoded again."""
    return json.loads(json.dumps(value))


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in wire(state).items() if key != "source"}


class Mirror:
    """A store following an upstream through frames, as the mirror client does (without the socket)."""

    def __init__(self, name: str) -> None:
        self.store = SessionStore(name, {"name": name, "alias": None, "path": ""}, MIRROR_SOURCE)
        self.follower = UpstreamFollower(self.store)
        self.published: list[dict[str, Any]] = []  # what this store's own clients are sent

    def status(self, status: dict[str, Any]) -> None:
        published = self.follower.take_status(wire(status))
        if published:
            self.published.extend(wire(published))

    def events(self, events: list[dict[str, Any]]) -> None:
        taken = [m for m in wire(events) if self.follower.take_event(m)]
        self.published.extend(wire(self.store.publish(taken)))


@PARITY_RUNS
@given(
    scan=st.lists(steps(), max_size=6),
    batches=st.lists(st.lists(steps(), min_size=1, max_size=4), min_size=1, max_size=8),
    join_at=st.integers(0, 8),
    gap_at=st.integers(0, 8),
    reload_at=st.integers(0, 8),
)
def test_a_mirror_rebuilds_the_local_snapshot(scan, batches, join_at, gap_at, reload_at):
    local = SessionEngine("p", "project", "/work/project", alias="proj")
    files: dict[str, Any] = {}
    local.apply([to_source_input(step, files, announce=False) for step in scan])

    mirror = Mirror("m")
    relay_of_mirror = Mirror("mm")
    held_back: list[dict[str, Any]] = []
    served = FrameReplay()  # what the server keeps for resuming clients: the events as sent, encoded

    def replayed(last_seq: int) -> list[dict[str, Any]] | None:
        frames = served.after(last_seq, budget=1 << 40)
        return None if frames is None else [json.loads(event.frame) for event in frames]

    def join(target: Mirror, upstream: SessionStore) -> None:
        target.status(upstream.status_message())

    for number, batch in enumerate(batches):
        if number == join_at or (number == 0 and join_at >= len(batches)):
            join(mirror, local.store)
        out = local.apply([to_source_input(step, files, announce=True) for step in batch])
        for message in out:
            SERVER_MESSAGE.validate_python(message)
            served.add(EventFrame(message["seq"], EVENT_TOPICS[message["type"]], encode(message)))
        if not mirror.follower.loaded:
            continue
        if number == gap_at:
            held_back = out  # the connection dropped: these never arrived
            continue
        if held_back:  # reconnected: resume from the last event applied
            request = mirror.follower.resume_request()
            assert request is not None
            assert request["epoch"] == local.store.epoch
            replay = replayed(request["last_seq"])
            if replay is None:
                join(mirror, local.store)
            else:
                mirror.events(replay[: len(replay) - len(out)])
            held_back = []
        mirror.events(out)
        if number == reload_at:
            join(mirror, local.store)  # a `request_status` answer mid-stream
        if not relay_of_mirror.follower.loaded:
            join(relay_of_mirror, mirror.store)
        else:
            relay_of_mirror.events(mirror.published)
        mirror.published = []

    if held_back:
        mirror.events(replayed(mirror.follower.seq) or [])
        relay_of_mirror.events(mirror.published)
    if not mirror.follower.loaded:
        join(mirror, local.store)
    if not relay_of_mirror.follower.loaded:
        join(relay_of_mirror, mirror.store)

    expected = comparable(local.snapshot())
    SNAPSHOT.validate_python(local.snapshot())
    assert comparable(mirror.store.snapshot()) == expected
    assert comparable(relay_of_mirror.store.snapshot()) == expected


def test_a_reload_sends_the_relays_clients_what_changed(tmp_path):
    """A relay whose upstream reloaded sends its own clients events, not a second state: items, figures and
    documents follow exactly; the relay's numbering goes on."""
    local = SessionEngine("p", "project")
    relay = Mirror("r")
    relay.status(local.store.status_message())
    client = Mirror("c")
    client.status(relay.store.status_message())

    from buildrunner_gui.model.formats import parse_checkpoint, parse_document

    checkpoint = parse_checkpoint(
        json.dumps(
            {"id": "c1", "timestamp": "2025-01-01T00:00:00Z", "completion": 40, "features": {"f": "done"}}
        ).encode(),
        "c1.json",
        0.0,
    )
    document = parse_document(b"  # Indented title\n" + b"x" * 70_000, ".buildrunner/context/a.md")
    local.apply(
        [
            FileRead(".buildrunner/checkpoints/c1.json", "checkpoint", "created", checkpoint, 10, 0.0),
            FileRead(".buildrunner/context/a.md", "context", "created", document, document.size, 0.0),
            LogAppended(".buildrunner/logs/a.log", "one\ntwo\n"),
        ]
    )
    seq_before = relay.store.seq
    relay.status(local.store.status_message())  # the relay missed the events: a fresh status from upstream
    assert relay.store.seq > seq_before and relay.store.epoch == relay.store.epoch
    client.events(relay.published)
    expected = comparable(local.snapshot())
    assert comparable(relay.store.snapshot()) == expected
    got = comparable(client.store.snapshot())
    assert {k: v for k, v in got.items() if k != "files"} == {k: v for k, v in expected.items() if k != "files"}
    document_row = got["documents"][0]
    assert (document_row["title"], document_row["size"]) == ("Indented title", 70_019)
