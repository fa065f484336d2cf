"""The New Project wizard with real widgets and the real initializer, in temporary folders."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QWizard

from buildrunner_gui.app import DesktopApp
from buildrunner_gui.project import registry
from buildrunner_gui.project.initializer import validation_errors
from buildrunner_gui.project.registry import registered_aliases
from buildrunner_gui.settings import AppSettings
from buildrunner_gui.ui.new_project_wizard import NewProjectWizard, suggest_alias
from buildrunner_gui.ui.task_runner import TaskRunner

Button = QWizard.WizardButton


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BUILDRUNNER_PROJECT_ROOT (the default parent folder) and BUILDRUNNER_HOME (the alias registry)."""
    projects = tmp_path / "projects"
    projects.mkdir()
    home = tmp_path / "br-home"
    home.mkdir()
    monkeypatch.setenv("BUILDRUNNER_PROJECT_ROOT", str(projects))
    monkeypatch.setenv("BUILDRUNNER_HOME", str(home))
    return projects


def make_wizard(qtbot, step_hook=None) -> NewProjectWizard:
    wizard = NewProjectWizard(step_hook=step_hook)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitUntil(wizard.registry_ready, timeout=5_000)  # the first page reads the registry off the GUI thread
    return wizard


@pytest.fixture
def wizard(qtbot, root):
    wizard = make_wizard(qtbot)
    yield wizard
    wizard.stop()


def click(wizard: NewProjectWizard, which: Button) -> None:
    button = wizard.button(which)
    assert button.isVisible() and button.isEnabled(), f"{button.text()} is not available"
    button.click()


def type_into(qtbot, widget, text: str) -> None:
    """What a user does: select everything in the field and type over it."""
    widget.setFocus()
    widget.selectAll()
    if not text:
        qtbot.keyClick(widget, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget, text)


def error_text(page, field: str) -> str:
    label = page.error_labels[field]
    return "" if label.isHidden() else label.text()


def fill(
    qtbot,
    wizard: NewProjectWizard,
    name: str,
    features: list[tuple[str, str]],
    description: str = "A test project",
    tech: str = "Python, PySide6",
) -> None:
    """Name -> … -> Summary, the way a user does it, clicking Next on every page."""
    qtbot.keyClicks(wizard.name_page.name, name)
    click(wizard, Button.NextButton)
    assert wizard.currentPage() is wizard.location_page
    click(wizard, Button.NextButton)
    qtbot.keyClicks(wizard.description_page.text, description)
    click(wizard, Button.NextButton)
    for feature, text in features:
        wizard.features_page.add_feature(feature, text, edit=False)
    click(wizard, Button.NextButton)
    qtbot.keyClicks(wizard.tech_page.stack, tech)
    click(wizard, Button.NextButton)
    assert not wizard.options_page.install.isChecked()  # off by default
    click(wizard, Button.NextButton)
    assert wizard.currentPage() is wizard.summary_page


def tree(*folders: Path) -> dict[str, bytes | None]:
    """Every path under the folders, with file contents: "the disk" for before/after comparisons."""
    found: dict[str, bytes | None] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            found[str(path)] = path.read_bytes() if path.is_file() else None
    return found


def test_suggest_alias():
    assert suggest_alias("My Cool App") == "my-cool-app"
    assert suggest_alias("  Café -- Über_Tool 2 ") == "cafe-uber-tool-2"
    assert suggest_alias("!!!") == ""


def test_alias_follows_the_name_until_the_user_edits_it(qtbot, wizard):
    page = wizard.name_page
    qtbot.keyClicks(page.name, "My Cool App")
    assert page.alias.text() == "my-cool-app"

    type_into(qtbot, page.alias, "cool")
    qtbot.keyClicks(page.name, " Two")
    assert page.alias.text() == "cool"  # the user's alias is kept

    type_into(qtbot, page.alias, "")  # cleared by the user: suggestions resume
    qtbot.keyClicks(page.name, "!")
    assert page.alias.text() == "my-cool-app-two"


