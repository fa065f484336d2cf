"""The browser page at parity with the window's overview, in a real headless Chromium against real `serve` processes:
the "what now" header (activity, phase, current items, times, newest line, why it failed and a link to where it
says so), the burn-up chart, failures marked, documents rendered safely, and the artifacts.

The expected header texts are the window's own: an `OverviewPanel` (offscreen Qt) loads a `SessionStore` holding
the server's snapshot (`/api/build/status/ID`), and its labels are what the page must read. Page and panel run in
the same time zone, one that is not UTC, so local times are compared too.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.server import test_browser_page as base

expect = base.expect
browser = base.browser  # the same fixtures as the page's other tests
serve = base.serve

ZONE = "Asia/Kolkata"  # +05:30 all year: local times are not UTC's, and no daylight saving moves them
LINES = ("#now-activity", "#now-times", "#now-run", "#now-last-line", "#now-failure", "#now-headline", "#now-hint")

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def page(browser, monkeypatch) -> Iterator[object]:
    """A page in ZONE, with this process (the window's wording) and its `serve` children in ZONE too."""
    monkeypatch.setenv("TZ", ZONE)
    time.tzset()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=ZONE)
    page = context.new_page()
    page.problems = []  # uncaught script errors and CSP violations: the page must have none
    page.on("pageerror", lambda error: page.problems.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            page.problems.append(f"console: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
        monkeypatch.undo()
        time.tzset()


def window_lines(served: base.Served, qtbot) -> dict[str, str | None]:
    """What the window's overview shows for the server's current state (None: a line it hides)."""
    from PySide6.QtGui import QTextDocumentFragment

    from buildrunner_gui.model.store import SessionStore
    from buildrunner_gui.ui.overview_panel import OverviewPanel

    state = status(served)
    store = SessionStore(served.session, state["project"])
    store._load(state)
    panel = OverviewPanel()
    qtbot.addWidget(panel)
    panel.load(store)
    failure = QTextDocumentFragment.fromHtml(panel.failure_label.text()).toPlainText()
    return {
        "#now-activity": panel.activity_label.text(),
        "#now-times": panel.times_label.text(),
        "#now-run": None if panel.run_label.isHidden() else panel.run_label.text(),
        # Both show one line, clipped (the page by CSS): the window keeps a long line whole in its tooltip.
        "#now-last-line": _whole_last_line(panel.last_line_label) or None,
        "#now-failure": None if panel.failure_label.isHidden() else failure,
        "#now-headline": panel.headline_label.text(),
        "#now-hint": None if panel.hint_label.isHidden() else panel.hint_label.text(),
    }


def status(served: base.Served) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/api/build/status/{served.session}", timeout=10) as r:
        return json.load(r)


def without_ago(times: str) -> str:
    """The times line but for its last part ("last change 3 s ago" moves on by the second)."""
    return times.rpartition(" · last change ")[0]


def expect_window_wording(page, served: base.Served, qtbot, moving_times: bool = False) -> dict[str, str | None]:
    """The page's header reads word for word as the window's (a moving "N s ago" aside)."""
    want = window_lines(served, qtbot)
    for selector in LINES:
        line = page.locator(selector)
        if want[selector] is None:
            expect(line).to_be_hidden(timeout=10_000)
        elif selector == "#now-times" and moving_times:
            expect(line).to_contain_text(without_ago(want[selector]) + " · last change ", timeout=10_000)
            assert without_ago(line.text_content()) == without_ago(want[selector])
            assert re.fullmatch(r".* · last change \d+ s ago", line.text_content())
        else:
            expect(line).to_have_text(want[selector], timeout=10_000)
            assert line.text_content() == want[selector]  # exactly, not only up to white space
    return want


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_json(path: Path, value: object) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value))
    temporary.replace(path)  # appears whole


def connected(page, features: int) -> None:
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=10_000)
    expect(page.locator("#features tbody tr[data-id]")).to_have_count(features, timeout=10_000)


