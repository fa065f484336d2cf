"""Re-parsing a registry with its previous parse reuses unchanged items and gives the same result."""

from __future__ import annotations

import json

from buildrunner_gui.model.formats import parse_registry


def test_reparse_reuses_unchanged_items_and_matches_a_fresh_parse(fixtures_dir):
    data = (fixtures_dir / "br3-sample" / ".buildrunner" / "features.json").read_bytes()
    first = parse_registry(data)
    changed = json.loads(data)
    changed["features"][3]["status"] = "failed"
    changed["features"].insert(0, {"id": "brand-new", "status": "wip"})
    changed_bytes = json.dumps(changed).encode()

    reused = parse_registry(changed_bytes, first)
    fresh = parse_registry(changed_bytes)
    assert [i.public() for i in reused.features] == [i.public() for i in fresh.features]
    # Inserting at the top shifts positions: nothing lines up, nothing is wrongly reused.
    assert not any(item is old for item in reused.features for old in first.features)

    again = parse_registry(json.dumps({**changed, "version": "9"}).encode(), reused)
    assert all(new is old for new, old in zip(again.features, reused.features, strict=True))