def test_bad_alias_is_reported_inline_and_blocks_next(qtbot, wizard, root):
    page = wizard.name_page
    next_button = wizard.button(Button.NextButton)
    assert not next_button.isEnabled()  # nothing entered yet
    assert error_text(page, "alias") == ""  # … but no red text before the user typed anything

    qtbot.keyClicks(page.name, "Good Name")
    assert next_button.isEnabled()
    type_into(qtbot, page.alias, "Bad Alias!")
    assert error_text(page, "alias")
    assert not next_button.isEnabled()

    type_into(qtbot, page.alias, "good-alias")
    assert error_text(page, "alias") == ""
    assert next_button.isEnabled()
    click(wizard, Button.NextButton)
    assert wizard.location_page.final_path.text() == str(root / "good-alias")


def test_existing_non_empty_folder_is_reported_inline(qtbot, wizard, root, tmp_path):
    (root / "taken").mkdir()
    (root / "taken" / "notes.txt").write_text("mine")
    qtbot.keyClicks(wizard.name_page.name, "Taken")
    click(wizard, Button.NextButton)
    page = wizard.location_page
    assert page.parent_folder.text() == str(root)  # BUILDRUNNER_PROJECT_ROOT is the default
    assert page.final_path.text() == str(root / "taken")
    assert error_text(page, "path")
    assert not wizard.button(Button.NextButton).isEnabled()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    type_into(qtbot, page.parent_folder, str(elsewhere))
    assert page.final_path.text() == str(elsewhere / "taken")  # the final path follows as the user types
    assert error_text(page, "path") == ""
    assert wizard.button(Button.NextButton).isEnabled()
    assert wizard.request().path == elsewhere / "taken"


def test_browse_picks_the_parent_folder_without_blocking(qtbot, wizard, tmp_path):
    qtbot.keyClicks(wizard.name_page.name, "Browsed")
    click(wizard, Button.NextButton)
    page = wizard.location_page
    qtbot.mouseClick(page.browse, Qt.MouseButton.LeftButton)  # returns at once: open(), not exec()
    dialog = page._dialog
    assert dialog is not None and dialog.isVisible()
    picked = tmp_path / "picked"
    picked.mkdir()
    dialog.fileSelected.emit(str(picked))
    dialog.close()
    assert page.parent_folder.text() == str(picked)
    assert page.final_path.text() == str(picked / "browsed")


def test_feature_rows_add_remove_reorder_end_up_in_the_request(qtbot, wizard):
    page = wizard.features_page
    for name in ("alpha", "beta", "gamma", "delta"):
        qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
        row = page.table.currentRow()
        page.table.item(row, 0).setText(name)
        page.table.item(row, 1).setText(f"{name} text")
    page.table.setCurrentCell(1, 0)
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)  # beta
    page.table.setCurrentCell(2, 0)
    qtbot.mouseClick(page.up_button, Qt.MouseButton.LeftButton)  # delta above gamma
    assert page.table.currentRow() == 1  # the moved row stays selected
    page.table.setCurrentCell(0, 0)
    assert not page.up_button.isEnabled()
    qtbot.mouseClick(page.down_button, Qt.MouseButton.LeftButton)  # alpha below delta
    page.add_feature(edit=False)  # a blank row is ignored

    features = wizard.request().features
    assert [(f.name, f.description) for f in features] == [
        ("delta", "delta text"),
        ("alpha", "alpha text"),
        ("gamma", "gamma text"),
    ]

    page.table.item(1, 0).setText("")  # a description without a name is an error, shown inline
    assert "has no name" in error_text(page, "features")


