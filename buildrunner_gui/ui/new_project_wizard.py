"""The New Project wizard: collects a `ProjectRequest` page by page, then runs the `ProjectInitializer`.

Every page checks its fields as the user types with `validation_errors` (cheap, no side effects) and shows the
messages inline under the field; Next stays disabled while the page is invalid. The summary page is the commit
page ("Create"); the progress page runs the initializer in a worker thread and shows each step.

The alias registry is read once when a page that depends on it (the name page, the summary) is initialised, off
the GUI thread; every keystroke is then checked against that snapshot in memory. Until the first snapshot
arrives the alias counts as unchecked, which blocks Next. The run itself re-reads the registry strictly (its
validate step), so a snapshot that went stale meanwhile can never let a taken alias through.

Threading: all background work goes through one `TaskRunner` (passed in, or the wizard's own); the worker never
touches a widget, its progress and outcome reach the GUI thread as closures. Cancel while it runs sets the cancel
event; the wizard stays open ("Cancelling… rolling back"), without blocking, until the initializer has rolled
back, so it never leaves a half-made project behind. Only `stop()` (for shutdown) waits.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_futures
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ..project import registry
from ..project.initializer import (
    STEPS,
    FeatureSpec,
    InitCancelled,
    InitError,
    ProjectInitializer,
    ProjectRequest,
    validation_errors,
)
from .task_runner import TaskRunner

log = logging.getLogger(__name__)

ERROR_COLOR = "#D55E00"  # the palette's "failed" vermillion: readable on light and dark backgrounds
MARKS = {"pending": "○", "running": "…", "done": "✓", "failed": "✗", "skipped": "·"}

# Which page shows (and is blocked by) which `validation_errors` key; unknown keys land on the summary page.
NAME_FIELDS = ("name", "alias")
LOCATION_FIELDS = ("path",)
DESCRIPTION_FIELDS = ("description",)
FEATURE_FIELDS = ("features",)
TECH_FIELDS = ("tech_stack",)
OPTION_FIELDS = ("install_buildrunner", "editor")
REGISTRY_PENDING = "checking the alias registry…"  # shown (and blocking Next) until the first snapshot is read


def suggest_alias(name: str) -> str:
    """ "My Cool App" -> "my-cool-app": ASCII lower case, runs of anything else become one dash."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def default_parent_folder() -> Path:
    """`BUILDRUNNER_PROJECT_ROOT`, else the home folder."""
    root = os.environ.get("BUILDRUNNER_PROJECT_ROOT", "").strip()
    return Path(root).expanduser() if root else Path.home()


def split_tech_stack(text: str) -> list[str]:
    """Comma- or newline-separated entries, stripped, without blanks or repeats (first spelling wins)."""
    seen: set[str] = set()
    items = []
    for part in re.split(r"[,\n]", text):
        item = part.strip()
        if item and item.lower() not in seen:
            seen.add(item.lower())
            items.append(item)
    return items


def _field_of(key: str) -> str:
    """ "features[2].name" or "features.2" -> "features"."""
    return re.split(r"[.\[]", key, maxsplit=1)[0]


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {ERROR_COLOR};")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


@dataclasses.dataclass
class _Run:
    """One run of the initializer. Its callbacks compare it with the wizard's current run, so a result that
    `stop()` already handled, or one of an earlier run, is ignored."""

    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)
    future: Future[Path] | None = None


# ---------------------------------------------------------------- pages


