"""Issue measure 2: a 2,000-feature, ~1 MiB `features.json` changes (100 features change status/progress).

Measured: `parse_registry(bytes)` + `engine.apply([FileRead])` (the diff and the messages it returns), target
< 30 ms; baseline `json.loads` of the same bytes. The engine alternates between two versions of the registry, so
every timed apply is a real change of 100 features (and of the components they list).

Run: .venv/bin/python bench/bench_registry.py [--runs 100]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _benchlib as bl

bl.use_offscreen_qt()

import _benchqt as bq  # noqa: E402

from buildrunner_gui.model import figures, jsonbytes  # noqa: E402
from buildrunner_gui.model.engine import Message, SessionEngine  # noqa: E402
from buildrunner_gui.model.formats import FeatureRegistry, parse_registry  # noqa: E402
from buildrunner_gui.model.inputs import FileRead  # noqa: E402
from buildrunner_gui.sources.reader import ProjectReader  # noqa: E402
from buildrunner_gui.sources.watcher import ProjectWatcher  # noqa: E402

FEATURES = 2_000
CHANGED = 100
TARGET_BYTES = 1024 * 1024
TARGET_MS = 30.0
REGISTRY_PATH = ".buildrunner/features.json"
COMPONENT_POOL = 700  # distinct component paths, shared between features as in real registries
STATUS_CHANGES = {"planned": ("in_progress", 35), "in_progress": ("complete", 100), "complete": ("in_progress", 80)}

Registry = dict[str, Any]


# ---------------------------------------------------------------------------- the synthetic registry


def sample_templates() -> list[dict[str, Any]]:
    """The real BR3 sample registry's features: their names, descriptions and shapes seed the synthetic ones."""
    return json.loads(bl.SAMPLE_FEATURES.read_text())["features"]