def test_end_to_end_creates_the_project(qtbot, wizard, root):
    fill(qtbot, wizard, "Shop Front", [("Login", "users sign in"), ("Cart", "")])
    assert "Shop Front" in wizard.summary_page.text.toPlainText()
    assert wizard.button(Button.CommitButton).text().replace("&", "") == "Create"
    with qtbot.waitSignal(wizard.project_created, timeout=20_000) as created:
        click(wizard, Button.CommitButton)
    folder = Path(created.args[0])
    assert folder.resolve() == (root / "shop-front").resolve()
    registry = json.loads((folder / ".buildrunner" / "features.json").read_text())
    assert [(f["name"], f.get("description", "")) for f in registry["features"]] == [
        ("Login", "users sign in"),
        ("Cart", ""),
    ]
    assert Path(registered_aliases()["shop-front"]).resolve() == folder.resolve()

    progress = wizard.progress_page
    assert "Done" in progress.message.text()
    assert progress.bar.value() == 100
    marks = progress.marks()
    assert marks.pop("install_buildrunner") == "skipped"
    assert set(marks.values()) == {"done"}
    assert not wizard.button(Button.BackButton).isEnabled()
    click(wizard, Button.FinishButton)
    assert wizard.result() == QDialog.DialogCode.Accepted
    assert not wizard.is_running()


def test_a_failed_run_can_be_fixed_by_going_back(qtbot, wizard, root):
    fill(qtbot, wizard, "Late", [("One", "")])
    (root / "late").mkdir()  # somebody takes the folder after the form was checked
    (root / "late" / "x").write_text("x")
    click(wizard, Button.CommitButton)
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: progress.state == "failed", timeout=20_000)
    assert progress.error.isVisible() and progress.error.text()
    assert not wizard.button(Button.FinishButton).isEnabled()
    assert not wizard.is_running()
    assert sorted(p.name for p in (root / "late").iterdir()) == ["x"]  # untouched

    click(wizard, Button.BackButton)
    assert wizard.currentPage() is wizard.summary_page
    assert not wizard.button(Button.CommitButton).isEnabled()  # the summary now shows the problem
    for _ in range(6):
        click(wizard, Button.BackButton)
    assert wizard.currentPage() is wizard.name_page
    type_into(qtbot, wizard.name_page.alias, "late-2")
    for _ in range(6):
        click(wizard, Button.NextButton)
    assert wizard.currentPage() is wizard.summary_page
    with qtbot.waitSignal(wizard.project_created, timeout=20_000) as created:
        click(wizard, Button.CommitButton)
    assert Path(created.args[0]).name == "late-2"
    assert (root / "late-2" / ".buildrunner" / "features.json").is_file()


def test_an_alias_taken_after_the_form_read_the_registry_still_fails_the_run(qtbot, wizard, root):
    fill(qtbot, wizard, "Racer", [])
    assert wizard.tasks.wait_idle(5)
    registry.register("racer", root / "someone-elses")  # after the summary page's read: its snapshot is stale
    assert wizard.button(Button.CommitButton).isEnabled()
    click(wizard, Button.CommitButton)
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: progress.state == "failed", timeout=20_000)
    assert progress.marks()["validate"] == "failed"
    assert "already registered" in progress.error.text()
    assert not (root / "racer").exists()
    assert registered_aliases() == {"racer": str(root / "someone-elses")}


