"""`buildrunner-gui --self-test`: prove that this build (a source checkout or the bundled app) really works.

A bundle that builds can still fail to start (a missing Qt plugin, a module PyInstaller did not see, a data
file left out), so this exercises every layer once: parse a project, watch it, serve it, fetch the browser page,
receive the stream, and build the window offscreen."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="buildrunner-selftest-") as folder:
        project = Path(folder) / "selftest"
        checkpoints = project / ".buildrunner" / "checkpoints"
        checkpoints.mkdir(parents=True)
        (checkpoints / "one.json").write_text(
            json.dumps({"phase": "build_1", "completion": 50, "components": {"api": {"status": "done"}, "ui": "wip"}})
        )
        try:
            checks = _check(project)
        except Exception as exc:  # the point is to report, in one line, what is broken
            print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print("self-test ok: " + ", ".join(checks))
    return 0


def _check(project: Path) -> list[str]:
    from .sources.oneshot import read_once

    state = read_once(project).snapshot()
    assert state["progress"]["percent"] == 50.0 and len(state["components"]) == 2, state["progress"]
    checks = ["parse"]

    import qasync
    from PySide6.QtWidgets import QApplication

    from .app.qt_messages import quiet_offscreen_notices

    app = QApplication.instance() or QApplication(sys.argv[:1])
    quiet_offscreen_notices()
    app.setQuitOnLastWindowClosed(False)  # closing the test window must not stop the loop under the test
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        checks += loop.run_until_complete(asyncio.wait_for(_serve_and_show(project), 30))
    return checks


async def _serve_and_show(project: Path) -> list[str]:
    from websockets.asyncio.client import connect

    from .server.mirror_server import MirrorServer
    from .sources.watcher import ProjectWatcher
    from .ui.main_window import MainWindow
    from .ui.session_view import SessionView

    server = MirrorServer(port=0)
    watcher = ProjectWatcher(project)
    await server.start()
    try:
        server.add_session(watcher)
        watcher.start()
        while not watcher.is_ready:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        page = await reader.read()
        writer.close()
        assert page.startswith(b"HTTP/1.1 200") and b"<!doctype html" in page.lower(), page[:60]
        async with connect(server.url_for(watcher.session_id)) as client:
            assert json.loads(await client.recv())["type"] == "connection"
            status = json.loads(await client.recv())
            assert status["state"]["progress"]["percent"] == 50.0
        window = MainWindow()
        view = SessionView()
        view.load(watcher.store)
        window.add_session(watcher.session_id, view, "selftest", status["state"]["status"], 50.0, str(project))
        window.show()
        assert window.grab().width() > 0 and view.components.model.rowCount() == 2
        window.allow_close()
        window.close()
        return ["watch", "serve", "page", "stream", "window"]
    finally:
        watcher.stop()
        await server.stop()
