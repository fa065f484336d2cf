"""Window process for bench_window_batch.py: one SessionView (all panels, real widgets) in a shown QMainWindow, fed
big batches while a 5 ms precise QTimer watches the GUI thread.

Ours: a `SessionStore` gets the first state by `publish`, then `view.load(store)`; each batch is published into the
store through the `ChunkedPublisher` and handed to `view.apply_batch(published, store)`, both on the GUI thread
as `ProjectWatcher._drain` and `Session._on_batch` do. Landed (`--tree DIR`, a checkout of 88c8a52 put first on
sys.path): `view.load(snapshot)` and `view.apply_batch(batch)`, which hands each message to each panel in turn.
The same messages for both (`_window_batch_data.py`).

Each batch runs from a zero timer; then the loop runs `--settle-ms` more. Per batch: the longest gap between two
ticks beyond the 5 ms in that span (publish, apply_batch, and the repaint and other events they caused), the
publish and apply_batch times, and the longest gap that began after apply_batch returned (the repaint).

Output: one JSON line. Run (by the bench): .venv/bin/python bench/_window_batch_child.py SCENARIO [options]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import _window_batch_data as data

SCENARIOS = (
    "overview",
    "features",
    "features-sorted",
    "features-filtered",
    "features-sorted-filtered",
    "terminal-plain",
    "terminal-ansi",
)
FILTER_TEXT = "parser"  # in one feature name of four
COL_PROGRESS = 3  # the same column in both versions of the item model


def now() -> int:
    return time.perf_counter_ns()


def pump(milliseconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(max(0, round(milliseconds)), loop.quit)
    loop.exec()


def run_soon(callback: Any) -> None:
    """Runs `callback` from a zero timer inside the event loop, and returns right after it."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()

    def run() -> None:
        try:
            callback()
        finally:
            loop.quit()

    QTimer.singleShot(0, run)
    loop.exec()


class Ours:
    """The current API, as `ProjectWatcher._drain` drives it: the store takes the batch through the
    `ChunkedPublisher` (a few thousand events per turn of the loop), then the view gets the whole batch."""

    def __init__(self, view: Any, project_path: str) -> None:
        from buildrunner_gui.model.store import SessionStore
        from buildrunner_gui.sources.chunked_publisher import ChunkedPublisher

        self.view = view
        self.store = SessionStore(data.SESSION, {"name": "bench", "alias": None, "path": project_path})
        self._marks: dict[str, int] = {}
        self.publisher = ChunkedPublisher(self.store, self._deliver)

    def load(self, first: list[data.Message], _snapshot: data.Message) -> None:
        self.store.publish(first)
        self.view.load(self.store)

    def apply(self, batch: list[data.Message], marks: dict[str, int]) -> None:
        self._marks = marks
        marks["begin"] = now()
        self.publisher.publish(batch)  # the remaining chunks run in the settle time that follows

    def _deliver(self, published: list[data.Message]) -> None:
        self._marks["published"] = now()
        self.view.apply_batch(published, self.store)
        self._marks["applied"] = now()


PANELS = ("overview", "features", "components", "checkpoints", "documents", "artifacts", "terminal", "activity")


def time_panels(view: Any) -> dict[str, list[float]]:
    """Wraps each panel's `apply_batch` (ours) with a stopwatch; the view still calls them itself."""
    spent: dict[str, list[float]] = {name: [] for name in PANELS}
    for name in PANELS:
        panel = getattr(view, name)
        original = panel.apply_batch

        def timed(batch: Any, store: Any, original: Any = original, out: list[float] = spent[name]) -> None:
            start = now()
            original(batch, store)
            out.append((now() - start) / 1e6)

        panel.apply_batch = timed
    return spent


class Landed:
    """88c8a52's API: the snapshot dict, then each batch as a list the view hands on message by message."""

    def __init__(self, view: Any, _project_path: str) -> None:
        self.view = view

    def load(self, _first: list[data.Message], snapshot: data.Message) -> None:
        self.view.load(snapshot)

    def apply(self, batch: list[data.Message], marks: dict[str, int]) -> None:
        marks["begin"] = marks["published"] = now()
        self.view.apply_batch(batch)
        marks["applied"] = now()


def set_up(view: Any, scenario: str) -> None:
    from PySide6.QtCore import Qt

    if scenario == "overview":
        view.tabs.setCurrentWidget(view.overview)
        return
    if scenario.startswith("terminal"):
        view.tabs.setCurrentWidget(view.terminal)
        return
    panel = view.features
    view.tabs.setCurrentWidget(panel)
    if "sorted" in scenario:
        panel.table.sortByColumn(COL_PROGRESS, Qt.SortOrder.DescendingOrder)  # every batch moves rows
    if "filtered" in scenario:
        panel.filter_edit.setText(FILTER_TEXT)
    panel.table.selectRow(0)  # a selected item: its details follow it


def make_batch(scenario: str, batch: int, args: argparse.Namespace) -> list[data.Message]:
    if scenario.startswith("terminal"):
        return data.terminal_batch(batch, args.terminal_count, scenario == "terminal-ansi")
    return data.item_batch(batch, args.features, args.per_feature)