class _CheckedPage(QWizardPage):
    """A page whose fields are checked as the user types; its errors are shown inline and block Next."""

    fields: tuple[str, ...] = ()
    reads_registry = False  # True: initialising the page reads a fresh registry snapshot

    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__()
        self.setTitle(title)
        if subtitle:
            self.setSubTitle(subtitle)
        self.error_labels: dict[str, QLabel] = {}
        self._touched: set[str] = set()
        self._complete = False

    def _wizard(self) -> NewProjectWizard:
        return self.wizard()  # type: ignore[return-value]

    def _labelled(self, field: str) -> QLabel:
        label = _error_label()
        label.setObjectName(f"error-{field}")
        self.error_labels[field] = label
        return label

    def touch(self, *fields: str) -> None:
        self._touched.update(fields)
        self.refresh()

    def page_errors(self) -> dict[str, str]:
        wizard = self.wizard()
        if wizard is None:
            return {}
        return {field: message for field, message in self._wizard().errors().items() if field in self.fields}

    def refresh(self) -> None:
        """Re-check the page: show messages for the fields touched so far, and update Next."""
        errors = self.page_errors()
        for field, label in self.error_labels.items():
            message = errors.get(field, "") if field in self._touched else ""
            label.setText(message)
            label.setVisible(bool(message))
        complete = not errors
        if complete != self._complete:
            self._complete = complete
            self.completeChanged.emit()

    def initializePage(self) -> None:
        if self.reads_registry:
            self._wizard().reload_registry()
        self._complete = not self.page_errors()  # so the first refresh reports a change only if there is one
        self.refresh()

    def isComplete(self) -> bool:
        return not self.page_errors()


class NamePage(_CheckedPage):
    fields = NAME_FIELDS
    reads_registry = True

    def __init__(self) -> None:
        super().__init__("Name", "What is the project called? The alias names it on the command line.")
        self.name = QLineEdit()
        self.name.setPlaceholderText("My Cool App")
        self.alias = QLineEdit()
        self.alias.setPlaceholderText("my-cool-app")
        self.alias.setToolTip("Lower case letters, digits and dashes; suggested from the name until you edit it")
        self._alias_follows_name = True
        form = QFormLayout(self)
        form.addRow("Project &name:", self.name)
        form.addRow("", self._labelled("name"))
        form.addRow("&Alias:", self.alias)
        form.addRow("", self._labelled("alias"))
        self.name.textChanged.connect(self._name_changed)
        self.alias.textEdited.connect(self._alias_edited)  # user edits only, not our own suggestions
        self.alias.textChanged.connect(lambda _text: self.touch("alias"))

    def _name_changed(self, text: str) -> None:
        if self._alias_follows_name:
            self.alias.setText(suggest_alias(text))
        self.touch("name")

    def _alias_edited(self, text: str) -> None:
        # Once the user types an alias it is theirs; clearing it hands it back to the suggestion.
        self._alias_follows_name = not text.strip()

    def initializePage(self) -> None:
        super().initializePage()
        self.name.setFocus()


class LocationPage(_CheckedPage):
    fields = LOCATION_FIELDS

    def __init__(self) -> None:
        super().__init__("Location", "The project gets its own folder, named by the alias, inside this folder.")
        self.parent_folder = QLineEdit(str(default_parent_folder()))
        self.browse = QPushButton("&Browse…")
        self.browse.clicked.connect(self._browse)
        self.final_path = QLabel()
        self.final_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.parent_folder, 1)
        row.addWidget(self.browse)
        label = QLabel("&Parent folder:")
        label.setBuddy(self.parent_folder)  # a row holding a layout gets no buddy of its own
        form = QFormLayout(self)
        form.addRow(label, row)
        form.addRow("Project folder:", self.final_path)
        form.addRow("", self._labelled("path"))
        self.parent_folder.textChanged.connect(lambda _text: self.touch("path"))
        self._dialog: QFileDialog | None = None

    def project_path(self, alias: str) -> Path:
        parent = self.parent_folder.text().strip()
        return Path(parent).expanduser() / alias if parent else Path(alias)

    def refresh(self) -> None:
        wizard = self.wizard()
        if wizard is not None:
            self.final_path.setText(str(self._wizard().request().path))
        super().refresh()

    def initializePage(self) -> None:
        self._touched.add("path")  # the folder is pre-filled: say at once if it cannot be used
        super().initializePage()

    def _browse(self) -> None:
        # open(), not exec(): a nested event loop would stall the asyncio tasks sharing this loop.
        dialog = QFileDialog(self, "Choose the parent folder", self.parent_folder.text())
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.parent_folder.setText)
        self._dialog = dialog
        dialog.open()


class DescriptionPage(_CheckedPage):
    fields = DESCRIPTION_FIELDS

    def __init__(self) -> None:
        super().__init__("Description", "What the project is for (optional; it goes into the project spec).")
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("A short description of the project…")
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self._labelled("description"))
        self.text.textChanged.connect(lambda: self.touch("description"))


