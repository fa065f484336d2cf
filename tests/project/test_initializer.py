"""The initializer: what it creates, how it reports, and that a failure or cancel at any point undoes exactly
what the run did (compared as full listings with every file's bytes), leaving what was there before alone."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from buildrunner_gui.model.formats import parse_registry
from buildrunner_gui.project import initializer, registry
from buildrunner_gui.project.initializer import (
    ROLLBACK,
    STEP_IDS,
    STEPS,
    FeatureSpec,
    InitCancelled,
    InitError,
    PRDError,
    ProjectInitializer,
    ProjectRequest,
    load_prd,
    validate_project,
)

from .conftest import FakePipx, snapshot

FEATURES = [FeatureSpec("User Login", "Sign up, log in, log out."), FeatureSpec("Reports", "")]


def make_request(world: Path, **kwargs) -> ProjectRequest:
    options = {
        "alias": "new-app",
        "path": world / "projects" / "new-app",
        "name": "New App",
        "description": "An app for testing.",
        "features": list(FEATURES),
        "tech_stack": ["Python", "SQLite"],
    }
    options.update(kwargs)
    return ProjectRequest(**options)


class Recorder:
    def __init__(self) -> None:
        self.reports: list[tuple[str, str, float]] = []
        self.hooks: list[str] = []

    def progress(self, step: str, message: str, fraction: float) -> None:
        self.reports.append((step, message, fraction))

    def hook(self, step: str) -> None:
        self.hooks.append(step)


def test_the_api_the_wizard_uses():
    assert [step for step, _ in STEPS] == [
        "validate",
        "create_folders",
        "write_spec",
        "write_files",
        "install_buildrunner",
        "register",
    ]
    assert all(isinstance(label, str) and label for _, label in STEPS)
    request = ProjectRequest(alias="a", path=Path("/x"))
    assert (
        request.name,
        request.description,
        request.features,
        request.tech_stack,
        request.install_buildrunner,
        request.editor,
    ) == ("", "", [], [], False, "")
    assert FeatureSpec("n").description == ""
    assert issubclass(PRDError, ValueError)


def test_creates_the_project_registers_it_and_reports_every_step(world: Path, br_home: Path):
    recorder = Recorder()
    folder = ProjectInitializer(make_request(world), recorder.progress, step_hook=recorder.hook).run()
    assert folder == world / "projects" / "new-app"

    assert recorder.hooks == STEP_IDS
    first_reports = list(dict.fromkeys(step for step, _, _ in recorder.reports))
    assert first_reports == STEP_IDS
    fractions = [fraction for _, _, fraction in recorder.reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert ("install_buildrunner", "skipped (not requested)", 5 / 6) in recorder.reports
    assert all(message and "\n" not in message for _, message, _ in recorder.reports)

    assert validate_project(folder) == dict.fromkeys(validate_project(folder), True)
    assert set(validate_project(folder)) >= {
        ".buildrunner/checkpoints",
        ".buildrunner/context",
        ".buildrunner/logs",
        ".buildrunner/artifacts",
        "core",
        "tests",
        "docs",
        ".gitignore",
        "README.md",
        ".buildrunner/PROJECT_SPEC.md",
        ".buildrunner/features.json",
    }
    assert sorted(p.name for p in (folder / ".buildrunner" / "context").iterdir()) == [
        "architecture.md",
        "blockers.md",
        "current-work.md",
        "test-results.md",
    ]

    spec = (folder / ".buildrunner" / "PROJECT_SPEC.md").read_text()
    assert spec.startswith("# New App\n") and "An app for testing." in spec
    assert "## Feature 1: User Login" in spec and "Sign up, log in, log out." in spec
    assert "## Feature 2: Reports" in spec and "- Python\n- SQLite" in spec

    features = json.loads((folder / ".buildrunner" / "features.json").read_text())
    assert features["project"] == "New App" and features["description"] == "An app for testing."
    assert [(f["id"], f["name"], f["description"], f["status"], f["progress"]) for f in features["features"]] == [
        ("feat-001", "User Login", "Sign up, log in, log out.", "planned", 0),
        ("feat-002", "Reports", "", "planned", 0),
    ]
    assert features["metrics"]["features_planned"] == 2
    parsed = parse_registry((folder / ".buildrunner" / "features.json").read_bytes())  # the app's own reader
    assert [(f.name, f.status, f.progress) for f in parsed.features] == [
        ("User Login", "pending", 0.0),
        ("Reports", "pending", 0.0),
    ]

    assert ".buildrunner/logs/" in (folder / ".gitignore").read_text()
    assert "New App" in (folder / "README.md").read_text() and "new-app" in (folder / "README.md").read_text()

    projects = json.loads((br_home / "projects.json").read_text())
    assert projects["new-app"]["path"] == str(folder) and projects["new-app"]["editor"] == "claude"
    assert projects["new-app"]["spec_path"] == ".buildrunner/PROJECT_SPEC.md"
    assert json.loads((br_home / "aliases.json").read_text())["new-app"] == str(folder)
    assert projects["old"]["color"] == "teal"  # the rest is untouched


def test_without_a_prd_the_spec_is_a_clear_template(world: Path):
    folder = ProjectInitializer(make_request(world, name="", description="", features=[], tech_stack=[])).run()
    spec = (folder / ".buildrunner" / "PROJECT_SPEC.md").read_text()
    assert spec.startswith("# new-app\n")  # the folder's name
    assert "## Project Overview" in spec and "## Feature 1: <Feature name>" in spec and "## Tech Stack" in spec
    assert "Replace this line" in spec
    assert json.loads((folder / ".buildrunner" / "features.json").read_text())["features"] == []


def test_an_empty_folder_that_was_there_is_used(world: Path):
    target = world / "projects" / "new-app"
    target.mkdir()
    assert ProjectInitializer(make_request(world)).run() == target
    assert validate_project(target)[".buildrunner"]


def test_validate_project_on_other_folders(world: Path, tmp_path: Path):
    assert not any(validate_project(tmp_path / "missing").values())
    parts = validate_project(world / "projects" / "old")
    assert parts[".buildrunner"] and parts[".buildrunner/features.json"]
    assert not parts["core"] and not parts[".buildrunner/PROJECT_SPEC.md"]


def test_the_editor_is_recorded(world: Path, br_home: Path):
    ProjectInitializer(make_request(world, editor="cursor")).run()
    assert json.loads((br_home / "projects.json").read_text())["new-app"]["editor"] == "cursor"


# ------------------------------------------------------------------------------------------------ rollback


def fail_at(step_id: str):
    def hook(step: str) -> None:
        if step == step_id:
            raise RuntimeError(f"injected failure before {step}")

    return hook


def cancel_at(step_id: str, cancel: threading.Event):
    def hook(step: str) -> None:
        if step == step_id:
            cancel.set()

    return hook


@pytest.mark.parametrize("existing_folder", [False, True], ids=["new folder", "existing empty folder"])
@pytest.mark.parametrize("step", STEP_IDS)
def test_a_failure_at_any_step_leaves_everything_as_it_was(
    world: Path, fake_pipx: FakePipx, step: str, existing_folder: bool
):
    if existing_folder:
        (world / "projects" / "new-app").mkdir()
    before = snapshot(world)
    recorder = Recorder()
    with pytest.raises(InitError) as caught:
        ProjectInitializer(
            make_request(world, install_buildrunner=True), recorder.progress, step_hook=fail_at(step)
        ).run()
    assert caught.value.step == step and f"injected failure before {step}" in str(caught.value)
    assert caught.value.leftovers == []
    assert snapshot(world) == before  # the folder, the registries, the pipx environments: byte for byte
    assert (world / "projects" / "new-app").is_dir() == existing_folder
    if STEP_IDS.index(step) > STEP_IDS.index("install_buildrunner"):
        assert fake_pipx.calls()[-2:] == [f"install {initializer.PIPX_DEFAULT_SPEC}", "uninstall buildrunner"]
        assert any(s == ROLLBACK for s, _, _ in recorder.reports)


@pytest.mark.parametrize("step", STEP_IDS)
def test_a_cancel_at_any_step_leaves_everything_as_it_was(world: Path, fake_pipx: FakePipx, step: str):
    before = snapshot(world)
    cancel = threading.Event()
    with pytest.raises(InitCancelled) as caught:
        ProjectInitializer(
            make_request(world, install_buildrunner=True), cancel=cancel, step_hook=cancel_at(step, cancel)
        ).run()
    assert caught.value.step == step and caught.value.leftovers == []
    assert snapshot(world) == before


def test_a_cancel_before_the_run_creates_nothing(world: Path):
    before = snapshot(world)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(InitCancelled):
        ProjectInitializer(make_request(world), cancel=cancel).run()
    assert snapshot(world) == before


def test_a_failure_inside_register_restores_the_registry_bytes(world: Path, monkeypatch: pytest.MonkeyPatch):
    before = snapshot(world)
    real_write = registry._write_atomic

    def failing_write(path: Path, data):
        if path.name == "aliases.json" and data is not None and b"new-app" in data:
            raise OSError(28, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(registry, "_write_atomic", failing_write)
    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world)).run()
    assert caught.value.step == "register" and "No space left" in str(caught.value)
    assert snapshot(world, ignore=(registry.LOCK_FILE,)) == before  # the lock file is the only trace


def test_a_failure_after_registering_unregisters(world: Path):
    """The progress callback is the last thing to run; if it fails, the registration is undone too."""
    before = snapshot(world)

    def progress(step: str, message: str, fraction: float) -> None:
        if step == "register" and fraction == 1.0:
            raise RuntimeError("the window went away")

    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world), progress).run()
    assert caught.value.step == "register"
    assert snapshot(world, ignore=(registry.LOCK_FILE,)) == before
    assert "new-app" not in registry.registered_aliases()


def test_an_alias_taken_meanwhile_fails_the_register_step(world: Path):
    def hook(step: str) -> None:
        if step == "register":
            registry.register("new-app", "/someone/else")

    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world), step_hook=hook).run()
    assert caught.value.step == "register" and "already registered" in str(caught.value)
    assert registry.registered_aliases()["new-app"] == "/someone/else"  # theirs stays
    assert not (world / "projects" / "new-app").exists()


def test_files_that_appear_during_the_run_survive_the_rollback(world: Path):
    """Rollback removes only what the run created: a file someone drops in meanwhile stays, with its folders."""
    target = world / "projects" / "new-app"

    def hook(step: str) -> None:
        if step == "write_files":
            (target / "docs" / "notes.md").write_text("someone's notes")
        if step == "register":
            raise RuntimeError("boom")

    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world), step_hook=hook).run()
    assert (target / "docs" / "notes.md").read_text() == "someone's notes"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["docs", "docs/notes.md"]
    assert len(caught.value.leftovers) == 2 and "could not undo" in str(caught.value)  # docs/ and the folder


def test_a_file_that_appears_under_a_name_the_run_writes_is_not_overwritten(world: Path):
    target = world / "projects" / "new-app"

    def hook(step: str) -> None:
        if step == "write_files":
            (target / "README.md").write_text("theirs")

    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world), step_hook=hook).run()
    assert caught.value.step == "write_files" and "exists" in str(caught.value)
    assert (target / "README.md").read_text() == "theirs"
    assert not (target / ".buildrunner").exists()


def test_keyboard_interrupt_rolls_back_and_propagates(world: Path):
    before = snapshot(world)

    def hook(step: str) -> None:
        if step == "write_files":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ProjectInitializer(make_request(world), step_hook=hook).run()
    assert snapshot(world) == before


def test_a_slow_step_can_be_cancelled_from_another_thread(world: Path):
    before = snapshot(world)
    cancel = threading.Event()
    started = threading.Event()

    def hook(step: str) -> None:
        if step == "write_files":
            started.set()
            time.sleep(0.3)

    result: list[BaseException] = []

    def work() -> None:
        try:
            ProjectInitializer(make_request(world), cancel=cancel, step_hook=hook).run()
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    assert started.wait(10)
    cancel.set()
    thread.join(10)
    assert isinstance(result[0], InitCancelled) and result[0].step == "write_files"
    assert snapshot(world) == before


# ------------------------------------------------------------------------------------------------ pipx


def test_install_runs_pipx(world: Path, fake_pipx: FakePipx, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BUILDRUNNER_PIPX_SPEC", "/local/checkout/of/buildrunner")
    recorder = Recorder()
    ProjectInitializer(make_request(world, install_buildrunner=True), recorder.progress).run()
    assert fake_pipx.calls() == ["list --short", "install /local/checkout/of/buildrunner"]
    assert fake_pipx.installed() == ["buildrunner", "httpie"]
    assert ("install_buildrunner", "installed", 5 / 6) in recorder.reports


def test_a_buildrunner_installed_before_is_not_uninstalled(world: Path, fake_pipx: FakePipx):
    (fake_pipx.home / "venvs" / "buildrunner").mkdir()
    with pytest.raises(InitError):
        ProjectInitializer(make_request(world, install_buildrunner=True), step_hook=fail_at("register")).run()
    assert "uninstall buildrunner" not in fake_pipx.calls()
    assert fake_pipx.installed() == ["buildrunner", "httpie"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("network", "could not download BuildRunner (no network?)"),
        ("fail", "pipx install failed: error: something odd happened"),
    ],
)
def test_a_failed_install_is_a_clear_error(world: Path, fake_pipx: FakePipx, mode: str, expected: str):
    fake_pipx.mode(mode)
    before = snapshot(world)
    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world, install_buildrunner=True)).run()
    assert caught.value.step == "install_buildrunner"
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert snapshot(world) == before


def test_pipx_missing_at_the_install_step_is_a_clear_error(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """validate refuses it up front; should pipx vanish before the install step, that step says so too."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    before = snapshot(world)

    def hook(step: str) -> None:
        if step == "install_buildrunner":
            monkeypatch.setenv("PATH", str(empty))

    monkeypatch.setattr(initializer, "_validate", lambda request, backup: ({}, request.path))
    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world, install_buildrunner=True), step_hook=hook).run()
    assert caught.value.step == "install_buildrunner" and "pipx is not installed" in str(caught.value)
    assert snapshot(world) == before


