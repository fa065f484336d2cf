"""`buildrunner-gui status` and `schema`, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from buildrunner_gui import __version__
from buildrunner_gui.model.messages import EVENT_TOPICS, SNAPSHOT
from buildrunner_gui.sources.oneshot import read_once


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def without_times(state: dict) -> dict:
    """The snapshot minus wall-clock stamps of when lines were seen, which differ between two reads."""
    state = json.loads(json.dumps(state))
    for key in ("terminal", "files", "errors"):
        for row in state[key]:
            row.pop("timestamp", None)
    return state


def test_status_json_prints_exactly_the_snapshot(sample_project):
    result = run("status", str(sample_project), "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    SNAPSHOT.validate_python(printed)
    assert without_times(printed) == without_times(read_once(sample_project).snapshot())
    assert printed["project"]["name"] == "BuildRunner3"
    assert printed["feature_stats"]["total"] == 17
    assert printed["component_stats"]["total"] == 91
    assert printed["status"] == "in_progress"


def test_status_json_on_the_full_real_tree(full_tree):
    result = run("status", str(full_tree), "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert [c["checkpoint_id"] for c in printed["checkpoints"]] == sorted(
        p.stem for p in (full_tree / ".buildrunner/checkpoints").glob("*.json")
    )
    assert printed["features"] == [] and printed["feature_stats"]["total"] == 0
    assert {d["file_path"] for d in printed["documents"]} >= {".buildrunner/PROJECT_SPEC.md"}
    assert printed["errors"] == []


def test_status_summary_is_readable(sample_project):
    result = run("status", str(sample_project))
    assert result.returncode == 0, result.stderr
    assert "BuildRunner3" in result.stdout
    assert "status: in_progress" in result.stdout
    assert "features: 17 total, 17 completed" in result.stdout


def test_status_on_a_project_made_by_hand(tmp_path):
    project = tmp_path / "handmade"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    (project / ".buildrunner" / "checkpoints" / "first.json").write_text(
        json.dumps(
            {
                "phase": "setup",
                "tasks_completed": ["scaffold", "lint"],
                "components": {"api": {"status": "done"}, "ui": {"status": "running", "progress": "40%"}},
            }
        )
    )
    (project / ".buildrunner" / "checkpoints" / "broken.json").write_text("{not json")

    result = run("status", str(project), "--json")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert [(c["id"], c["status"], c["progress"]) for c in state["components"]] == [
        ("api", "completed", 100.0),
        ("ui", "in_progress", 40.0),
    ]
    assert state["progress"]["percent"] == 70.0
    assert state["progress"]["tasks_completed"] == 2
    assert state["status"] == "in_progress"
    assert [(e["file_path"], e["error_type"]) for e in state["errors"]] == [
        (".buildrunner/checkpoints/broken.json", "invalid_json")
    ]


def test_status_accepts_a_registered_alias(sample_project, tmp_path):
    home = tmp_path / "brhome"
    home.mkdir()
    (home / "aliases.json").write_text(json.dumps({"sample": str(sample_project)}))
    result = run("status", "sample", "--json", env={"BUILDRUNNER_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["project"]["alias"] == "sample"


@pytest.mark.parametrize("args", [["status", "/no/such/project"], ["status"], ["no-such-command"]])
def test_bad_usage_is_one_line_and_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_schema_describes_every_message():
    result = run("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    server = json.dumps(schema["server_to_client"])
    for message_type in [*EVENT_TOPICS, "connection", "status", "pong", "subscribed"]:
        assert f'"const": "{message_type}"' in server, message_type
    client = json.dumps(schema["client_to_server"])
    for message_type in ("ping", "subscribe", "request_status", "resume"):
        assert f'"const": "{message_type}"' in client, message_type


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"buildrunner-gui {__version__}"


def test_model_layer_never_imports_qt():
    code = (
        "import sys, buildrunner_gui.model.engine, buildrunner_gui.model.messages, "
        "buildrunner_gui.sources.oneshot; print(any(m.startswith('PySide6') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_entry_point_script_is_installed():
    script = Path(sys.executable).with_name("buildrunner-gui")
    assert script.exists(), "the buildrunner-gui command must be installed beside the interpreter"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0


@pytest.mark.parametrize(
    ("argv", "command", "projects"),
    [
        (["some/project"], None, ["some/project"]),
        (["--debug", "a", "b"], None, ["a", "b"]),
        (["--demo"], None, []),
        ([], None, []),
        (["status", "x"], "status", None),
        (["--debug", "serve", "x", "--port", "0"], "serve", ["x"]),
    ],
)
def test_project_arguments_and_commands_are_told_apart(argv, command, projects):
    from buildrunner_gui.cli import parse_arguments

    _, args = parse_arguments(argv)
    assert args.command == command
    if projects is not None:
        assert args.projects == projects


def test_self_test_from_source():
    result = run("--self-test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("self-test ok:")


def test_mirror_takes_several_urls_and_one_token():
    from buildrunner_gui.cli import parse_arguments

    urls = ["ws://a:8765/api/build/stream/one", "ws://b:8765/api/build/stream/two"]
    _, args = parse_arguments(["mirror", *urls, "--token", "t" * 16])
    assert (args.command, args.urls, args.token) == ("mirror", urls, "t" * 16)