def test_cancel_while_a_step_runs_rolls_back_and_keeps_the_gui_free(qtbot, root, tmp_path):
    entered, release = threading.Event(), threading.Event()

    def slow_step(step: str) -> None:
        if step == "write_files":
            entered.set()
            release.wait(20)

    wizard = make_wizard(qtbot, step_hook=slow_step)
    try:
        created: list[str] = []
        wizard.project_created.connect(created.append)
        fill(qtbot, wizard, "Never Mind", [("A", "a")])
        before = tree(tmp_path)

        ticks = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start()
        click(wizard, Button.CommitButton)
        qtbot.waitUntil(entered.is_set, timeout=20_000)
        start = len(ticks)
        qtbot.wait(300)
        assert len(ticks) - start >= 5, "the GUI thread was blocked while the step ran"
        assert wizard.is_running()
        assert wizard.progress_page.marks()["create_folders"] == "done"  # the hook runs before its step reports

        click(wizard, Button.CancelButton)
        assert wizard.progress_page.message.text() == "Cancelling… rolling back"
        assert not wizard.button(Button.CancelButton).isEnabled()
        wizard.close()  # the close box does not abandon a running rollback either
        assert wizard.isVisible() and wizard.is_running()

        release.set()
        qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=20_000)
        timer.stop()
        assert wizard.result() == QDialog.DialogCode.Rejected
        assert not wizard.is_running()
        assert created == []
        assert tree(tmp_path) == before
        assert not wizard.tasks.busy()  # no job left running, no result left undelivered
    finally:
        release.set()
        wizard.stop()