def test_the_sample_reads_completed_as_the_window_says_with_chart_documents_and_artifacts(
    sample_project, serve, page, qtbot
):
    served = serve(sample_project, "--port", "0")
    page.goto(served.page_url())
    connected(page, 17)

    # Completed at 100 %, its last change in 2025: never "building".
    want = expect_window_wording(page, served, qtbot)
    assert want["#now-activity"] == "Completed · phase build_4e_start"
    assert want["#now-headline"] == "features: 17 of 17 complete"
    assert re.fullmatch(
        r"started 2025-11-1[78] \d\d:\d\d · took 1 h 10 min · last change \d+ days ago", want["#now-times"]
    )
    expect(page.locator("#now-activity")).to_have_attribute("data-activity", "completed")
    expect(page.locator("#now-hint")).to_be_hidden()
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "100")

    # The chart: one known value (the current percent, at the last checkpoint), the four checkpoints as ticks.
    chart = page.locator("#burnup")
    expect(chart).to_have_attribute("data-points", "1")
    expect(chart.locator("circle.point")).to_have_count(1)
    expect(chart.locator("line.mark")).to_have_count(4)
    expect(chart.locator("g.failed-mark")).to_have_count(0)
    expect(chart.locator("title")).to_have_text("Completion over time: 1 known value; now 100.0%")
    expect(chart.locator("path.series")).to_have_count(1)

    # Documents: the snapshot's, listed by path, the first shown rendered from its markdown.
    state = status(served)
    documents = page.locator("#documents-list button[data-path]")
    expect(documents).to_have_count(len(state["documents"]))
    assert documents.evaluate_all("bs => bs.map(b => b.dataset.path)") == [d["file_path"] for d in state["documents"]]
    viewer = page.locator("#document-view")
    expect(viewer).to_have_attribute("data-path", ".buildrunner/PROJECT_SPEC.md")
    expect(viewer.locator("h3").first).to_have_text("Dynamic PRD-Driven Build System")
    expect(viewer.locator(".md ul li").first).to_be_visible()
    documents.filter(has_text="Blockers").click()
    expect(viewer).to_have_attribute("data-path", ".buildrunner/context/blockers.md")
    expect(documents.filter(has_text="Blockers")).to_have_attribute("aria-current", "true")

    # Artifacts: path, size and time, in path order; a new one appears in its place, a deleted one goes.
    rows = page.locator("#artifacts tbody tr[data-path]")
    expect(rows).to_have_count(len(state["artifacts"]))
    assert state["artifacts"]
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.path)") == [a["file_path"] for a in state["artifacts"]]
    first = state["artifacts"][0]
    expect(rows.first.locator("td").nth(1)).to_have_attribute("title", f"{first['size']:,} bytes")
    report = sample_project / ".buildrunner" / "artifacts" / "phase-1" / "a-new-report.txt"
    report.write_bytes(b"x" * 2048)
    added = page.locator("#artifacts tbody tr[data-path='.buildrunner/artifacts/phase-1/a-new-report.txt']")
    expect(added).to_have_count(1, timeout=10_000)
    expect(added.locator("td").nth(1)).to_have_text("2.0 KiB")
    expect(added.locator("td").nth(2)).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.path)") == sorted(
        [a["file_path"] for a in state["artifacts"]] + [".buildrunner/artifacts/phase-1/a-new-report.txt"]
    )
    report.unlink()
    expect(added).to_have_count(0, timeout=10_000)
    expect(page.locator("#errors-h")).to_have_text(re.compile(r"^File problems"))
    assert page.problems == []


def test_an_old_build_in_progress_reads_idle_since_its_last_change(sample_project, serve, page, qtbot):
    base.write_checkpoint(
        sample_project,
        "checkpoint_20251118_010000_000000",
        {"timestamp": "2025-11-18T01:00:00Z", "phase": "build_5a_start", "completion_percentage": 50},
    )
    served = serve(sample_project, "--port", "0")
    page.goto(served.page_url())
    connected(page, 17)
    want = expect_window_wording(page, served, qtbot)
    # 01:00 UTC is 06:30 in Kolkata.
    assert want["#now-activity"] == "Idle since 2025-11-18 06:30 · phase build_5a_start"
    assert want["#now-headline"] == "features: 17 of 17 complete · checkpoint reports 50.0%"
    expect(page.locator("#now-activity")).to_have_attribute("data-activity", "idle")
    assert page.problems == []


