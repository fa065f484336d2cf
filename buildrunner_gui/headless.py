"""`buildrunner-gui serve`: watch projects (or relay remote sessions) and serve the mirror protocol, no window.

A QCoreApplication drives the watchers' signals and qasync runs asyncio (the websockets server, the mirror
clients) on the same loop, exactly as inside the window. SIGINT/SIGTERM stop it cleanly: clients get close
1001, exit 0. A PROJECT that is a `ws://…/api/build/stream/ID` URL is relayed (protocol.md, "Sessions served
from a mirror"): it is served even while its upstream cannot be reached, with `source.state` saying so.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication

from .commands import open_project
from .model.session_ids import session_id_for
from .os_signals import stop_on_signals
from .ports import default_port, start_server
from .server.access import check_token
from .server.mirror_server import MirrorServer
from .sources.remote import RemoteSource, is_stream_url
from .sources.source import SessionSource
from .sources.watcher import ProjectWatcher


def run_serve(
    projects: list[str],
    host: str,
    port: int | None,
    token: str | None,
    allowed_origins: list[str],
    max_clients: int,
    demo: bool,
    dialect: str = "v1",
) -> int:
    # A refused token, bad names and bad URLs fail before anything starts.
    if token is not None:
        check_token(token)
    folders = [open_project(project, watched=True) for project in projects if not is_stream_url(project)]
    upstreams = [RemoteSource(project) for project in projects if is_stream_url(project)]
    demo_build = None
    if demo:
        from .demo import DemoBuild

        demo_build = DemoBuild.in_temporary_folder()
        demo_build.prepare()
        folders.append((demo_build.folder, None))
    if not folders and not upstreams:
        raise ValueError("give at least one PROJECT, or --demo")

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # Without --port, a taken default falls back to a free port (cli.md); a port given and taken is an error.
    server = MirrorServer(
        host, default_port() if port is None else port, token, allowed_origins, max_clients, dialect=dialect
    )
    sources: list[SessionSource] = []
    taken: list[str] = []
    for folder, alias in folders:
        taken.append(session_id_for(alias, Path(folder).name, taken))
        sources.append(ProjectWatcher(Path(folder), alias=alias, session_id=taken[-1]))
    for upstream in upstreams:
        taken.append(session_id_for(None, upstream.upstream_id, taken))
        upstream.store.session_id = taken[-1]
        sources.append(upstream)
    try:
        with loop:
            return loop.run_until_complete(_serve(server, sources, demo_build, fallback=port is None))
    finally:
        for source in sources:
            source.stop()
        if demo_build is not None:
            demo_build.cleanup()


async def _serve(server: MirrorServer, sources: list[SessionSource], demo_build, fallback: bool) -> int:
    stop = asyncio.Event()
    restore = stop_on_signals(stop.set)
    try:
        note = await start_server(server, fallback)
        if note:
            print(f"buildrunner-gui: {note}", file=sys.stderr, flush=True)
        local_ready = asyncio.Event()
        waiting = [source for source in sources if source.is_local]

        def one_ready() -> None:
            if all(source.is_ready for source in waiting):
                local_ready.set()

        for source in sources:
            server.add_session(source)
            source.ready.connect(one_ready)
            source.start()
        if waiting:
            await local_ready.wait()  # a relay does not wait for its upstream: it serves what it knows
        if demo_build is not None:
            demo_build.start()
        if server.token:
            print(
                f"buildrunner-gui: access token {server.token} (Authorization: Bearer, or ?token=)",
                file=sys.stderr,
            )
        print(f"buildrunner-gui: browser page {server.page_url()}", file=sys.stderr)
        for source in sources:
            print(f"serving {server.url_for(source.session_id)}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        if demo_build is not None:
            demo_build.stop()
        await server.stop()
        restore()
    return 0