class FeaturesPage(_CheckedPage):
    fields = FEATURE_FIELDS

    def __init__(self) -> None:
        super().__init__("Features", "The features you plan; each becomes an entry of the feature registry.")
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Feature", "Description"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 200)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.add_button = QPushButton("&Add")
        self.remove_button = QPushButton("&Remove")
        self.up_button = QPushButton("Move &Up")
        self.down_button = QPushButton("Move &Down")
        self.add_button.clicked.connect(lambda: self.add_feature())
        self.remove_button.clicked.connect(self.remove_current)
        self.up_button.clicked.connect(lambda: self.move_current(-1))
        self.down_button.clicked.connect(lambda: self.move_current(1))
        buttons = QVBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.table, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self._labelled("features"))
        self.table.itemChanged.connect(lambda _item: self.touch("features"))
        self.table.currentCellChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def add_feature(self, name: str = "", description: str = "", edit: bool = True) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        name_item = QTableWidgetItem(name)
        self.table.setItem(row, 0, name_item)
        self.table.setItem(row, 1, QTableWidgetItem(description))
        self.table.setCurrentCell(row, 0)
        if edit:
            self.table.editItem(name_item)
        self.touch("features")
        return row

    def remove_current(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        self.table.removeRow(row)
        if self.table.rowCount():
            self.table.setCurrentCell(min(row, self.table.rowCount() - 1), 0)
        self.touch("features")
        self._update_buttons()

    def move_current(self, step: int) -> None:
        row = self.table.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.table.rowCount():
            return
        column = max(self.table.currentColumn(), 0)
        for col in range(self.table.columnCount()):
            upper, lower = self.table.takeItem(row, col), self.table.takeItem(target, col)
            self.table.setItem(row, col, lower)
            self.table.setItem(target, col, upper)
        self.table.setCurrentCell(target, column)
        self.touch("features")

    def _update_buttons(self) -> None:
        row, count = self.table.currentRow(), self.table.rowCount()
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < count - 1)

    def rows(self) -> list[tuple[str, str]]:
        """(name, description) of every row that is not entirely blank, top to bottom (a description without a
        name is kept, so the initializer's check reports it)."""
        rows = []
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, col) for col in (0, 1)]
            name, description = (cell.text().strip() if cell is not None else "" for cell in cells)
            if name or description:
                rows.append((name, description))
        return rows

    def features(self) -> list[FeatureSpec]:
        return [FeatureSpec(name=name, description=description) for name, description in self.rows()]


class TechStackPage(_CheckedPage):
    fields = TECH_FIELDS

    def __init__(self) -> None:
        super().__init__("Tech stack", "Languages, frameworks and tools, separated by commas (optional).")
        self.stack = QLineEdit()
        self.stack.setPlaceholderText("Python, PySide6, SQLite")
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("&Tech stack:", self.stack)
        form.addRow("", self.preview)
        form.addRow("", self._labelled("tech_stack"))
        self.stack.textChanged.connect(self._changed)

    def items(self) -> list[str]:
        return split_tech_stack(self.stack.text())

    def _changed(self, _text: str) -> None:
        items = self.items()
        self.preview.setText(" · ".join(items) if items else "")
        self.touch("tech_stack")


class OptionsPage(_CheckedPage):
    fields = OPTION_FIELDS

    def __init__(self) -> None:
        super().__init__("Options")
        self.install = QCheckBox("&Install BuildRunner with pipx")
        self.install.setChecked(False)
        self.install.setToolTip("Runs `pipx install` for BuildRunner 3 (needs pipx and a network connection)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.install)
        layout.addWidget(self._labelled("install_buildrunner"))
        layout.addWidget(self._labelled("editor"))
        layout.addStretch(1)
        self.install.toggled.connect(lambda _checked: self.touch("install_buildrunner"))


class SummaryPage(_CheckedPage):
    """The commit page: what will be created, and anything still wrong (including errors of no other page)."""

    reads_registry = True

    def __init__(self) -> None:
        super().__init__("Summary", "Check the project, then press Create.")
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self._labelled("all"))
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Create")

    def page_errors(self) -> dict[str, str]:
        return self._wizard().errors() if self.wizard() is not None else {}

    def refresh(self) -> None:
        errors = self.page_errors()
        label = self.error_labels["all"]
        label.setText("\n".join(errors.values()))
        label.setVisible(bool(errors))
        if self.wizard() is not None:
            self.text.setHtml(summary_html(self._wizard().request()))
        complete = not errors
        if complete != self._complete:
            self._complete = complete
            self.completeChanged.emit()