def test_a_scripted_build_building_then_failing_at_parity_with_the_window(tmp_path, serve, page, qtbot):
    project = tmp_path / "shop"
    state = project / ".buildrunner"
    (state / "checkpoints").mkdir(parents=True)
    (state / "logs").mkdir()
    features = [
        {"id": "cart", "name": "Cart", "status": "in_progress"},
        {"id": "pay", "name": "Payments", "status": "complete"},
    ]
    write_json(state / "features.json", {"project": "shop", "features": features})
    write_json(state / "checkpoints" / "c1.json", {"id": "c1", "timestamp": now_iso(), "phase": "build_1_cart"})
    log = state / "logs" / "build.log"
    log.write_text("compiling cart\n")
    served = serve(project, "--port", "0")
    page.goto(served.page_url())
    connected(page, 2)

    want = expect_window_wording(page, served, qtbot, moving_times=True)
    assert want["#now-activity"] == "Building · phase build_1_cart · working on Cart"
    assert want["#now-last-line"] == "$ compiling cart"
    assert want["#now-headline"] == "features: 1 of 2 complete"
    expect(page.locator("#now-times")).to_have_text(
        re.compile(r"^started \d\d:\d\d:\d\d · elapsed \d+ s · last change")
    )

    # Failure lines are marked (red, an icon): as model/failure_lines.py reads them, not by the word alone.
    with log.open("a") as out:
        out.write("FAILED tests/test_cart.py::test_total - AssertionError\nerrors: 0\nproviders_failed: none\n")
    terminal = page.locator("#terminal .line")
    expect(terminal.last).to_have_text("providers_failed: none", timeout=10_000)
    failing = terminal.filter(has_text="FAILED tests/test_cart.py::test_total")
    expect(failing).to_have_attribute("data-failure", "true")
    expect(failing).to_have_class(re.compile(r"\bfailing\b"))
    assert "✖" in failing.evaluate("line => getComputedStyle(line, '::before').content")
    for ordinary in ("errors: 0", "providers_failed: none", "compiling cart"):
        assert terminal.filter(has_text=ordinary).get_attribute("data-failure") is None
    expect(page.locator("#now-failure")).to_be_hidden()  # a failing line alone does not fail the build

    # The latest checkpoint fails: its reason in red, with a link that shows the checkpoint.
    write_json(
        state / "checkpoints" / "c2.json",
        {"id": "c2", "timestamp": now_iso(), "phase": "build_1_tests", "error": "3 tests failed in tests/test_cart.py"},
    )
    failure = page.locator("#now-failure")
    expect(failure).to_be_visible(timeout=10_000)
    want = expect_window_wording(page, served, qtbot, moving_times=True)
    assert want["#now-failure"] == "✖ Failed: 3 tests failed in tests/test_cart.py — show the checkpoint"
    assert want["#now-activity"] == "Failed · phase build_1_tests · working on Cart"
    expect(failure).to_have_attribute("role", "alert")
    checkpoint = page.locator("#checkpoints li[data-id='c2']")
    expect(checkpoint).to_have_attribute("data-failed", "true")
    expect(checkpoint).to_contain_text("✖ Failed")
    expect(checkpoint).to_contain_text("error: 3 tests failed in tests/test_cart.py")
    expect(page.locator("#checkpoints li[data-id='c1']")).not_to_have_attribute("data-failed", "true")
    expect(page.locator("#burnup g.failed-mark")).to_have_count(1)  # a red cross on the chart
    expect(page.locator("#burnup")).not_to_have_attribute("data-points", "1")  # the change brought a value
    expect(checkpoint).not_to_have_class(re.compile("highlighted"))
    failure.get_by_role("button", name="show the checkpoint").click()
    expect(checkpoint).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(checkpoint).to_be_focused()
    expect(checkpoint).to_be_in_viewport()

    # A later checkpoint without an error, where an item failed: the reason is the item's, the link shows its row.
    write_json(
        state / "checkpoints" / "c3.json",
        {
            "id": "c3",
            "timestamp": now_iso(),
            "phase": "build_1_fix",
            "features": [{"id": "cart", "status": "failed", "error": "the total is off by one"}],
        },
    )
    expect(failure).to_contain_text("show the feature", timeout=10_000)
    want = expect_window_wording(page, served, qtbot, moving_times=True)
    assert want["#now-failure"] == "✖ Failed: Cart: the total is off by one — show the feature"
    row = page.locator("#features tbody tr[data-id='cart']")
    expect(row).to_have_attribute("data-status", "failed")
    expect(row).to_contain_text("Failed")  # the status's icon and word, not only the row's colour
    failure.get_by_role("button", name="show the feature").click()
    expect(row).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(row).to_be_focused()
    expect(checkpoint).not_to_have_class(re.compile("highlighted"))  # one highlight at a time
    assert page.problems == []


def test_a_project_with_nothing_built_says_how_to_start(tmp_path, serve, page, qtbot):
    project = tmp_path / "fresh"
    (project / ".buildrunner").mkdir(parents=True)
    served = serve(project, "--port", "0")
    page.goto(served.page_url())
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=10_000)
    want = expect_window_wording(page, served, qtbot)
    assert want["#now-activity"] == "Pending"
    assert want["#now-headline"] == "nothing to count yet"
    assert want["#now-hint"] is not None and want["#now-hint"].startswith("Nothing built yet.")
    expect(page.locator("#burnup")).to_have_attribute("data-points", "1")
    assert page.problems == []