def test_a_hanging_install_times_out(world: Path, fake_pipx: FakePipx, monkeypatch: pytest.MonkeyPatch):
    fake_pipx.mode("hang")
    monkeypatch.setattr(initializer, "PIPX_TIMEOUT", 1.0)
    before = snapshot(world)
    started = time.monotonic()
    with pytest.raises(InitError) as caught:
        ProjectInitializer(make_request(world, install_buildrunner=True)).run()
    assert time.monotonic() - started < 15
    assert caught.value.step == "install_buildrunner" and "did not finish within 1 s" in str(caught.value)
    assert snapshot(world) == before
    assert not _alive(fake_pipx.pids()[1])  # the hung pipx was stopped


def test_a_running_install_can_be_cancelled(world: Path, fake_pipx: FakePipx):
    fake_pipx.mode("hang")
    before = snapshot(world)
    cancel = threading.Event()
    timer = threading.Timer(0.5, cancel.set)

    def progress(step: str, message: str, fraction: float) -> None:
        if message.startswith("pipx install"):
            timer.start()

    started = time.monotonic()
    try:
        with pytest.raises(InitCancelled) as caught:
            ProjectInitializer(make_request(world, install_buildrunner=True), progress, cancel).run()
    finally:
        timer.cancel()
        timer.join()
    assert time.monotonic() - started < 15
    assert caught.value.step == "install_buildrunner"
    assert snapshot(world) == before
    assert not _alive(fake_pipx.pids()[1])
    assert fake_pipx.calls()[-1] == "uninstall buildrunner"  # a killed install may leave a partial environment


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ------------------------------------------------------------------------------------------------ PRD files


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "prd.json"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_load_prd(tmp_path: Path):
    prd = load_prd(
        write(
            tmp_path,
            json.dumps(
                {
                    "name": " Shop ",
                    "description": "Sells things.",
                    "extra": "ignored",
                    "features": [{"name": "Cart", "description": "Holds items."}, {"name": "Pay"}, "Ship"],
                    "tech_stack": ["Go", " ", "Postgres"],
                }
            ),
        )
    )
    name, description, features, tech_stack = prd
    assert (name, description, tech_stack) == ("Shop", "Sells things.", ["Go", "Postgres"])
    assert features == [FeatureSpec("Cart", "Holds items."), FeatureSpec("Pay", ""), FeatureSpec("Ship", "")]
    assert load_prd(write(tmp_path, "{}")) == ("", "", [], [])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[1, 2]", "expected a JSON object, found a list"),
        ('{"name": 5}', '"name" must be a string'),
        ('{"features": {"a": 1}}', '"features" must be a list'),
        ('{"features": [{"description": "no name"}]}', 'feature 1 has no "name"'),
        ('{"features": [{"name": "a"}, 7]}', "feature 2 must be an object"),
        ('{"features": [{"name": "a", "description": ["x"]}]}', 'feature 1 "description" must be a string'),
        ('{"features": [{"name": "two\\nlines"}]}', "one line"),
        ('{"tech_stack": [1]}', '"tech_stack" must be a list of strings'),
        ('{"description": "\\ud800"}', "cannot be saved"),
        ("[" * 100000 + "]" * 100000, "JSON nested deeper than 100 levels"),
    ],
)
def test_a_bad_prd_is_a_one_line_error(tmp_path: Path, content, reason: str):
    with pytest.raises(PRDError) as caught:
        load_prd(write(tmp_path, content))
    assert reason in str(caught.value) and "\n" not in str(caught.value) and "prd.json" in str(caught.value)


def test_a_missing_prd_file(tmp_path: Path):
    with pytest.raises(ValueError, match="No such file"):
        load_prd(tmp_path / "nope.json")
