"""The overview answers "what now" from a scripted build: activity, phase, current items, the failure's reason in
red with a link that shows its checkpoint, and notifications that name the reason and what was recovered from."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from buildrunner_gui.sources.watcher import ProjectWatcher
from buildrunner_gui.ui.session import Session


async def until(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def write(path: Path, value: object) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value))
    temporary.replace(path)


def test_a_scripted_build_reads_at_a_glance_and_its_failure_is_named(run, qtbot, tmp_path):
    project = tmp_path / "shop"
    state = project / ".buildrunner"
    (state / "checkpoints").mkdir(parents=True)
    (state / "logs").mkdir()
    features = [
        {"id": "cart", "name": "Cart", "status": "in_progress"},
        {"id": "pay", "name": "Payments", "status": "complete"},
    ]
    write(state / "features.json", {"project": "shop", "features": features})

    async def scenario():
        session = Session(ProjectWatcher(project))
        qtbot.addWidget(session.view)
        alerts: list[tuple[str, str]] = []
        session.alert.connect(lambda _sid, kind, text: alerts.append((kind, text)))
        session.start()
        try:
            await until(lambda: session.loaded)
            overview = session.view.overview
            write(state / "checkpoints" / "c1.json", {"id": "c1", "timestamp": _now(), "phase": "build_1_cart"})
            (state / "logs" / "build.log").write_text("compiling cart\n")
            await until(lambda: "compiling cart" in overview.last_line_label.text())
            assert overview.activity_label.text() == "Building · phase build_1_cart · working on Cart"
            assert overview.headline_label.text() == "features: 1 of 2 complete"
            assert overview.failure_label.isHidden()

            write(state / "checkpoints" / "c2.json", {"id": "c2", "timestamp": _now(), "phase": "build_1_tests",
                                                       "error": "3 tests failed in tests/test_cart.py"})  # fmt: skip
            await until(lambda: session.status == "failed")
            assert not overview.failure_label.isHidden()
            assert "3 tests failed in tests/test_cart.py" in overview.failure_label.text()
            assert ("failed", "shop: build failed at 50%: 3 tests failed in tests/test_cart.py") in alerts
            overview.failure_label.linkActivated.emit("checkpoint:c2")  # the link, as a click sends it
            view = session.view
            assert view.tabs.currentWidget() is view.checkpoints
            assert view.checkpoints.tree.currentIndex().isValid()

            write(state / "checkpoints" / "c3.json", {"id": "c3", "timestamp": _now(), "phase": "build_1_fixed"})
            await until(lambda: session.status != "failed")
            assert any(kind == "fixed" and text.endswith("from: 3 tests failed in tests/test_cart.py")
                       for kind, text in alerts)  # fmt: skip
            assert overview.failure_label.isHidden()
        finally:
            session.stop()

    run(scenario())


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