HOSTILE = """# Notes <script>window.docScript = 1</script>

<img src=x id=doc-injected onerror="window.docImage = 1">

<script>window.docScript = 2</script>

- a list item with **strong** and `code` and [a link](javascript:window.docLink=1)
- ![an image](x" onerror="window.docImage=2)

```html
<script>window.docScript = 3</script>
```

| name | value |
|------|-------|
| <b onmouseover="window.docCell=1">cell</b> | 2 |
"""


def test_documents_are_rendered_as_text_and_run_nothing(sample_project, serve, page):
    served = serve(sample_project, "--port", "0")
    page.goto(served.page_url())
    connected(page, 17)
    (sample_project / ".buildrunner" / "context" / "hostile.md").write_text(HOSTILE)
    button = page.locator("#documents-list button[data-path='.buildrunner/context/hostile.md']")
    expect(button).to_have_count(1, timeout=10_000)
    expect(button).to_contain_text("Notes <script>window.docScript = 1</script>")  # its title, as text
    button.click()
    viewer = page.locator("#document-view")
    expect(viewer).to_have_attribute("data-path", ".buildrunner/context/hostile.md")
    expect(viewer.locator("h3")).to_have_text("Notes <script>window.docScript = 1</script>")
    expect(viewer).to_contain_text('<img src=x id=doc-injected onerror="window.docImage = 1">')
    expect(viewer).to_contain_text("<script>window.docScript = 2</script>")
    expect(viewer.locator("pre code")).to_have_text("<script>window.docScript = 3</script>")
    expect(viewer.locator("li strong")).to_have_text("strong")
    expect(viewer.locator("li code")).to_have_text("code")
    expect(viewer.locator("li").first).to_contain_text("a link")
    expect(viewer.locator("table th").first).to_have_text("name")
    expect(viewer.locator("table td").first).to_have_text('<b onmouseover="window.docCell=1">cell</b>')
    # Nothing of the document became an element that loads or runs anything.
    assert viewer.locator("script, img, a, iframe, object, embed, [onerror], [onmouseover]").count() == 0
    assert page.locator("#doc-injected").count() == 0
    viewer.locator("table td").first.hover()
    flags = "() => [window.docScript, window.docImage, window.docLink, window.docCell]"
    assert page.evaluate(flags) == [None, None, None, None]
    assert page.problems == []


CONTROL = "control-token-0123456789abcdef"


def post(url: str, token: str) -> int:
    request = urllib.request.Request(url, method="POST", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def test_a_build_run_shows_live_in_the_runs_list_and_a_failed_run_fails_the_page_as_the_window(
    tmp_path, serve, page, qtbot, monkeypatch
):
    from buildrunner_gui.settings import AppSettings

    project = tmp_path / "shop"
    (project / ".buildrunner" / "checkpoints").mkdir(parents=True)
    (project / "build.py").write_text(
        "import sys, time\nprint('compiling shop', flush=True)\ntime.sleep(1.5)\n"
        "print('error: the linker gave up', file=sys.stderr)\nsys.exit(3)\n"
    )
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("BUILDRUNNER_GUI_DATA", str(tmp_path / "data"))
    settings = AppSettings(str(config / "BuildRunner" / "BuildRunner Desktop.conf"))
    settings.set_build_command(str(project), f"{sys.executable} build.py")
    settings.sync()
    served = serve(project, "--port", "0", "--control-token", CONTROL)
    page.goto(served.page_url())
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=10_000)
    expect(page.locator("#runs tbody tr.empty")).to_have_text("No build runs yet")
    expect(page.locator("#now-run")).to_be_hidden()

    assert post(f"http://127.0.0.1:{served.port}/api/build/start/{served.session}", CONTROL) == 202
    row = page.locator("#runs tbody tr[data-run-id]")
    expect(row).to_have_attribute("data-state", "running", timeout=10_000)
    expect(page.locator("#now-run")).to_have_text(re.compile(r"^Build command running for \d+ s$"))
    expect(row.locator("td.command")).to_have_text(f"{sys.executable} build.py")

    expect(row).to_have_attribute("data-state", "finished", timeout=20_000)
    expect(row.locator("td.result")).to_have_text("failed (exit code 3)")
    assert row.locator("td.result").get_attribute("data-bad") == ""
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "failed")
    want = expect_window_wording(page, served, qtbot)  # no file has changed: nothing in the times moves
    assert want["#now-run"] is not None and want["#now-run"].startswith("Last run: failed with exit code 3, took")
    assert want["#now-failure"] == "✖ Failed: the build command exited with code 3 — show its output"
    page.locator("#now-failure button").click()  # its output: the end of the terminal
    expect(page.locator("#terminal .line.highlighted")).to_have_text("error: the linker gave up")
    assert page.problems == []


def _whole_last_line(label) -> str:
    return f"$ {label.toolTip()}" if label.toolTip() else label.text()
