"""Every validation rule, as `validation_errors` reports it (cheap, no side effects) and as `run()` enforces it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from buildrunner_gui.project import initializer, registry
from buildrunner_gui.project.initializer import (
    FeatureSpec,
    InitError,
    ProjectInitializer,
    ProjectRequest,
    validation_errors,
)

from .conftest import snapshot


def request(path: Path | str, alias: str = "app", **kwargs) -> ProjectRequest:
    return ProjectRequest(alias=alias, path=Path(path) if not isinstance(path, str) else path, **kwargs)


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    folder = tmp_path / "projects"
    folder.mkdir()
    return folder


def test_a_good_request_has_no_errors(parent: Path):
    assert validation_errors(request(parent / "new")) == {}


# ------------------------------------------------------------------------------------------------ alias


@pytest.mark.parametrize("alias", ["a", "A" * 64, "a_b-c9", "9lives", "X"])
def test_valid_aliases(parent: Path, alias: str):
    assert validation_errors(request(parent / "new", alias)) == {}


@pytest.mark.parametrize(
    "alias", ["", "-lead", "_lead", "has space", "dot.ted", "sl/ash", "a" * 65, "ünï", "trailing\n", "tab\t", "émile"]
)
def test_invalid_aliases(parent: Path, alias: str):
    errors = validation_errors(request(parent / "new", alias))
    assert set(errors) == {"alias"}
    assert "\n" not in errors["alias"]


@pytest.mark.parametrize("which", ["projects.json", "aliases.json"])
def test_an_alias_registered_in_either_file_is_taken(parent: Path, br_home: Path, which: str):
    br_home.mkdir(parents=True)
    content = {"app": {"path": "/elsewhere"}} if which == "projects.json" else {"app": "/elsewhere"}
    (br_home / which).write_text(json.dumps(content))
    errors = validation_errors(request(parent / "new"))
    assert set(errors) == {"alias"} and "already registered" in errors["alias"] and "/elsewhere" in errors["alias"]


def test_a_corrupt_registry_is_reported_but_validation_makes_no_backup(parent: Path, br_home: Path):
    br_home.mkdir(parents=True)
    (br_home / "projects.json").write_text('{"a": {"pa')
    before = snapshot(br_home)
    errors = validation_errors(request(parent / "new"))
    assert set(errors) == {"registry"} and "corrupt" in errors["registry"]
    assert snapshot(br_home) == before  # side-effect free: no backup while the user types
    with pytest.raises(InitError) as caught:
        ProjectInitializer(request(parent / "new")).run()
    assert caught.value.step == "validate" and set(caught.value.fields) == {"registry"}
    assert len(list(br_home.glob("projects.json.corrupt-*"))) == 1  # running does back it up
    assert not (parent / "new").exists()


REGISTRIES = {
    "none": {},
    "empty files": {"projects.json": "{}", "aliases.json": "{}"},
    "taken in projects.json": {"projects.json": json.dumps({"app": {"path": "/elsewhere"}})},
    "taken in aliases.json": {"aliases.json": json.dumps({"app": "/elsewhere"})},
    "taken without a path": {"projects.json": json.dumps({"app": {"editor": "vim"}})},
    "others only": {"aliases.json": json.dumps({"other": "/x"}), "projects.json": json.dumps({"other": {}})},
    "corrupt projects.json": {"projects.json": '{"a": {"pa'},
    "corrupt aliases.json": {"aliases.json": "[1, 2]"},
}


@pytest.mark.parametrize("alias", ["app", "other", "free", "Bad Alias!", ""])
@pytest.mark.parametrize("files", list(REGISTRIES), ids=list(REGISTRIES))
def test_validating_against_a_snapshot_gives_the_same_answers(parent: Path, br_home: Path, files: str, alias: str):
    br_home.mkdir(parents=True)
    for name, text in REGISTRIES[files].items():
        (br_home / name).write_text(text)
    before = snapshot(br_home)
    the_request = request(parent / "new", alias)
    known = registry.read_snapshot()
    assert validation_errors(the_request, known) == validation_errors(the_request)
    assert snapshot(br_home) == before  # neither wrote anything (no backup of a corrupt file either)


def test_a_snapshot_is_not_read_again(parent: Path, br_home: Path):
    br_home.mkdir(parents=True)
    (br_home / "aliases.json").write_text(json.dumps({"app": "/elsewhere"}))
    known = registry.read_snapshot()
    (br_home / "aliases.json").write_text("{}")  # freed meanwhile: the snapshot still says taken
    assert set(validation_errors(request(parent / "new"), known)) == {"alias"}
    assert validation_errors(request(parent / "new")) == {}
    (br_home / "aliases.json").write_text("{broken")  # corrupt meanwhile: the snapshot does not notice
    assert validation_errors(request(parent / "new", "free"), known) == {}
    assert set(validation_errors(request(parent / "new", "free"))) == {"registry"}


# ------------------------------------------------------------------------------------------------ path


def path_error(path, **kwargs) -> str:
    errors = validation_errors(request(path, **kwargs))
    assert set(errors) == {"path"}, errors
    assert "\n" not in errors["path"]
    return errors["path"]


@pytest.mark.parametrize("path", ["", "   "])
def test_a_path_is_required(path: str):
    assert "choose a folder" in path_error(path)


def test_a_relative_path_is_resolved_against_the_working_folder(parent: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(parent)
    assert validation_errors(request("new")) == {}
    (parent / "full").mkdir()
    (parent / "full" / "x").write_text("x")
    assert str(parent / "full") in path_error("sub/../full")
    folder = ProjectInitializer(request("new")).run()
    assert folder == parent / "new" and folder.is_absolute()


def test_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    (home / "code").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    assert validation_errors(request("~/code/new")) == {}
    assert ProjectInitializer(request("~/code/new")).run() == home / "code" / "new"


def test_an_empty_folder_is_accepted_and_a_non_empty_one_is_not(parent: Path):
    (parent / "empty").mkdir()
    assert validation_errors(request(parent / "empty")) == {}
    (parent / "empty" / ".hidden").write_text("")
    assert "not empty" in path_error(parent / "empty")


def test_an_existing_file_is_refused(parent: Path):
    (parent / "file").write_text("x")
    assert "not a folder" in path_error(parent / "file")


def test_the_parent_must_exist_and_be_a_folder(parent: Path):
    assert "does not exist" in path_error(parent / "missing" / "new")
    (parent / "file").write_text("x")
    assert "not a folder" in path_error(parent / "file" / "new")


def test_the_parent_must_be_writable(parent: Path, monkeypatch: pytest.MonkeyPatch):
    real_access = os.access
    monkeypatch.setattr(
        initializer.os, "access", lambda path, mode: False if Path(path) == parent else real_access(path, mode)
    )
    assert "not writable" in path_error(parent / "new")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_the_parent_must_be_writable_for_real(parent: Path):
    parent.chmod(0o555)
    try:
        assert "not writable" in path_error(parent / "new")
    finally:
        parent.chmod(0o755)


def test_an_empty_folder_must_be_writable(parent: Path, monkeypatch: pytest.MonkeyPatch):
    (parent / "empty").mkdir()
    real_access = os.access
    monkeypatch.setattr(
        initializer.os, "access", lambda path, mode: False if Path(path).name == "empty" else real_access(path, mode)
    )
    assert "not writable" in path_error(parent / "empty")


@pytest.mark.parametrize("kind", ["to an empty folder", "dangling"])
def test_a_symlink_is_refused(parent: Path, kind: str):
    target = parent / "real"
    if kind == "to an empty folder":
        target.mkdir()
    (parent / "link").symlink_to(target)
    assert "symbolic link" in path_error(parent / "link")


def test_symlinks_above_the_folder_are_resolved(parent: Path, tmp_path: Path):
    (tmp_path / "alias-of-projects").symlink_to(parent)
    assert validation_errors(request(tmp_path / "alias-of-projects" / "new")) == {}
    assert ProjectInitializer(request(tmp_path / "alias-of-projects" / "new")).run() == parent / "new"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/usr",
        "/etc",
        "/var",
        "/tmp",
        "/home",
        "/root",
        "/opt",
        "/bin",
        "/usr/local/new-project",
        "/etc/new-project",
        "/proc/new",
        "/sys/new",
        "/dev/new",
    ],
)
def test_system_folders_are_refused(path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # not /root, even when the tests run as root
    assert "system folder" in path_error(path)


def test_the_home_folder_itself_is_refused_even_when_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert "home folder" in path_error(home)
    assert "home folder" in path_error("~")
    assert validation_errors(request(home / "new")) == {}  # inside it is fine


def test_buildrunners_own_folder_is_refused(br_home: Path):
    br_home.mkdir(parents=True)
    assert "settings folder" in path_error(br_home / "project")


# ------------------------------------------------------------------------------------------------ content


def test_a_multi_line_name_is_refused(parent: Path):
    assert set(validation_errors(request(parent / "new", name="two\nlines"))) == {"name"}
    assert set(validation_errors(request(parent / "new", name="x" * 201))) == {"name"}


def test_features_need_one_line_names(parent: Path):
    for features in ([FeatureSpec("")], [FeatureSpec("  ")], [FeatureSpec("a\nb")], [FeatureSpec("ok", "\udc80")]):
        assert set(validation_errors(request(parent / "new", features=features))) == {"features"}
    assert validation_errors(request(parent / "new", features=[FeatureSpec("ok", "multi\nline is fine")])) == {}


def test_text_that_cannot_be_saved_is_refused(parent: Path):
    assert set(validation_errors(request(parent / "new", description="bad \ud800"))) == {"description"}
    assert set(validation_errors(request(parent / "new", tech_stack=["Python", "a\nb"]))) == {"tech_stack"}


def test_installing_needs_pipx(parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    errors = validation_errors(request(parent / "new", install_buildrunner=True))
    assert set(errors) == {"install_buildrunner"} and "pipx is not installed" in errors["install_buildrunner"]
    assert validation_errors(request(parent / "new")) == {}


def test_run_reports_every_problem_in_one_line_and_creates_nothing(world: Path, parent: Path):
    (parent / "full").mkdir()
    (parent / "full" / "keep.txt").write_text("mine")
    before = snapshot(world.parent)
    bad = request(parent / "full", alias="old")
    with pytest.raises(InitError) as caught:
        ProjectInitializer(bad).run()
    error = caught.value
    assert error.step == "validate" and error.fields == validation_errors(bad)
    assert set(error.fields) == {"alias", "path"}
    assert "\n" not in str(error) and "already registered" in str(error) and "not empty" in str(error)
    assert snapshot(world.parent) == before


def test_validation_errors_has_no_side_effects(world: Path, parent: Path):
    before = snapshot(world.parent)
    for alias in ("app", "old", "bad alias"):
        for path in (parent / "new", parent, "/usr", ""):
            validation_errors(request(path, alias=alias, install_buildrunner=True))
    assert snapshot(world.parent) == before
