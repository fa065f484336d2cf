"""Where `SessionStore.publish` spends a 10,001-message batch of bench_window_batch.py (no Qt, no window).

Each line publishes the same batches into a fresh store with one part of the work replaced by a no-op, so the
differences between lines are what that part costs: the running tallies (`ItemTally.add` / `remove`), the item
reducer (`_item_update`, `_put_item`), and what is left (stamping). The replay of events for resuming clients is
the server's (`server/frame_replay.py`), not the store's.

Run: .venv/bin/python bench/_window_batch_store.py [--batches 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import _window_batch_data as data

from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.runtime import tune_garbage_collector


class _NoTally:
    def add(self, status: str, progress: float) -> None:
        pass

    def remove(self, status: str, progress: float) -> None:
        pass


def _no_tallies(store: SessionStore) -> None:
    store._tallies = {"component": _NoTally(), "feature": _NoTally()}  # type: ignore[dict-item]


def _no_reducer(store: SessionStore) -> None:
    for kind in ("feature_update", "component_update"):
        store._reducers[kind] = lambda message: None


VARIANTS: list[tuple[str, Callable[[SessionStore], None] | None]] = [
    ("publish as it is", None),
    ("without the tallies", _no_tallies),
    ("without the item reducer (stamping only)", _no_reducer),
]


def measure(patch: Callable[[SessionStore], None] | None, batches: int, features: int, per_feature: int) -> list[float]:
    store = SessionStore(data.SESSION, {"name": "bench", "alias": None, "path": "/nonexistent"})
    store.publish(data.item_batch(0, features, per_feature))
    if patch is not None:
        patch(store)
    out = []
    for number in range(1, batches + 1):
        batch: list[Any] = data.item_batch(number, features, per_feature)
        start = time.perf_counter_ns()
        store.publish(batch)
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--features", type=int, default=2_000)
    parser.add_argument("--per-feature", type=int, default=4)
    args = parser.parse_args()
    tune_garbage_collector()  # as the app does
    messages = args.features * (1 + args.per_feature) + 1
    print(f"SessionStore.publish of {messages:,} messages, {args.batches} batches each:")
    for label, patch in VARIANTS:
        times = measure(patch, args.batches, args.features, args.per_feature)
        print(f"  {label:66s} median {statistics.median(times):6.1f} ms, max {max(times):6.1f} ms")


if __name__ == "__main__":
    main()
