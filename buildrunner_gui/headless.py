"""`buildrunner-gui serve`: watch projects and serve the mirror protocol, with no window.

A QCoreApplication drives the watchers' signals and qasync runs asyncio (the websockets server) on the
same loop, exactly as inside the window. SIGINT/SIGTERM stop it cleanly: clients get close 1001, exit 0.
"""

from __future__ import annotations

import asyncio
import sys
from functools import partial
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication

from .model.session_ids import session_id_for
from .os_signals import stop_on_signals
from .project.registry_read import resolve_project
from .server.mirror_server import MirrorServer
from .sources.watcher import ProjectWatcher


def run_serve(
    projects: list[str],
    host: str,
    port: int,
    token: str | None,
    allowed_origins: list[str],
    max_clients: int,
    demo: bool,
    debug: bool = False,
) -> int:
    folders = [resolve_project(project) for project in projects]  # bad names fail before anything starts
    demo_build = None
    if demo:
        from .demo import DemoBuild

        demo_build = DemoBuild.in_temporary_folder()
        demo_build.prepare()
        folders.append((demo_build.folder, None))
    if not folders:
        raise ValueError("give at least one PROJECT, or --demo")

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    server = MirrorServer(host, port, token, allowed_origins, max_clients, debug)
    watchers: list[ProjectWatcher] = []
    for folder, alias in folders:
        session_id = session_id_for(alias, Path(folder).name, [w.session_id for w in watchers])
        watchers.append(ProjectWatcher(Path(folder), alias=alias, session_id=session_id))
    try:
        with loop:
            return loop.run_until_complete(_serve(server, watchers, demo_build))
    finally:
        for watcher in watchers:
            watcher.stop()
        if demo_build is not None:
            demo_build.cleanup()


async def _serve(server: MirrorServer, watchers: list[ProjectWatcher], demo_build) -> int:
    stop = asyncio.Event()
    restore = stop_on_signals(stop.set)
    try:
        await server.start()
        for watcher in watchers:
            server.add_session(watcher)
            watcher.messages.connect(partial(server.publish, watcher.session_id))
            watcher.start()
        while not all(watcher.loaded.is_set() for watcher in watchers):
            await asyncio.sleep(0.01)
        if demo_build is not None:
            demo_build.start()
        if server.token:
            print(f"buildrunner-gui: access token {server.token} (Authorization: Bearer, or ?token=)", file=sys.stderr)
        print(f"buildrunner-gui: browser page {server.page_url()}", file=sys.stderr)
        for watcher in watchers:
            print(f"serving {server.url_for(watcher.session_id)}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        if demo_build is not None:
            demo_build.stop()
        await server.stop()
        restore()
    return 0
