"""`buildrunner-gui serve`: watch projects (or relay remote sessions) and serve the mirror protocol, no window.

A QCoreApplication drives the watchers' signals and qasync runs asyncio (the websockets server, the mirror
clients) on the same loop, exactly as inside the window. SIGINT/SIGTERM stop it cleanly: clients get close
1001, exit 0. A PROJECT that is a `ws://…/api/build/stream/ID` URL is relayed (protocol.md, "Sessions served
from a mirror"): it is served even while its upstream cannot be reached, with `source.state` saying so. A PROJECT
that is a `redis://…` URL serves every session published there, new ones as they appear (protocol.md, "Past one
machine"); `--publish redis://…` publishes every session served that is not itself from a broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication

from .commands import open_project
from .model.broker_keys import is_broker_url
from .model.messages import Message
from .model.session_ids import session_id_for
from .os_signals import stop_on_signals
from .ports import default_port, start_server
from .runner.build_run import DEFAULT_COMMAND, BuildRunner, act
from .runner.history import RunHistory, past_run_events
from .server.access import check_token
from .server.broker_publisher import BrokerPublisher
from .server.control import check_control_token
from .server.mirror_server import MirrorServer
from .settings import AppSettings
from .sources.broker_directory import BrokerDirectory
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
    control_token: str | None = None,
    publish: str | None = None,
) -> int:
    # A refused token, bad names and bad URLs fail before anything starts.
    if token is not None:
        check_token(token)
    if control_token is not None:
        check_control_token(control_token, token)
    remote = [project for project in projects if is_stream_url(project) or is_broker_url(project)]
    folders = [open_project(project, watched=True) for project in projects if project not in remote]
    upstreams = [RemoteSource(project) for project in projects if is_stream_url(project)]
    publisher = BrokerPublisher(publish, _say) if publish is not None else None
    demo_build = None
    if demo:
        from .demo import DemoBuild

        demo_build = DemoBuild.in_temporary_folder()
        demo_build.prepare()
        folders.append((demo_build.folder, None))
    if not folders and not remote:
        raise ValueError("give at least one PROJECT, or --demo")

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # Without --port, a taken default falls back to a free port (cli.md); a port given and taken is an error.
    server = MirrorServer(
        host,
        default_port() if port is None else port,
        token,
        allowed_origins,
        max_clients,
        dialect=dialect,
        control_token=control_token,
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

    def claim(upstream_id: str) -> str:
        taken.append(session_id_for(None, upstream_id, taken))
        return taken[-1]

    brokers = [BrokerDirectory(project, claim) for project in projects if is_broker_url(project)]
    history = RunHistory()  # every run and its output, in the app's data folder, as the window keeps them
    for source in sources:
        if isinstance(source, ProjectWatcher):
            past = past_run_events(history, source.location)
            if past:
                source.publish(past)
    runners: list[BuildRunner] = []
    demo_start: Callable[[], object] | None = None
    if demo_build is not None:  # the simulated build is the demo project's build command, started as a run
        from .demo_run import command

        demo_folder = demo_build.folder.resolve()
        demo_source = next(
            s for s in sources if isinstance(s, ProjectWatcher) and Path(s.location).resolve() == demo_folder
        )
        demo_runner = BuildRunner(demo_source.location, history.recorder(demo_source.location, demo_source.publish))
        runners.append(demo_runner)
        demo_command = command(demo_build.folder)
        demo_start = lambda: act(demo_runner, "start", demo_command)  # noqa: E731
    if control_token is not None:
        own = {demo_runner.folder: demo_command} if demo_build is not None else {}
        server.controller = _build_controller(sources, runners, own, history)
    try:
        with loop:
            return loop.run_until_complete(
                _serve(server, sources, demo_start, port is None, runners, Brokers(brokers, publisher))
            )
    finally:
        for source in sources:
            source.stop()
        if demo_build is not None:
            demo_build.cleanup()


def _build_controller(
    sources: list[SessionSource],
    made: list[BuildRunner],
    commands: dict[str, str] | None = None,
    history: RunHistory | None = None,
) -> Callable[[str, str], Message | str | None]:
    """Remote control of each local project's build runs (a relayed session is read-only): its command is the
    one the window keeps for that folder, or its own in `commands` (by folder: the demo's). A runner already
    in `made` for a folder is used; the runners made are added to `made`."""
    have = {runner.folder: runner for runner in made}
    runners = {
        source.session_id: have.get(source.location)
        or BuildRunner(source.location, (history or RunHistory()).recorder(source.location, source.publish))
        for source in sources
        if isinstance(source, ProjectWatcher)
    }
    made.extend(runner for runner in runners.values() if runner not in made)
    settings = AppSettings()
    own = commands or {}

    def control(action: str, session_id: str) -> Message | str | None:
        runner = runners.get(session_id)
        if runner is None:
            return None
        return act(runner, action, own.get(runner.folder) or settings.build_command(runner.folder, DEFAULT_COMMAND))

    return control


async def _stop_builds(runners: list[BuildRunner]) -> None:
    """Cancel every build still running and wait (bounded: SIGKILL comes 5 s after SIGTERM) until each ended."""
    for runner in runners:
        runner.stop()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 8.0
    while any(runner.active for runner in runners) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for runner in runners:
        if runner.active:
            runner.kill_now()


def _say(text: str) -> None:
    print(f"buildrunner-gui: {text}", file=sys.stderr, flush=True)


class Brokers:
    """`serve`'s broker side: the directories it serves sessions from, and the broker it publishes to."""

    LISTING_WAIT = 10.0  # seconds: the sessions listed at start get their `serving` lines with the others

    def __init__(self, directories: list[BrokerDirectory], publisher: BrokerPublisher | None) -> None:
        self.directories = directories
        self.publisher = publisher
        self.announce = False  # after the first `serving` lines: each new session gets its own at once

    async def start(self, server: MirrorServer, sources: list[SessionSource]) -> None:
        if self.publisher is not None:
            await self.publisher.start()
            for source in sources:
                self.publisher.add_session(source)
        for directory in self.directories:
            directory.notices.connect(_say)
            directory.added.connect(lambda source: self._added(server, sources, source))
            directory.start()
        for directory in self.directories:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.LISTING_WAIT):
                    await directory.listed.wait()
            if not directory.sources and not directory.failing:  # a failure has said so already
                _say(f"no session published at {directory.url} yet: each is served as it appears")

    def _added(self, server: MirrorServer, sources: list[SessionSource], source: SessionSource) -> None:
        sources.append(source)
        server.add_session(source)
        source.start()
        if self.announce:
            print(f"serving {server.url_for(source.session_id)}", flush=True)

    async def stop(self) -> None:
        for directory in self.directories:
            await directory.aclose()
        if self.publisher is not None:
            await self.publisher.stop()


async def _serve(
    server: MirrorServer,
    sources: list[SessionSource],
    demo_start: Callable[[], object] | None,
    fallback: bool,
    runners: list[BuildRunner],
    brokers: Brokers | None = None,
) -> int:
    stop = asyncio.Event()
    restore = stop_on_signals(stop.set)
    brokers = brokers or Brokers([], None)
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
        await brokers.start(server, sources)  # published once loaded: the first snapshot is the whole state
        if demo_start is not None:
            demo_start()
        if server.token:
            print(
                f"buildrunner-gui: access token {server.token} (Authorization: Bearer, or ?token=)",
                file=sys.stderr,
            )
        print(f"buildrunner-gui: browser page {server.page_url()}", file=sys.stderr)
        for source in sources:
            print(f"serving {server.url_for(source.session_id)}")
        sys.stdout.flush()
        brokers.announce = True
        await stop.wait()
    finally:
        await _stop_builds(runners)
        await brokers.stop()
        await server.stop()
        restore()
    return 0
