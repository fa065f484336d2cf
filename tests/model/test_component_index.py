"""The incremental component index gives exactly what a full derivation gives, change after change."""

from __future__ import annotations

import random

from buildrunner_gui.model.figures import ComponentIndex, shown_components
from buildrunner_gui.model.formats import Item, parse_items

STATUSES = ("planned", "in_progress", "complete", "failed", "testing")


def random_feature(rng: random.Random, number: int) -> dict:
    return {
        "id": f"f{number}",
        "status": rng.choice(STATUSES),
        "progress": rng.randrange(0, 101),
        "components": [f"src/{rng.randrange(12)}.py" for _ in range(rng.randint(0, 4))],
    }


def public(items: list[Item]) -> list[dict]:
    return [item.public() for item in items]


def test_incremental_index_matches_full_derivation_under_random_changes():
    rng = random.Random(7)
    raw = [random_feature(rng, n) for n in range(40)]
    index = ComponentIndex()
    shown: dict[str, Item] = {}
    for step in range(300):
        action = rng.random()
        if action < 0.6:  # a status / progress change: the incremental path
            target = rng.randrange(len(raw))
            raw[target] = {**raw[target], "status": rng.choice(STATUSES), "progress": rng.randrange(0, 101)}
        elif action < 0.75:
            target = rng.randrange(len(raw))
            raw[target] = {**raw[target], "components": [f"src/{rng.randrange(12)}.py"]}
        elif action < 0.85:
            rng.shuffle(raw)
        elif action < 0.93:
            raw.append(random_feature(rng, 1000 + step))
        elif len(raw) > 1:
            raw.pop(rng.randrange(len(raw)))
        # Unchanged features keep their objects, as the engine arranges.
        parsed = parse_items([dict(f) for f in raw], "feature")
        features = [shown[i.id] if i.id in shown and shown[i.id].raw == i.raw else i for i in parsed]
        shown = {f.id: f for f in features}
        assert public(index.update(features)) == public(shown_components(features, None)), step
