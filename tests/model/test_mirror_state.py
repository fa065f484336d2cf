"""A mirror fed only by protocol messages ends up with the same state as the engine that sent them."""

from __future__ import annotations

import json
import shutil

from buildrunner_gui.model.engine import SessionEngine
from buildrunner_gui.model.mirror_state import MirrorState
from buildrunner_gui.sources.reader import ProjectReader


def comparable(state: dict) -> dict:
    """Drop what only the sender can know: when lines and checkpoints were seen, and artifact sizes."""
    state = json.loads(json.dumps(state))
    for key in ("terminal", "files", "errors"):
        for row in state[key]:
            row.pop("timestamp", None)
    state["checkpoints"] = sorted(
        ({k: v for k, v in row.items() if k != "timestamp"} for row in state["checkpoints"]),
        key=lambda row: row["checkpoint_id"],
    )
    state.pop("artifacts")
    return state


def test_mirror_follows_the_engine_through_real_file_changes(tmp_path, fixtures_dir):
    project = tmp_path / "p"
    shutil.copytree(fixtures_dir / "br3-sample", project)
    for path in [project, *project.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    reader = ProjectReader(str(project))
    engine = SessionEngine("p", "p", str(project))
    engine.apply(reader.scan())
    mirror = MirrorState()
    mirror.load(engine.status_message())

    state_dir = project / ".buildrunner"
    registry = json.loads((state_dir / "features.json").read_text())

    def change(rel: str, write) -> None:
        write()
        for message in engine.apply(reader.sync(rel).inputs):
            assert mirror.apply(message)

    registry["features"][0]["status"] = "failed"
    registry["features"].pop(5)
    registry["features"].append({"id": "new-1", "name": "New", "status": "wip", "components": ["x/new.py"]})
    change(".buildrunner/features.json", lambda: (state_dir / "features.json").write_text(json.dumps(registry)))
    change(
        ".buildrunner/checkpoints/late.json",
        lambda: (state_dir / "checkpoints/late.json").write_text(
            json.dumps(
                {
                    "id": "late",
                    "timestamp": "2031-01-01T00:00:00",
                    "phase": "build_x",
                    "completion": 61,
                    "tasks_completed": ["a", "b"],
                }
            )
        ),
    )
    change(
        ".buildrunner/checkpoints/checkpoint_20251117_213005_705272.json",
        lambda: (state_dir / "checkpoints/checkpoint_20251117_213005_705272.json").unlink(),
    )
    change(".buildrunner/context/notes.md", lambda: (state_dir / "context/notes.md").write_text("# Notes\nhello\n"))
    change(".buildrunner/context/blockers.md", lambda: (state_dir / "context/blockers.md").unlink())

    def append_log() -> None:
        with (state_dir / "logs/research-cost.log").open("a") as handle:
            handle.write("one\ntwo\n")

    change(".buildrunner/logs/research-cost.log", append_log)
    change(".buildrunner/checkpoints/bad.json", lambda: (state_dir / "checkpoints/bad.json").write_text("{oops"))

    assert comparable(mirror.state) == comparable(engine.snapshot())
    assert mirror.seq == engine.seq


def test_old_or_foreign_events_are_ignored():
    mirror = MirrorState()
    mirror.load({"epoch": "e1", "seq": 5, "state": {"errors": []}})
    assert not mirror.apply({"type": "error", "epoch": "e1", "seq": 5})
    assert not mirror.apply({"type": "error", "epoch": "e2", "seq": 9})
    assert mirror.apply(
        {
            "type": "error",
            "epoch": "e1",
            "seq": 6,
            "error_message": "m",
            "error_type": "t",
            "file_path": None,
            "timestamp": "now",
        }
    )
    assert mirror.state["errors"][0]["error_message"] == "m"