def summary_html(request: ProjectRequest) -> str:
    def row(label: str, value: str) -> str:
        return f"<tr><th align='left' valign='top'>{label}</th><td>{value}</td></tr>"

    esc = html.escape
    features = "".join(
        f"<li><b>{esc(f.name)}</b>{' — ' + esc(f.description) if f.description else ''}</li>" for f in request.features
    )
    rows = [
        row("Name", esc(request.name) or "<i>(the alias)</i>"),
        row("Alias", esc(request.alias)),
        row("Folder", esc(str(request.path))),
        row("Description", esc(request.description).replace("\n", "<br>") or "<i>none</i>"),
        row(f"Features ({len(request.features)})", f"<ol>{features}</ol>" if features else "<i>none yet</i>"),
        row("Tech stack", esc(", ".join(request.tech_stack)) or "<i>not set</i>"),
        row("Install BuildRunner", "yes, with pipx" if request.install_buildrunner else "no"),
    ]
    return f"<table cellspacing='6'>{''.join(rows)}</table>"


class ProgressPage(QWizardPage):
    """Shows the run: one line per step (○ pending, … running, ✓ done, ✗ failed), a bar, the current message."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Creating the project")
        self.steps = QListWidget()
        self.steps.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.steps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.error = _error_label()
        self.error.setObjectName("error-run")
        layout = QVBoxLayout(self)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.error)
        self.state = "idle"  # idle, running, cancelling, done, failed
        self._marks: dict[str, str] = {}
        self._labels = dict(STEPS)

    def reset(self, install_buildrunner: bool) -> None:
        self.steps.clear()
        self._marks = {}
        for step_id, label in STEPS:
            self.steps.addItem(QListWidgetItem(label))
            skipped = step_id == "install_buildrunner" and not install_buildrunner
            self.mark(step_id, "skipped" if skipped else "pending")
        self.bar.setValue(0)
        self.message.setText("")
        self.error.hide()
        self.set_state("idle")

    def mark(self, step_id: str, mark: str) -> None:
        ids = [step for step, _ in STEPS]
        if step_id not in ids:
            return
        self._marks[step_id] = mark
        label = self._labels[step_id] + (" (skipped)" if mark == "skipped" else "")
        self.steps.item(ids.index(step_id)).setText(f"{MARKS[mark]}  {label}")

    def marks(self) -> dict[str, str]:
        return dict(self._marks)

    def show_progress(self, step_id: str, message: str, fraction: float) -> None:
        """A step reported: every step before it is done, it is running."""
        ids = [step for step, _ in STEPS]
        if step_id in ids:
            for earlier in ids[: ids.index(step_id)]:
                if self._marks.get(earlier) in ("pending", "running"):
                    self.mark(earlier, "done")
            if self._marks.get(step_id) != "skipped":
                self.mark(step_id, "running")
        self.bar.setValue(round(max(0.0, min(1.0, fraction)) * 100))
        if message and self.state == "running":
            self.message.setText(message)

    def show_done(self, folder: str) -> None:
        for step_id, mark in self._marks.items():
            if mark in ("pending", "running"):
                self.mark(step_id, "done")
        self.bar.setValue(100)
        self.message.setText(f"Done. The project is in {folder}")
        self.set_state("done")

    def show_failed(self, step_id: str, message: str) -> None:
        running = [step for step, mark in self._marks.items() if mark == "running"]
        self.mark(step_id if step_id in self._labels else (running[-1] if running else ""), "failed")
        for other in running:
            if other != step_id:
                self.mark(other, "failed")
        step = f"{self._labels[step_id]}: " if step_id in self._labels else ""
        self.message.setText("Nothing was created: the changes were rolled back.")
        self.error.setText(f"{step}{message}\nGo Back to change the project, or Cancel.")
        self.error.show()
        self.set_state("failed")

    def show_cancelling(self) -> None:
        self.message.setText("Cancelling… rolling back")
        self.set_state("cancelling")

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.state == "done"

    def initializePage(self) -> None:
        self.wizard().start_creation()  # type: ignore[attr-defined]

    def cleanupPage(self) -> None:
        # Back after a failure: the summary page becomes the "Create" (commit) page again.
        self.wizard().summary_page.setCommitPage(True)  # type: ignore[attr-defined]
        self.set_state("idle")


# ---------------------------------------------------------------- the wizard


class NewProjectWizard(QWizard):
    project_created = Signal(str)  # the new project's folder

    def __init__(
        self,
        parent: QWidget | None = None,
        step_hook: Callable[[str], None] | None = None,
        tasks: TaskRunner | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New BuildRunner Project")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self._step_hook = step_hook  # tests (and only tests) slow a step down or observe it
        # The app's runner when given; else the wizard's own, whose threads end whenever the wizard closes.
        self._owns_tasks = tasks is None
        self.tasks = tasks if tasks is not None else TaskRunner(self, name="wizard-tasks")
        self.name_page = NamePage()
        self.location_page = LocationPage()
        self.description_page = DescriptionPage()
        self.features_page = FeaturesPage()
        self.tech_page = TechStackPage()
        self.options_page = OptionsPage()
        self.summary_page = SummaryPage()
        self.progress_page = ProgressPage()
        for page in (
            self.name_page,
            self.location_page,
            self.description_page,
            self.features_page,
            self.tech_page,
            self.options_page,
            self.summary_page,
            self.progress_page,
        ):
            self.addPage(page)
        self._run: _Run | None = None
        self._registry: registry.RegistrySnapshot | None = None  # None until the first read arrives
        self._registry_asked = 0  # numbers the reads: only the newest one counts (a slow older one is stale)
        self.created_folder = ""
        self.resize(640, 480)

    # ---------------------------------------------------------------- the alias registry

    def reload_registry(self) -> None:
        """Read the registry off the GUI thread; the pages re-check themselves against it when it arrives."""
        self._registry_asked += 1
        number = self._registry_asked
        self.tasks.run(
            partial(registry.read_snapshot, backup=False),  # no backup of a corrupt file while the user types
            partial(self._registry_read, number),
            partial(self._registry_unreadable, number),
        )

    def registry_ready(self) -> bool:
        """True once the registry has been read at least once (validation no longer waits for it)."""
        return self._registry is not None

    def _registry_unreadable(self, number: int, exc: BaseException) -> None:
        # read_snapshot reports registry trouble in the snapshot; this is anything else. It must not leave the
        # alias "being checked" for ever: it blocks Create with the reason instead.
        log.error("reading the alias registry failed", exc_info=exc)
        error = registry.RegistryError(f"cannot read the alias registry: {exc}")
        self._registry_read(number, registry.RegistrySnapshot(error=error))

    def _registry_read(self, number: int, snapshot: registry.RegistrySnapshot) -> None:
        if number != self._registry_asked:  # a newer read is on its way, or the wizard has closed since
            return
        self._registry = snapshot
        page = self.currentPage()
        if isinstance(page, _CheckedPage):
            page.refresh()

    # ---------------------------------------------------------------- the request

    def request(self) -> ProjectRequest:
        alias = self.name_page.alias.text().strip()
        return ProjectRequest(
            alias=alias,
            path=self.location_page.project_path(alias),
            name=self.name_page.name.text().strip(),
            description=self.description_page.text.toPlainText().strip(),
            features=self.features_page.features(),
            tech_stack=self.tech_page.items(),
            install_buildrunner=self.options_page.install.isChecked(),
        )

    def errors(self) -> dict[str, str]:
        """field -> message: the initializer's checks (nested keys folded onto their field) against the registry
        snapshot, plus the one thing only the form knows: an empty parent folder (the request would otherwise
        name a relative path)."""
        errors: dict[str, str] = {}
        if not self.location_page.parent_folder.text().strip():
            errors["path"] = "Choose the folder to create the project in"
        known = self._registry if self._registry is not None else registry.RegistrySnapshot()
        try:
            found = validation_errors(self.request(), known)
        except Exception as exc:  # a checker bug must not take the form down; it blocks Create instead
            log.exception("validation_errors failed")
            found = {"request": f"could not check the project: {exc}"}
        if self._registry is None:
            found.setdefault("alias", REGISTRY_PENDING)  # an alias not yet checked must not pass
        for key, message in found.items():
            errors.setdefault(_field_of(key), message)
        return errors

    # ---------------------------------------------------------------- running the initializer

    def is_running(self) -> bool:
        return self._run is not None

    def start_creation(self) -> None:
        if self._run is not None:
            return
        request = self.request()
        self.progress_page.reset(request.install_buildrunner)
        self.progress_page.set_state("running")
        self.button(QWizard.WizardButton.CancelButton).setEnabled(True)
        run = self._run = _Run()
        tasks = self.tasks

        def progress(step_id: str, message: str, fraction: float) -> None:  # worker thread: no widgets here
            tasks.run_on_main(partial(self._on_progress, run, step_id, message, fraction))

        initializer = ProjectInitializer(request, progress=progress, cancel=run.cancel, step_hook=self._step_hook)
        run.future = tasks.run(initializer.run, partial(self._created, run), partial(self._failed, run))

    def _on_progress(self, run: _Run, step_id: str, message: str, fraction: float) -> None:
        if run is self._run:
            self.progress_page.show_progress(step_id, message, fraction)

    def _created(self, run: _Run, folder: Path) -> None:
        if run is self._run:
            self._finished(run, "done", str(folder), "")

    def _failed(self, run: _Run, exc: BaseException) -> None:
        if run is not self._run:
            return
        if isinstance(exc, InitCancelled):
            self._finished(run, "cancelled", "", "")
        elif isinstance(exc, InitError):
            self._finished(run, "error", str(exc), exc.step or "")
        else:
            log.error("project creation failed", exc_info=exc)
            self._finished(run, "error", f"unexpected error: {exc}", "")

    def _finished(self, run: _Run, outcome: str, text: str, step_id: str) -> None:
        self._run = None
        if run.cancel.is_set() and outcome != "done":
            # Cancelled (or failed while cancelling): everything is rolled back; now the wizard may close.
            super().reject()
            return
        # A cancel that came too late (the run had already finished) still reports the project that now exists.
        if outcome == "done":
            self.created_folder = text
            self.progress_page.show_done(text)
            self.button(QWizard.WizardButton.CancelButton).setEnabled(False)
            self.project_created.emit(text)
        else:
            self.summary_page.setCommitPage(False)  # lets the user go Back to fix the input
            self.progress_page.show_failed(step_id, text or "cancelled")

    def reject(self) -> None:
        """Cancel, Escape and the close box: while the initializer runs, ask it to stop and roll back first."""
        if self._run is None:
            super().reject()
            return
        if not self._run.cancel.is_set():
            self._run.cancel.set()
            self.button(QWizard.WizardButton.CancelButton).setEnabled(False)
            self.progress_page.show_cancelling()

    def done(self, result: int) -> None:
        self._registry_asked += 1  # a read still in flight is for a closed (maybe deleted) wizard: ignore it
        super().done(result)
        if self._owns_tasks:  # nothing long runs once the wizard has closed: at most a registry read
            self.tasks.shutdown(wait=False)

    def stop(self) -> None:
        """Shutting the app down: cancel a running creation, wait for its rollback (blocks), and close."""
        run = self._run
        if run is not None and run.future is not None:
            run.cancel.set()
            wait_for_futures([run.future])
            # Handled here and now; the callbacks already queued for it find it is no longer the current run.
            exc = run.future.exception()
            if exc is None:
                self._created(run, run.future.result())
            else:
                self._failed(run, exc)
        if self.isVisible():
            super().reject()
        if self._owns_tasks:
            self.tasks.shutdown(wait=True)