def check_items(view: Any, scenario: str, batch: int, args: argparse.Namespace) -> dict[str, Any]:
    """Through the Qt model API (the same in both versions): does every row show the last batch's progress,
    and (sorted) in order?"""
    proxy = view.features.table.model()
    shown = [(proxy.index(r, 0).data(), proxy.index(r, COL_PROGRESS).data()) for r in range(proxy.rowCount())]
    expected = {data.feature_id(i): data.progress_of(batch, i) for i in range(args.features)}
    wrong = sum(1 for key, progress in shown if expected.get(key) != progress)
    wanted = args.features // 4 if "filtered" in scenario else args.features
    ordered = all(a[1] >= b[1] for a, b in itertools.pairwise(shown)) if "sorted" in scenario else None
    components = view.components.model
    count = args.features * args.per_feature
    wrong_components = sum(
        1
        for r in range(components.rowCount())
        if components.index(r, COL_PROGRESS).data()
        != data.progress_of(batch, int(components.index(r, 0).data().rsplit("_", 1)[1][:5]))
    )
    return {
        "feature_rows": len(shown),
        "feature_rows_expected": wanted,
        "feature_wrong": wrong,
        "sorted": ordered,
        "component_rows": components.rowCount(),
        "component_rows_expected": count,
        "component_wrong": wrong_components,
        "overview_features": view.overview.count_labels["features"].text(),
        "ok": wrong == 0 and len(shown) == wanted and ordered is not False and wrong_components == 0,
    }


def check_terminal(view: Any) -> dict[str, Any]:
    terminal = view.terminal
    return {
        "lines": terminal.line_count(),
        "dropped": terminal.dropped_count(),
        "blocks": terminal.text_edit().document().blockCount(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--tree", type=Path, help="the landed code: put first on sys.path, use its API")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--settle-ms", type=float, default=300.0, help="event loop time after each batch")
    parser.add_argument("--features", type=int, default=2_000)
    parser.add_argument("--per-feature", type=int, default=4, help="components per feature")
    parser.add_argument("--terminal-count", type=int, default=2_000, help="terminal_output messages per batch")
    parser.add_argument("--prefill", type=int, default=48_000, help="terminal lines shown before the batches")
    parser.add_argument("--project", default="/nonexistent/bench-project", help="the session's project path")
    parser.add_argument("--profile", type=Path, help="cProfile of the batches' application (pstats file)")
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, str(args.tree.resolve()))
    from PySide6.QtWidgets import QApplication, QMainWindow, QStyleFactory

    import buildrunner_gui
    from buildrunner_gui.runtime import tune_garbage_collector

    package = str(Path(buildrunner_gui.__file__).resolve().parent)
    if args.tree and not package.startswith(str(args.tree.resolve())):
        raise SystemExit(f"imported {package}, not the tree {args.tree}")
    tune_garbage_collector()  # as both versions' entry points do
    app = QApplication(sys.argv[:1])
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(app.style().standardPalette())

    from _window_child import StallMeter, when_exposed

    from buildrunner_gui.ui.session_view import SessionView

    window = QMainWindow()
    view = SessionView()
    window.setCentralWidget(view)
    window.resize(1200, 780)
    window.show()
    exposed: list[bool] = []
    when_exposed(window, lambda: exposed.append(True))
    deadline = time.monotonic() + 20
    while not exposed and time.monotonic() < deadline:
        pump(10)
    driver = (Landed if args.tree else Ours)(view, args.project)
    driver.load(
        data.item_batch(0, args.features, args.per_feature),
        data.snapshot(args.features, args.per_feature, args.project),
    )
    set_up(view, args.scenario)
    panel_ms = {} if args.tree else time_panels(view)
    terminal = args.scenario.startswith("terminal")
    if terminal and args.prefill:
        marks: dict[str, int] = {}
        driver.apply([data.prefill_message(args.prefill, args.scenario == "terminal-ansi")], marks)
    pump(500)  # the first paints of the tab

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    meter = StallMeter()
    meter.start()
    pump(100)
    idle_begin = now()
    pump(1000)
    idle = meter.summary(idle_begin, now(), slice_s=args.settle_ms / 1000)
    samples = []
    for number in range(1, args.batches + 1):
        batch = make_batch(args.scenario, number, args)
        marks = {}

        def run(batch: list[data.Message] = batch, marks: dict[str, int] = marks) -> None:
            if profiler is not None:
                profiler.enable()
            driver.apply(batch, marks)
            if profiler is not None:
                profiler.disable()

        pump(50)  # the meter ticks again after the batch was built: building it is no part of the stall
        run_soon(run)
        pump(args.settle_ms)
        end = now()
        stalls = meter.stalls(marks["begin"], end)  # the gaps ending after the batch began
        longest = max(stalls, key=lambda s: s[1])
        # Gaps that began after apply_batch returned: the repaint and whatever else it posted, when the meter
        # ticked in between (else they are in the batch's own gap).
        after = max((s[1] for s in stalls if s[0] - meter.interval_ns - s[1] * 1e6 >= marks["applied"]), default=0.0)
        samples.append(
            {
                "stall_ms": longest[1],
                "stall_cpu_ms": longest[2],
                "stall_runq_ms": longest[3],
                "publish_ms": (marks["published"] - marks["begin"]) / 1e6,
                "apply_ms": (marks["applied"] - marks["published"]) / 1e6,
                "after_ms": after,
                "messages": len(batch),
            }
        )
        del batch
    meter.stop()
    if profiler is not None:
        profiler.dump_stats(str(args.profile))
    check = check_terminal(view) if terminal else check_items(view, args.scenario, args.batches, args)
    result = {
        "scenario": args.scenario,
        "code": "landed" if args.tree else "ours",
        "package": package,
        "platform": app.platformName(),
        "idle_ms": idle["per_slice_ms"],
        "batches": samples,
        "check": check,
        "panel_ms": {name: times[-args.batches :] for name, times in panel_ms.items()},
        "rss_kb": int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]),
    }
    print(json.dumps(result), flush=True)
    os._exit(0)  # no teardown of 10,000 rows' widgets to wait for


if __name__ == "__main__":
    main()
