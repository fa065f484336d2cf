"""`buildrunner-gui init` and `aliases`, run as real processes (each with its own BUILDRUNNER_HOME)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from buildrunner_gui.project.initializer import STEPS

from .conftest import snapshot

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


PRD = {
    "name": "Shop",
    "description": "An online shop.",
    "features": [
        {"name": "Catalogue", "description": "Browse products."},
        {"name": "Checkout", "description": "Pay for the cart."},
        {"name": "Accounts"},
    ],
    "tech_stack": ["Python", "PostgreSQL"],
}


@pytest.fixture
def prd(tmp_path: Path) -> Path:
    path = tmp_path / "prd.json"
    path.write_text(json.dumps(PRD))
    return path


def test_init_then_status_shows_the_prd_features_as_pending(world: Path, prd: Path):
    target = world / "projects" / "shop"
    result = run("init", "shop", str(target), "--prd", str(prd))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for number, (_, label) in enumerate(STEPS, 1):  # every step, in order, as it runs
        assert f"[{number}/{len(STEPS)}] {label}" in lines
    assert [i for i, line in enumerate(lines) if line.startswith("[")] == sorted(
        i for i, line in enumerate(lines) if line.startswith("[")
    )
    assert lines[-1] == str(target)  # and the project folder last
    assert result.stderr == ""

    for project in (str(target), "shop"):  # by folder and by alias
        status = run("status", project, "--json")
        assert status.returncode == 0, status.stderr
        state = json.loads(status.stdout)
        assert [(f["name"], f["status"], f["progress"]) for f in state["features"]] == [
            ("Catalogue", "pending", 0.0),
            ("Checkout", "pending", 0.0),
            ("Accounts", "pending", 0.0),
        ]
        assert state["feature_stats"]["total"] == 3 and state["feature_stats"]["pending"] == 3
        assert state["status"] == "pending" and state["errors"] == []
    assert state["project"]["alias"] == "shop"
    assert ".buildrunner/PROJECT_SPEC.md" in {d["file_path"] for d in state["documents"]}


def test_init_options_override_the_prd(world: Path, prd: Path):
    target = world / "projects" / "shop"
    result = run("init", "shop", str(target), "--prd", str(prd), "--name", "Big Shop", "--description", "Bigger.")
    assert result.returncode == 0, result.stderr
    features = json.loads((target / ".buildrunner" / "features.json").read_text())
    assert (features["project"], features["description"], len(features["features"])) == ("Big Shop", "Bigger.", 3)


def test_init_without_a_prd(world: Path):
    target = world / "projects" / "plain"
    result = run("init", "plain", str(target), "--name", "Plain", "--description", "Nothing yet.")
    assert result.returncode == 0, result.stderr
    spec = (target / ".buildrunner" / "PROJECT_SPEC.md").read_text()
    assert spec.startswith("# Plain\n") and "Nothing yet." in spec and "<Feature name>" in spec


@pytest.mark.parametrize("content", ["{broken", '{"features": [{"description": "no name"}]}', "[]"])
def test_a_bad_prd_file_is_one_line_and_exit_2(world: Path, tmp_path: Path, content: str):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    before = snapshot(world)
    result = run("init", "shop", str(world / "projects" / "shop"), "--prd", str(bad))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "bad.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(world) == before


def test_a_missing_prd_file_is_exit_2(world: Path, tmp_path: Path):
    result = run("init", "shop", str(world / "projects" / "shop"), "--prd", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("alias", "folder", "message"),
    [
        ("old", "shop", "already registered"),
        ("bad alias", "shop", "not valid"),
        ("shop", "old", "not empty"),
    ],
)
def test_invalid_arguments_are_one_line_and_exit_2(world: Path, alias: str, folder: str, message: str):
    before = snapshot(world)
    result = run("init", alias, str(world / "projects" / folder))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert snapshot(world) == before


def test_init_needs_both_arguments():
    result = run("init", "only-alias")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_install_without_pipx_on_path_is_a_clear_error(world: Path, tmp_path: Path):
    empty = tmp_path / "bin-without-pipx"
    empty.mkdir()
    before = snapshot(world)
    result = run("init", "shop", str(world / "projects" / "shop"), "--install-buildrunner", env={"PATH": str(empty)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "buildrunner-gui: pipx is not installed (not found on PATH): install pipx (https://pipx.pypa.io), "
        "or create the project without installing BuildRunner"
    ]
    assert snapshot(world) == before


def test_install_with_a_failing_pipx_is_exit_1_and_undone(world: Path, fake_pipx):
    fake_pipx.mode("network")
    before = snapshot(world)
    result = run("init", "shop", str(world / "projects" / "shop"), "--install-buildrunner")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "Install BuildRunner with pipx" in line and "no network" in line and "removed" in line
    assert "undo:" in result.stdout
    assert snapshot(world) == before


def test_a_corrupt_registry_stops_init_with_exit_1(world: Path, br_home: Path):
    (br_home / "projects.json").write_text('{"old": {"path": ')
    result = run("init", "shop", str(world / "projects" / "shop"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "corrupt" in result.stderr
    assert not (world / "projects" / "shop").exists()
    assert (br_home / "projects.json").read_text() == '{"old": {"path": '
    assert len(list(br_home.glob("projects.json.corrupt-*"))) == 1


# ------------------------------------------------------------------------------------------------ aliases


def test_aliases_list_and_remove(world: Path, br_home: Path, prd: Path):
    assert run("init", "shop", str(world / "projects" / "shop"), "--prd", str(prd)).returncode == 0
    for args in (("aliases",), ("aliases", "list")):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert [line.split()[0] for line in lines] == ["old", "only-here", "shop", "stray"]
        shop = next(line for line in lines if line.startswith("shop"))
        assert shop.split() == ["shop", str(world / "projects" / "shop")]
        assert "(folder missing)" in next(line for line in lines if line.startswith("only-here"))

    result = run("aliases", "remove", "shop")
    assert result.returncode == 0, result.stderr
    assert "shop" in result.stdout
    assert "shop" not in json.loads((br_home / "projects.json").read_text())
    assert "shop" not in json.loads((br_home / "aliases.json").read_text())
    assert json.loads((br_home / "projects.json").read_text())["old"]["color"] == "teal"
    assert (world / "projects" / "shop" / ".buildrunner").is_dir()  # the folder is left alone
    assert "shop" not in run("aliases").stdout


def test_aliases_remove_unknown_is_exit_2(world: Path):
    result = run("aliases", "remove", "nope")
    assert result.returncode == 2 and result.stderr.strip() == "buildrunner-gui: no alias 'nope' is registered"


def test_aliases_remove_needs_an_alias():
    result = run("aliases", "remove")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_aliases_list_when_none_are_registered():
    result = run("aliases")
    assert result.returncode == 0 and result.stdout == "" and "no aliases registered" in result.stderr


def test_aliases_on_a_corrupt_registry_is_exit_1_and_backed_up(world: Path, br_home: Path):
    truncated = (br_home / "aliases.json").read_bytes()[:20]
    (br_home / "aliases.json").write_bytes(truncated)
    for args in (("aliases",), ("aliases", "remove", "old")):
        result = run(*args)
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert "aliases.json is corrupt" in line and "aliases.json.corrupt-" in line
    assert (br_home / "aliases.json").read_bytes() == truncated
    [backup] = br_home.glob("aliases.json.corrupt-*")
    assert backup.read_bytes() == truncated
    assert "old" in json.loads((br_home / "projects.json").read_text())  # remove did nothing


def test_help_lists_the_new_commands():
    result = run("--help")
    assert "init" in result.stdout and "aliases" in result.stdout
    for args in (("init", "--help"), ("aliases", "--help"), ("aliases", "remove", "--help")):
        assert run(*args).returncode == 0


def test_ctrl_c_during_init_rolls_back_and_exits_130(world: Path, fake_pipx):
    fake_pipx.mode("hang")
    before = snapshot(world)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "buildrunner_gui",
            "init",
            "shop",
            str(world / "projects" / "shop"),
            "--install-buildrunner",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    seen = []
    for line in process.stdout:  # wait until pipx is running
        seen.append(line)
        if "pipx install" in line:
            break
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(seen) + stdout + stderr
    assert stderr.strip() == "buildrunner-gui: init cancelled; everything it created was removed"
    assert snapshot(world) == before
