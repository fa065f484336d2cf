"""Child process for bench_store.py: one mirror-store measure, on whichever package is first on sys.path.

The parent runs it with PYTHONPATH set to this work tree (ours) or to a worktree of the landed commit, so
both codes run in the same benchmark run. It reads a scenario file written by the parent, JSON:
{"status": the upstream `status` message, "frames": [each event frame's JSON text, as it came off the wire]},
decodes the frames afresh before every run (not timed: they are dicts when the mirror applies them) and
times applying all of them to a store that loaded the status:

- `ours-batched`: `UpstreamFollower.take_event` per frame and one `SessionStore.publish` per BATCH frames, the
  mirror client's way (frames that arrive together are one batch), with its `set_source` per batch;
- `ours-single`: the same, one `publish` per frame;
- `landed`: `MirrorState.apply` per frame (commit 88c8a52's mirror state).

`--measure status-frame` times encoding the `status` for a client instead: ours `store.status_frame()` after a
new event (the shared frame, rebuilt once per seq and fitted within 1 MiB), landed `encode(status)` as its
server did once per client.

Prints one JSON line: {"samples_ns", "digest" (sha1 of the final features, sorted by id), "module", "size"}.
Run (by the bench): .venv/bin/python bench/_store_apply.py SCENARIO --code ours-batched|ours-single|landed
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 100


def digest(features: list[dict[str, Any]]) -> str:
    ordered = sorted(features, key=lambda item: item["id"])
    return hashlib.sha1(json.dumps(ordered, sort_keys=True).encode()).hexdigest()


def run_ours(status: dict[str, Any], frames: list[str], runs: int, batch: int) -> tuple[list[int], str]:
    from buildrunner_gui.model.clock import utc_now_iso
    from buildrunner_gui.model.follow import UpstreamFollower
    from buildrunner_gui.model.store import SessionStore

    samples: list[int] = []
    final = ""
    for _ in range(runs):
        source = {"kind": "mirror", "upstream": "ws://127.0.0.1:1/api/build/stream/x", "state": "live"}
        store = SessionStore("mirror", status["state"]["project"], source)  # type: ignore[arg-type]
        follower = UpstreamFollower(store)
        follower.take_status(json.loads(json.dumps(status)))
        decoded = [json.loads(frame) for frame in frames]
        gc.collect()
        start = time.perf_counter_ns()
        pending = []
        for index, message in enumerate(decoded, 1):
            if follower.take_event(message):
                pending.append(message)
            if index % batch == 0 and pending:
                store.publish(pending)
                store.set_source({**store.source, "last_contact": utc_now_iso()})
                pending = []
        if pending:
            store.publish(pending)
            store.set_source({**store.source, "last_contact": utc_now_iso()})
        samples.append(time.perf_counter_ns() - start)
        final = digest(store.snapshot()["features"])
    return samples, final


def run_landed(status: dict[str, Any], frames: list[str], runs: int) -> tuple[list[int], str]:
    from buildrunner_gui.model.mirror_state import MirrorState

    samples: list[int] = []
    final = ""
    for _ in range(runs):
        state = MirrorState()
        state.load(json.loads(json.dumps(status)))
        decoded = [json.loads(frame) for frame in frames]
        gc.collect()
        start = time.perf_counter_ns()
        for message in decoded:
            state.apply(message)
        samples.append(time.perf_counter_ns() - start)
        assert state.state is not None
        final = digest(state.state["features"])
    return samples, final


def status_frame_ours(status: dict[str, Any], frames: list[str], runs: int) -> tuple[list[int], int]:
    """The shared status frame after each new event: what the server builds once per seq."""
    from buildrunner_gui.model.follow import UpstreamFollower
    from buildrunner_gui.model.store import SessionStore

    store = SessionStore("mirror", status["state"]["project"], {"kind": "mirror", "upstream": "", "state": "live"})
    follower = UpstreamFollower(store)
    follower.take_status(status)
    samples: list[int] = []
    size = 0
    for frame in frames[:runs]:
        message = json.loads(frame)
        if follower.take_event(message):
            store.publish([message])
        start = time.perf_counter_ns()
        size = len(store.status_frame())
        samples.append(time.perf_counter_ns() - start)
    return samples, size


def status_frame_landed(status: dict[str, Any], runs: int) -> tuple[list[int], int]:
    """Landed: every client's `status` was encoded on its own (`channel.send_control(source.status_message())`)."""
    from buildrunner_gui.server.channel import encode

    samples: list[int] = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter_ns()
        size = len(encode(status))
        samples.append(time.perf_counter_ns() - start)
    return samples, size


def main() -> int:
    parser = argparse.ArgumentParser(description="one mirror-store measure for bench_store.py")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--code", choices=("ours-batched", "ours-single", "landed"), required=True)
    parser.add_argument("--measure", choices=("apply", "status-frame"), default="apply")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    scenario = json.loads(args.scenario.read_text())
    status, frames = scenario["status"], scenario["frames"]
    import buildrunner_gui

    result: dict[str, Any] = {"module": buildrunner_gui.__file__}
    if args.measure == "status-frame":
        if args.code == "landed":
            result["samples_ns"], result["size"] = status_frame_landed(status, args.runs)
        else:
            result["samples_ns"], result["size"] = status_frame_ours(status, frames, args.runs)
    elif args.code == "landed":
        result["samples_ns"], result["digest"] = run_landed(status, frames, args.runs)
    else:
        batch = BATCH if args.code == "ours-batched" else 1
        result["samples_ns"], result["digest"] = run_ours(status, frames, args.runs, batch)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