@pytest.fixture
def registry_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every registry file read from now on, strict or lenient, on any thread."""
    reads: list[str] = []
    strict, lenient = registry._read_bytes, registry._read_lenient

    def counted_strict(path: Path) -> bytes | None:
        reads.append(path.name)
        return strict(path)

    def counted_lenient(path: Path) -> tuple[dict, str | None]:
        reads.append(path.name)
        return lenient(path)

    monkeypatch.setattr(registry, "_read_bytes", counted_strict)
    monkeypatch.setattr(registry, "_read_lenient", counted_lenient)
    return reads


def test_typing_checks_the_alias_against_one_read_of_the_registry_per_page(qtbot, root, registry_reads):
    home = Path(registry.buildrunner_home())
    (home / "aliases.json").write_text(json.dumps({"taken": "/somewhere/else"}))
    wizard = make_wizard(qtbot)
    try:
        page = wizard.name_page
        assert sorted(registry_reads) == ["aliases.json", "projects.json"]  # the name page read both files once
        next_button = wizard.button(Button.NextButton)

        qtbot.keyClicks(page.name, "Some Project")
        type_into(qtbot, page.alias, "taken")
        shown = error_text(page, "alias")
        assert "already registered" in shown and "/somewhere/else" in shown
        assert not next_button.isEnabled()
        type_into(qtbot, page.alias, "taken-not")
        assert error_text(page, "alias") == ""
        assert next_button.isEnabled()
        assert wizard.tasks.wait_idle(5)
        assert sorted(registry_reads) == ["aliases.json", "projects.json"]  # 22 keystrokes, no further read

        type_into(qtbot, page.alias, "taken")  # the answers are those of reading the registry afresh
        assert wizard.errors() == validation_errors(wizard.request()) == {"alias": shown}
        type_into(qtbot, page.alias, "free")
        assert wizard.errors() == validation_errors(wizard.request()) == {}

        before = len(registry_reads)
        for _ in range(6):
            click(wizard, Button.NextButton)
        assert wizard.currentPage() is wizard.summary_page
        assert wizard.tasks.wait_idle(5)
        assert len(registry_reads) == before + 2  # the summary page read it once more; the pages between did not
    finally:
        wizard.stop()


def test_stop_during_a_run_waits_for_the_rollback_and_closes(qtbot, root, tmp_path):
    entered, release = threading.Event(), threading.Event()

    def slow_step(step: str) -> None:
        if step == "write_files":
            entered.set()
            release.wait(20)

    wizard = make_wizard(qtbot, step_hook=slow_step)
    try:
        created: list[str] = []
        wizard.project_created.connect(created.append)
        fill(qtbot, wizard, "Shut Down", [])
        before = tree(tmp_path)
        click(wizard, Button.CommitButton)
        qtbot.waitUntil(entered.is_set, timeout=20_000)
        releaser = threading.Timer(0.2, release.set)  # the step ends only after stop() has started waiting
        releaser.start()
        wizard.stop()  # shutdown code: blocks until the run has rolled back
        releaser.join()
        assert not wizard.is_running() and not wizard.isVisible()
        assert wizard.result() == QDialog.DialogCode.Rejected
        assert tree(tmp_path) == before
        assert wizard.tasks.wait_idle(5)  # the run's own callbacks, still queued, arrive now and change nothing
        assert created == [] and not wizard.isVisible()
    finally:
        release.set()
        wizard.stop()


def test_a_shared_runner_keeps_running_after_the_wizard_closes(qtbot, root):
    tasks = TaskRunner(name="shared-tasks")
    try:
        wizard = NewProjectWizard(tasks=tasks)
        qtbot.addWidget(wizard)
        wizard.show()
        qtbot.waitUntil(wizard.registry_ready, timeout=5_000)  # read on the runner it was given
        click(wizard, Button.CancelButton)
        wizard.stop()
        results: list[int] = []
        tasks.run(lambda: 7, results.append)  # closing the wizard did not shut the app's runner down
        assert tasks.wait_idle(5) and results == [7]
    finally:
        tasks.shutdown()


def test_a_registry_read_that_outlives_the_wizard_is_dropped(qtbot, root, monkeypatch):
    """Closed and deleted (as the window does on close) while its registry read is still running."""
    release = threading.Event()
    real_read = registry.read_snapshot

    def slow_read(**kwargs) -> registry.RegistrySnapshot:
        release.wait(10)
        return real_read(**kwargs)

    monkeypatch.setattr(registry, "read_snapshot", slow_read)
    tasks = TaskRunner(name="shared-tasks")
    try:
        wizard = NewProjectWizard(tasks=tasks)
        wizard.show()
        assert not wizard.registry_ready()
        wizard.reject()
        wizard.deleteLater()
        QCoreApplication.sendPostedEvents(wizard, QEvent.Type.DeferredDelete)
        assert not shiboken6.isValid(wizard)
        release.set()
        assert tasks.wait_idle(5)  # delivering the late result to the deleted wizard must not raise
    finally:
        release.set()
        tasks.shutdown()


def test_cancel_before_running_just_closes(qtbot, wizard):
    qtbot.keyClicks(wizard.name_page.name, "Whatever")
    click(wizard, Button.CancelButton)
    assert not wizard.isVisible()
    assert wizard.result() == QDialog.DialogCode.Rejected


# ---------------------------------------------------------------- in the window


async def wait_for(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def test_new_project_from_the_window_opens_it_with_its_features(run, root, tmp_path):
    async def scenario():
        desktop = DesktopApp(AppSettings(str(tmp_path / "settings.ini")), server_port=0)
        await desktop.start([])
        try:
            action = next(a for a in desktop.window.actions() if a.text() == "&New Project…")
            assert action.shortcut() == QKeySequence(QKeySequence.StandardKey.New)
            action.trigger()
            wizard = desktop.wizard
            assert wizard is not None and wizard.isVisible()
            action.trigger()  # a second request brings the same wizard forward
            assert desktop.wizard is wizard
            await wait_for(wizard.registry_ready)

            wizard.name_page.name.setText("Window Made")
            for _ in range(3):
                click(wizard, Button.NextButton)
            assert wizard.currentPage() is wizard.features_page
            for name in ("First", "Second", "Third"):
                wizard.features_page.add_feature(name, f"{name} feature", edit=False)
            for _ in range(3):
                click(wizard, Button.NextButton)
            click(wizard, Button.CommitButton)
            folder = (root / "window-made").resolve()

            def session():
                return next((s for s in desktop.sessions.values() if s.location == str(folder)), None)

            await wait_for(lambda: session() is not None and session().loaded)
            await wait_for(lambda: session().view.features.model.rowCount() == 3)
            click(wizard, Button.FinishButton)
            await wait_for(lambda: desktop.wizard is None)
        finally:
            await desktop.shutdown()

    run(scenario())