def make_feature(index: int, template: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    status = rng.choice(("planned", "in_progress", "complete"))
    progress = {"planned": 0, "in_progress": rng.randrange(5, 95), "complete": 100}[status]
    components = sorted(
        {
            f"src/module_{rng.randrange(COMPONENT_POOL):03d}/{rng.choice(('core', 'cli', 'api', 'ui'))}.py"
            for _ in range(rng.randint(2, 5))
        }
    )
    dependencies = [f"feat-{rng.randrange(1, index):04d}" for _ in range(rng.randint(0, 2))] if index > 1 else []
    return {
        "id": f"feat-{index:04d}",
        "name": f"{template['name']} #{index}",
        "description": template.get("description", ""),
        "priority": rng.choice(("critical", "high", "medium", "low")),
        "status": status,
        "progress": progress,
        "components": components,
        "tests": {"unit": rng.randrange(0, 40), "integration": rng.randrange(0, 12), "passing": rng.random() < 0.9},
        "dependencies": dependencies,
        "created_at": "2024-11-01T00:00:00Z",
    }


def pad_descriptions(registry: Registry, target_bytes: int) -> None:
    """Lengthen every description evenly until the file is about `target_bytes`."""
    filler = (
        "Implements the behaviour described in the spec, with validation, error handling, logging and "
        "documentation; acceptance criteria are tracked in the build plan. "
    )
    missing = target_bytes - len(encode(registry))
    per_feature = max(0, missing // len(registry["features"]))
    for feature in registry["features"]:
        extra = (filler * (per_feature // len(filler) + 1))[:per_feature]
        feature["description"] = f"{feature['description']} {extra}".strip()


def make_registry(seed: int = 2) -> Registry:
    rng = random.Random(seed)
    templates = sample_templates()
    registry: Registry = {
        "project": "BuildRunner3-bench",
        "version": "3.2.0-alpha.1",
        "status": "active",
        "last_updated": "2024-11-24T18:00:00.000000Z",
        "features": [make_feature(i, templates[(i - 1) % len(templates)], rng) for i in range(1, FEATURES + 1)],
    }
    pad_descriptions(registry, TARGET_BYTES)
    return registry


def changed_copy(registry: Registry, changes: int, seed: int = 3) -> Registry:
    """The same registry with `changes` features moved on a step (status and progress)."""
    changed = copy.deepcopy(registry)
    changed["last_updated"] = "2024-11-24T18:05:00.000000Z"
    for feature in random.Random(seed).sample(changed["features"], changes):
        feature["status"], feature["progress"] = STATUS_CHANGES[feature["status"]]
    return changed


def encode(registry: Registry) -> bytes:
    return json.dumps(registry).encode()  # compact: 2,000 realistic features indented would already be 1.3 MB


# ---------------------------------------------------------------------------- the measures


def new_engine() -> SessionEngine:
    return SessionEngine("bench", project_name="bench", project_path="/bench")


def read_of(data: bytes) -> FileRead:
    return FileRead(REGISTRY_PATH, "features", "modified", parse_registry(data), len(data), time.time(), True)


def time_changes(versions: tuple[bytes, bytes], runs: int) -> tuple[list[int], list[int], list[int], list[Message]]:
    """Apply the two versions alternately; time parse, apply and the two together. Returns the last messages."""
    engine = new_engine()
    first = read_of(versions[0])
    engine.apply([first])
    previous = first.record  # as ProjectReader does: the last good parse of the file is handed to the next
    parse_ns: list[int] = []
    apply_ns: list[int] = []
    total_ns: list[int] = []
    messages: list[Message] = []
    for run in range(runs + 2):  # two untimed warm-up changes
        data = versions[(run + 1) % 2]
        t0 = time.perf_counter_ns()
        record = parse_registry(data, previous)
        t1 = time.perf_counter_ns()
        previous = record
        messages = engine.apply([FileRead(REGISTRY_PATH, "features", "modified", record, len(data), 0.0, True)])
        t2 = time.perf_counter_ns()
        if run >= 2:
            parse_ns.append(t1 - t0)
            apply_ns.append(t2 - t1)
            total_ns.append(t2 - t0)
    return parse_ns, apply_ns, total_ns, messages


def time_unchanged(data: bytes, runs: int) -> list[int]:
    """The same content read again (editors and close events report one write twice): parse + apply, no messages."""
    engine = new_engine()
    engine.apply([read_of(data)])

    def again() -> None:
        assert not engine.apply([read_of(data)])

    return bl.time_calls_ns(again, runs)


def time_through_reader(versions: tuple[bytes, bytes], runs: int) -> list[int]:
    """As the worker thread does it: ProjectReader.sync (stat, read, parse) + engine.apply, file on disk."""
    with bl.temp_dir("bench-registry-") as tmp:
        target = tmp / ".buildrunner" / "features.json"
        target.parent.mkdir(parents=True)
        reader = ProjectReader(str(tmp))
        engine = new_engine()
        target.write_bytes(versions[0])
        engine.apply(reader.scan())
        samples: list[int] = []
        for run in range(runs + 2):
            write_new_version(target, versions[(run + 1) % 2])
            start = time.perf_counter_ns()
            engine.apply(reader.sync(REGISTRY_PATH).inputs)
            if run >= 2:
                samples.append(time.perf_counter_ns() - start)
        return samples


def write_new_version(target: Path, data: bytes) -> None:
    target.write_bytes(data)


class FeatureUpdateProbe:
    """GUI-thread slot: notes when the batch with this write's feature_update messages arrives."""

    def __init__(self, waiter: bq.Waiter) -> None:
        self.waiter = waiter
        self.armed = False
        self.arrived_ns = 0
        self.reads = 0  # file_change messages: reads of the registry that the engine announced
        self.errors = 0

    def take(self, batch: list[Message]) -> None:
        now = time.perf_counter_ns()
        self.errors += sum(message["type"] == "error" for message in batch)
        if self.armed and any(message["type"] == "feature_update" for message in batch):
            self.armed = False
            self.arrived_ns = now
            self.waiter.finish()


def time_through_watcher(versions: tuple[bytes, bytes], runs: int, settle_ms: float = 300) -> tuple[list[int], int]:
    """End to end, as the app sees it: write features.json -> its feature_update batch in a GUI-thread slot,
    through ProjectWatcher (watchdog events, reader thread, engine, Qt). Returns (samples, error messages)."""
    bq.qt_app()
    with bl.temp_dir("bench-registry-live-") as tmp:
        project = bq.make_project(tmp)
        target = project / REGISTRY_PATH
        target.write_bytes(versions[0])
        waiter = bq.Waiter()
        probe = FeatureUpdateProbe(waiter)
        watcher = ProjectWatcher(project)
        watcher.batches.connect(probe.take)
        watcher.start()
        assert bq.wait_ready(watcher, 30_000), "the watcher did not finish its first scan"
        bq.pump(500)
        samples: list[int] = []
        try:
            for run in range(runs):
                probe.armed = True
                start = time.perf_counter_ns()
                write_new_version(target, versions[(run + 1) % 2])
                if waiter.wait(10_000):
                    samples.append(probe.arrived_ns - start)
                bq.pump(settle_ms)  # the close event's re-read of the same bytes runs here, unmeasured
        finally:
            watcher.stop()
        return samples, probe.errors


def time_gc_disabled(versions: tuple[bytes, bytes], runs: int) -> list[int]:
    """parse + apply with the cyclic garbage collector off: how much of the time is collections."""
    gc.collect()
    gc.disable()
    try:
        return time_changes(versions, runs)[2]
    finally:
        gc.enable()


def time_internals(data: bytes, runs: int) -> dict[str, list[int]]:
    """The main costs inside parse and apply, timed one by one (private helpers: for diagnosis only)."""
    value = json.loads(data)
    registry = parse_registry(data)
    features = figures.shown_features(registry, None)
    return {
        "load_json (decode + json.loads + depth check)": bl.time_calls_ns(lambda: jsonbytes.load_json(data), runs),
        "jsonbytes._depth_exceeds alone": bl.time_calls_ns(lambda: jsonbytes._depth_exceeds(value, 100), runs),
        "FeatureRegistry.from_json (2,000 Items)": bl.time_calls_ns(lambda: FeatureRegistry.from_json(value), runs),
        "figures.shown_components (Items per path)": bl.time_calls_ns(
            lambda: figures.shown_components(features, None), runs
        ),
    }


def describe(versions: tuple[bytes, bytes], messages: list[Message]) -> str:
    kinds = Counter(message["type"] for message in messages)
    payload = len(json.dumps(messages))
    return (
        f"registry: {FEATURES} features, {len(versions[0]):,} / {len(versions[1]):,} bytes; {CHANGED} features "
        f"change per version; one change yields {len(messages)} messages ({dict(kinds)}), {payload:,} bytes "
        f"as JSON"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    load = bl.MachineLoad()
    bl.print_header("bench_registry", "features.json change: parse + diff + messages (issue measure 2)")
    base = make_registry()
    versions = (encode(base), encode(changed_copy(base, CHANGED)))

    parse_ns, apply_ns, total_ns, messages = time_changes(versions, args.runs)
    loads_ns = bl.time_calls_ns(lambda: json.loads(versions[1]), args.runs)
    dumps_ns = bl.time_calls_ns(lambda: json.dumps(messages), args.runs)
    unchanged_ns = time_unchanged(versions[1], args.runs // 2)
    reader_ns = time_through_reader(versions, args.runs // 2)
    live_ns, live_errors = time_through_watcher(versions, args.runs // 4)
    no_gc_ns = time_gc_disabled(versions, args.runs // 2)
    internals = time_internals(versions[1], args.runs // 2)
    print(describe(versions, messages))

    total = bl.Summary.of(bl.ns_to_ms(total_ns))
    loads_ms = bl.ns_to_ms(loads_ns)
    rows = [
        bl.timed_row(
            "parse_registry + engine.apply (100 of 2,000 changed)",
            bl.ns_to_ms(total_ns),
            "< 30 ms",
            loads_ms,
            bl.verdict(total.median < TARGET_MS and total.p99 < TARGET_MS),
        ),
        bl.timed_row("  (info) of which parse_registry", bl.ns_to_ms(parse_ns), "-", loads_ms, "info"),
        bl.timed_row("  (info) of which engine.apply (diff + messages)", bl.ns_to_ms(apply_ns), "-", None, "info"),
        bl.timed_row("  (info) parse + apply with gc disabled", bl.ns_to_ms(no_gc_ns), "-", loads_ms, "info"),
        *[
            bl.timed_row(f"  (info) {name}", bl.ns_to_ms(samples), "-", None, "info")
            for name, samples in internals.items()
        ],
        bl.timed_row("  (info) json.dumps of the messages", bl.ns_to_ms(dumps_ns), "-", None, "info"),
        bl.timed_row(
            "  (info) same bytes re-read: parse + apply, no messages", bl.ns_to_ms(unchanged_ns), "-", loads_ms, "info"
        ),
        bl.timed_row(
            "  (info) ProjectReader.sync (stat+read+parse) + apply", bl.ns_to_ms(reader_ns), "-", loads_ms, "info"
        ),
        bl.timed_row(
            f"  (info) end to end: write -> feature_update in GUI slot ({live_errors} error msgs)",
            bl.ns_to_ms(live_ns),
            "-",
            None,
            "info",
        ),
    ]
    bl.print_table("2,000-feature registry change", rows)
    print("baseline: json.loads of the same bytes (the changed version)")
    print(load.report())


if __name__ == "__main__":
    main()
