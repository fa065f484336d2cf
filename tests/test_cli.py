"""`buildrunner-gui status`, `schema` and the usage rules of cli.md, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from buildrunner_gui import __version__
from buildrunner_gui.model.activity import local_time
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
    assert (printed["status"], printed["progress"]["percent"]) == ("completed", 100.0)
    assert result.stdout.count("\n") == 1  # one line


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
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert "BuildRunner3" in lines[0]
    assert "status: completed   progress: 100.0%   (17/17 completed)" in lines
    assert "features: 17 total, 17 completed, 0 in progress, 0 pending, 0 failed" in lines
    assert line_starting("activity: ", lines).startswith("activity: completed (last change 2025-11-1")
    assert "counts: features: 17 of 17 complete" in lines
    assert "phase: build_4e_start" in lines
    newest = (sample_project / ".buildrunner/logs/research-cost.log").read_text().splitlines()[-1]
    assert line_starting("newest line: ", lines).removesuffix("…")[:40] == f"newest line: {newest}"[:40]
    assert not any(line.startswith(("reason: ", "current: ")) for line in lines)


def line_starting(prefix: str, lines: list[str]) -> str:
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1, (prefix, lines)
    return found[0]


def test_status_summary_of_the_full_tree_says_idle_not_building(full_tree):
    result = run("status", str(full_tree))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "status: in_progress   progress: 0.0%   (0/0 completed)" in lines
    # Its newest recorded time: the registry's last_updated (2026-04-20), after the last checkpoint.
    since = local_time(datetime(2026, 4, 20, 20, 6, 20, 436000, tzinfo=UTC), datetime.now(UTC))
    assert line_starting("activity: ", lines).startswith(f"activity: idle since {since} (")
    assert "counts: nothing to count yet" in lines
    assert "phase: build_4e_start" in lines
    assert "building" not in result.stdout


def write_project(root: Path, checkpoint: dict, registry: dict | None = None, log: str = "") -> Path:
    state = root / ".buildrunner"
    (state / "checkpoints").mkdir(parents=True)
    (state / "checkpoints" / "cp.json").write_text(json.dumps(checkpoint))
    if registry is not None:
        (state / "features.json").write_text(json.dumps(registry))
    if log:
        (state / "logs").mkdir()
        (state / "logs" / "build.log").write_text(log)
    return root


def test_status_summary_of_a_live_build_says_building_and_what(tmp_path):
    now = datetime.now(UTC).isoformat()
    features = [
        {"id": "a", "name": "Auth", "status": "in_progress", "progress": 40},
        {"id": "b", "name": "API", "status": "done"},
        {"id": "c", "name": "UI", "status": "planned"},
    ]
    project = write_project(
        tmp_path / "live",
        {"timestamp": now, "phase": "build_2_api"},
        {"last_updated": now, "features": features},
        "step 1\nstep 2: compiling auth\n",
    )
    lines = run("status", str(project)).stdout.splitlines()
    assert line_starting("activity: ", lines).startswith("activity: building (for ")
    assert "counts: features: 1 of 3 complete" in lines
    assert "phase: build_2_api" in lines
    assert "current: Auth" in lines
    assert "newest line: step 2: compiling auth" in lines


def test_status_summary_of_a_failed_build_gives_the_reason(tmp_path):
    project = write_project(
        tmp_path / "broken",
        {"id": "cp-9", "timestamp": "2025-03-01T10:00:00Z", "phase": "build_3", "error": {"message": "tests failed"}},
    )
    result = run("status", str(project))
    lines = result.stdout.splitlines()
    assert "status: failed   progress: 0.0%   (0/0 completed)" in lines
    assert line_starting("activity: ", lines).startswith("activity: failed (last change 2025-03-01 ")
    assert "reason: tests failed (checkpoint cp-9)" in lines


def test_status_json_indent_pretty_prints_the_same_object(sample_project):
    flat = run("status", str(sample_project), "--json")
    pretty = run("status", str(sample_project), "--json", "--indent", "2")
    assert pretty.returncode == 0, pretty.stderr
    assert pretty.stdout.startswith('{\n  "project": {\n    "name": "BuildRunner3"')
    assert without_times(json.loads(pretty.stdout)) == without_times(json.loads(flat.stdout))


def test_status_indent_without_json_is_bad_usage(sample_project):
    result = run("status", str(sample_project), "--indent", "2")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "buildrunner-gui status: --indent goes with --json (see buildrunner-gui status --help)\n"


def test_status_on_a_folder_without_state_says_so_on_stderr(tmp_path):
    project = tmp_path / "fresh"
    project.mkdir()
    result = run("status", str(project))
    assert result.returncode == 0
    assert result.stderr.count("\n") == 1
    assert result.stderr == f"buildrunner-gui: {project} has no .buildrunner/ yet: no build has run there\n"
    assert "status: pending" in result.stdout
    as_json = run("status", str(project), "--json")
    assert as_json.stderr == result.stderr and json.loads(as_json.stdout)["status"] == "pending"


@pytest.mark.parametrize("inside", [".buildrunner", ".buildrunner/checkpoints"])
def test_status_on_the_state_folder_reads_its_project(sample_project, inside):
    result = run("status", str(sample_project / inside), "--json")
    assert result.returncode == 0
    assert result.stderr.count("\n") == 1
    assert f"reading the project {sample_project}" in result.stderr
    printed = json.loads(result.stdout)
    assert printed["project"]["path"] == str(sample_project)
    assert without_times(printed) == without_times(json.loads(run("status", str(sample_project), "--json").stdout))


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


@pytest.mark.parametrize(
    "args",
    [
        ["status", "/no/such/project"],
        ["status"],
        ["no-such-command"],
        ["status", "x", "--json", "--indent", "-1"],
        ["serve", "x", "--port", "many"],
        ["aliases", "rename"],
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("buildrunner-gui")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("word", "meant"), [("stauts", "status"), ("sevre", "serve"), ("mirorr", "mirror"), ("Schema", "schema")]
)
def test_a_mistyped_command_is_refused_before_anything_starts(word, meant, tmp_path):
    # With no display, a PROJECT would be served headless; a mistyped command must not get that far.
    result = run(word, "x", env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"buildrunner-gui: '{word}' is not a command, a project folder or a registered alias; did you mean '{meant}'?\n"
    )


def test_a_word_unlike_any_command_is_a_project():
    from buildrunner_gui.cli import parse_arguments

    assert parse_arguments(["frobnicate"])[1].projects == ["frobnicate"]
    result = run("status", "frobnicate")  # reported as a project, when it is opened
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "'frobnicate' is neither a project folder nor a registered alias" in result.stderr


def test_a_word_that_is_a_folder_or_an_alias_is_a_project(tmp_path, monkeypatch):
    from buildrunner_gui.cli import parse_arguments

    (tmp_path / "stauts").mkdir()
    home = tmp_path / "brhome"
    home.mkdir()
    (home / "aliases.json").write_text(json.dumps({"sevre": str(tmp_path / "stauts")}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BUILDRUNNER_HOME", str(home))
    assert parse_arguments(["stauts"])[1].projects == ["stauts"]
    assert parse_arguments(["sevre", "--debug"])[1].projects == ["sevre"]
    with pytest.raises(SystemExit) as refused:
        parse_arguments(["sttaus"])
    assert refused.value.code == 2


def test_help_shows_the_plain_window_use_first():
    for args in (["--help"], ["-h"], ["some/project", "--help"]):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        first = result.stdout.splitlines()[0]
        assert first == "usage: buildrunner-gui [--demo] [--debug] [PROJECT ...]", (args, first)
        assert "buildrunner-gui COMMAND" in result.stdout.splitlines()[1]
    commands = run("--help").stdout
    assert all(name in commands for name in ("status", "serve", "mirror", "schema", "init", "aliases"))
    assert run("status", "--help").stdout.startswith("usage: buildrunner-gui status ")


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
