"""The window publishes its sessions (Settings → "Publish to a broker") and opens a broker's sessions
(`buildrunner-gui redis://…`): here one window does both, so the broker's copy of its own project sits beside the
project and shows exactly its state; the copy itself is not published back, and the broker is opened again next
time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as redis_client

from buildrunner_gui.app import DesktopApp
from buildrunner_gui.settings import AppSettings

from .local_session import comparable
from .redis_server import RedisServer


async def until(condition, timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout} s: {what}")


def test_the_window_publishes_its_project_and_shows_the_brokers_copy_beside_it(
    run, tmp_path: Path, sample_project: Path, redis_server: RedisServer
):
    settings = AppSettings(str(tmp_path / "settings.ini"))
    preferences = settings.preferences()
    preferences.publish_url = redis_server.url
    settings.save_preferences(preferences)

    async def scenario() -> None:
        desktop = DesktopApp(settings, server_port=0)
        try:
            await desktop.start([str(sample_project), redis_server.url])
            sessions = desktop.sessions
            await until(lambda: "br3-sample-2" in sessions and sessions["br3-sample-2"].loaded, 15, "the copy opens")
            local, copy = sessions["br3-sample"].store, sessions["br3-sample-2"].store
            assert copy.source["kind"] == "broker" and copy.source["upstream"] == redis_server.url
            await until(lambda: comparable(copy.snapshot()) == comparable(local.snapshot()), 10, "the same state")
            assert desktop.window.sidebar.count() == 2

            client = redis_client.from_url(redis_server.url)
            try:
                listed = await client.hkeys("buildrunner:sessions")
            finally:
                await client.aclose()
            assert listed == [b"br3-sample"]  # the broker's copy is not published back

            redis_server.kill()  # the broker goes away: the window says so in its status bar, and goes on
            (sample_project / ".buildrunner" / "logs" / "late.log").write_text("one more line\n")
            label = desktop.window.server_status.label
            await until(lambda: "unreachable" in label.text(), 15, "the status bar says the broker is away")
            redis_server.start()
            await until(lambda: "unreachable" not in label.text(), 15, "and no more once it is back")
            await desktop.shutdown()
            assert redis_server.url in settings.open_projects()  # opened again next time, with all its sessions
        finally:
            await desktop.shutdown()

    run(scenario(), 60)


def test_the_settings_dialog_edits_the_broker_to_publish_to(qtbot):
    from buildrunner_gui.settings import Preferences
    from buildrunner_gui.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Preferences(publish_url="redis://broker:6379/0"))
    qtbot.addWidget(dialog)
    assert dialog.publish_url.text() == "redis://broker:6379/0"
    dialog.publish_url.setText("  redis://:secret@other:6380/2 ")
    assert dialog.result_preferences().publish_url == "redis://:secret@other:6380/2"
    dialog.publish_url.clear()
    assert dialog.result_preferences().publish_url == ""  # empty: not published
