"""Every sink shows one state: the window's view of a local build, a mirror window re-serving it, and a mirror
of that mirror, through a whole scripted build (the demo's, played fast), on one qasync loop as in the app."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex

from buildrunner_gui.demo import DemoBuild
from buildrunner_gui.server.mirror_server import MirrorServer
from buildrunner_gui.sources.remote import RemoteSource
from buildrunner_gui.sources.watcher import ProjectWatcher
from buildrunner_gui.ui.session import Session
from buildrunner_gui.ui.session_view import SessionView


def cells(model: QAbstractItemModel) -> list[tuple[str, ...]]:
    return [
        tuple(str(model.index(row, column, QModelIndex()).data()) for column in range(model.columnCount()))
        for row in range(model.rowCount())
    ]


def shown(view: SessionView) -> dict[str, Any]:
    """What a person sees in every panel, as text."""
    return {
        "features": cells(view.features.model),
        "components": cells(view.components.model),
        "checkpoints": cells(view.checkpoints.model),
        "documents": cells(view.documents.model),
        "artifacts": cells(view.artifacts.model),
        "activity": cells(view.activity.model),
        "terminal": view.terminal.text(),
        "overview": (
            view.overview.name_label.text(),
            view.overview.badge.text(),
            view.overview.progress_bar.text(),
            {key: label.text() for key, label in view.overview.count_labels.items()},
            view.overview.history(),
        ),
    }


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in json.loads(json.dumps(state)).items() if key != "source"}


async def until(condition, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def test_window_mirror_and_mirror_of_a_mirror_show_the_same_build(run, qtbot, tmp_path: Path):
    demo = DemoBuild(tmp_path / "demo", duration=3.0, seed=8)
    demo.prepare()

    async def scenario() -> None:
        local = ProjectWatcher(demo.folder)
        upstream, relay = MirrorServer(port=0), MirrorServer(port=0)
        await upstream.start()
        await relay.start()
        sessions: list[Session] = []
        try:
            upstream.add_session(local)
            sessions.append(Session(local))
            sessions[0].start()
            await until(lambda: sessions[0].loaded)
            mirror = RemoteSource(upstream.url_for(local.session_id))
            relay.add_session(mirror)  # the mirror window re-serves what it shows
            sessions.append(Session(mirror))
            sessions[1].start()
            await until(lambda: sessions[1].loaded)
            mirror_of_mirror = RemoteSource(relay.url_for(mirror.session_id))
            sessions.append(Session(mirror_of_mirror))
            sessions[2].start()
            await until(lambda: sessions[2].loaded)
            for session in sessions:
                qtbot.addWidget(session.view)

            demo.start()
            await until(lambda: demo.finished, timeout=30)

            def agree() -> bool:  # the local store may still take the build's last writes: compare afresh
                expected = comparable(local.store.snapshot())
                return all(comparable(s.store.snapshot()) == expected for s in sessions[1:])

            try:
                await until(agree)
            except TimeoutError:
                expected = comparable(local.store.snapshot())
                differing = {
                    n: [k for k, v in comparable(s.store.snapshot()).items() if expected[k] != v]
                    for n, s in enumerate(sessions)
                }
                raise AssertionError(f"the sinks never agreed: {differing}") from None
            expected = comparable(local.store.snapshot())
            assert expected["checkpoints"] and expected["features"] and expected["documents"]
            window = shown(sessions[0].view)
            assert window["features"] and window["terminal"]
            for session in sessions[1:]:
                assert shown(session.view) == window
            # Each says where it comes from: the folder here, never the sender's path in a mirror.
            paths = [session.view.overview.path_label.text() for session in sessions]
            assert paths == [
                str(demo.folder),
                f"mirror of 127.0.0.1:{upstream.port}",
                f"mirror of 127.0.0.1:{relay.port}",
            ]
        finally:
            demo.stop()
            for session in sessions:
                session.stop()
            await relay.stop()
            await upstream.stop()

    run(scenario(), timeout=60)
