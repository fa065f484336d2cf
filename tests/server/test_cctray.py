"""`GET /cctray.xml` (protocol.md, "Feeds for other tools"): the CCTray format, validated against an XSD of the
format with lxml, read by a real CCTray monitor (BuildNotify), escaped whatever the names hold, behind the same
access rules as every route."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from buildrunner_gui.model.clock import iso
from buildrunner_gui.model.store import SessionStore
from buildrunner_gui.server import cctray
from buildrunner_gui.server.feed_state import session_feed

from .conftest import mirror
from .http_get import get

REPO = Path(__file__).resolve().parents[2]
SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("cctray.xsd"))))
BUILDNOTIFY = REPO / ".venv" / "buildnotify" / "bin" / "python"
TOKEN = "feeds-token-0123456789"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def projects(body: bytes) -> list[dict[str, str]]:
    """The feed's projects, after a strict parse and validation against the format's schema."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    SCHEMA.assertValid(root)
    return [dict(project.attrib) for project in root]


def store(name: str, status: str, last_change: datetime | None, runs: list[dict[str, Any]] = ()) -> SessionStore:
    made = SessionStore(name, {"name": name, "alias": None, "path": f"/projects/{name}"})
    progress = {"total": 1, "completed": 0, "percent": 40.0, "tasks_completed": 0, "files_created": 0}
    made.publish(
        [
            {
                "type": "build_progress",
                "timestamp": iso(NOW),
                "status": status,
                **progress,
                "last_change": iso(last_change) if last_change else None,
            },
            *({"type": "run_update", "timestamp": iso(NOW), **run} for run in runs),
        ]
    )
    return made


def feed_of(*stores: SessionStore, stall_minutes: float = 10.0) -> list[dict[str, str]]:
    feeds = [session_feed(f"s{i}", s, NOW, stall_minutes) for i, s in enumerate(stores)]
    return projects(cctray.document(feeds, "http://127.0.0.1:8765/"))


def write_project(root: Path, checkpoint: dict[str, Any]) -> Path:
    (root / ".buildrunner" / "checkpoints").mkdir(parents=True)
    path = root / ".buildrunner" / "checkpoints" / f"{checkpoint['id']}.json"
    path.write_text(json.dumps({"tasks_completed": [], "files_created": [], "status": "created", **checkpoint}))
    return root


# ---------------------------------------------------------------- the activity rule and the status words


def test_a_project_in_progress_is_building_only_while_it_changed_recently():
    recent = store("recent", "in_progress", NOW - timedelta(minutes=3))
    stale = store("stale", "in_progress", NOW - timedelta(days=365))
    never = store("never", "in_progress", None)
    shown = {p["name"]: p for p in feed_of(recent, stale, never)}
    assert shown["recent"]["activity"] == "Building"
    assert shown["stale"]["activity"] == "Sleeping"  # opened a year after its last build: never "building"
    assert shown["never"]["activity"] == "Sleeping"
    assert {p["lastBuildStatus"] for p in shown.values()} == {"Unknown"}
    # The threshold is the stall setting: three minutes without a change is idle when it is two.
    assert feed_of(recent, stall_minutes=2)[0]["activity"] == "Sleeping"


@pytest.mark.parametrize(("status", "word"), [("completed", "Success"), ("failed", "Failure"), ("pending", "Unknown")])
def test_the_last_build_status_is_the_sessions_status(status, word):
    (shown,) = feed_of(store("p", status, NOW - timedelta(hours=1)))
    assert shown["lastBuildStatus"] == word
    assert shown["activity"] == "Sleeping"
    assert shown["lastBuildTime"] == "2026-03-01T11:00:00.000Z"


def test_a_run_that_failed_makes_it_a_failure_labelled_by_the_run():
    run = {
        "run_id": "run-7",
        "state": "finished",
        "command": "make",
        "started_at": iso(NOW - timedelta(minutes=5)),
        "ended_at": iso(NOW - timedelta(minutes=1)),
        "exit_code": 2,
        "duration_s": 240.0,
    }
    (shown,) = feed_of(store("p", "completed", NOW - timedelta(hours=2), [run]))
    assert shown["lastBuildStatus"] == "Failure"  # the store's status: the run decides it (run_outcome.py)
    assert shown["lastBuildLabel"] == "run-7"
    assert shown["lastBuildTime"] == iso(NOW - timedelta(minutes=1))  # the run's end, newer than the files


def test_a_session_with_no_time_at_all_still_has_a_valid_last_build_time():
    (shown,) = feed_of(store("p", "pending", None))
    assert shown["lastBuildTime"] == "1970-01-01T00:00:00.000Z"
    assert "lastBuildLabel" not in shown  # optional in the format: nothing to label yet


# ---------------------------------------------------------------- names


HOSTILE = [
    "a\"quote' <tag> & ampersand",
    "]]> <!-- not a comment --> <?pi?>",
    "&amp; &#x41; &lt;",
    "tab\tnew\nline\rreturn",
    "nul\x00 bell\x07 escape\x1b",
    "lone \ud800 surrogate",
    "\ufffe\uffff",
    "ünïcödé 構築 🚀",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_any_project_name_gives_a_feed_that_parses_and_keeps_the_name(name):
    (shown,) = feed_of(store(name, "completed", NOW))
    expected = "".join("\ufffd" if cctray._NOT_XML.match(ch) else ch for ch in name)
    assert shown["name"] == expected


def test_sessions_that_share_a_name_are_told_apart_by_their_session_id():
    feeds = [session_feed(sid, store("Same", "completed", NOW), NOW, 10) for sid in ("same", "same-2")]
    feeds.append(session_feed("other", store("", "completed", NOW), NOW, 10))
    shown = projects(cctray.document(feeds, "http://host:1/"))
    assert [p["name"] for p in shown] == ["Same (same)", "Same (same-2)", "other"]
    assert [p["webUrl"] for p in shown] == [
        "http://host:1/#session=same",
        "http://host:1/#session=same-2",
        "http://host:1/#session=other",
    ]


# ---------------------------------------------------------------- the route


def test_the_route_serves_the_sample_build_with_its_latest_checkpoint(run, sample_project):
    async def scenario() -> None:
        async with mirror([sample_project]) as server:
            status, headers, body = await get(server.port, "/cctray.xml")
            assert status == 200 and headers["content-type"].startswith("application/xml")
            (shown,) = projects(body)
            assert shown["name"] == "BuildRunner3"
            assert (shown["activity"], shown["lastBuildStatus"]) == ("Sleeping", "Success")
            assert shown["lastBuildLabel"] == "checkpoint_20251117_224022_364548"
            assert shown["webUrl"] == f"http://127.0.0.1:{server.port}/#session=br3-sample"

    run(scenario())


@pytest.mark.parametrize("path", ["/cctray.xml", "/metrics"])
def test_the_feeds_follow_the_access_rules(run, sample_project, path):
    async def scenario() -> None:
        async with mirror([sample_project], token=TOKEN, allowed_origins=["http://dash.example:3000"]) as server:
            port = server.port
            status, headers, _ = await get(port, path)
            assert status == 401 and headers["www-authenticate"].startswith("Bearer")
            assert (await get(port, f"{path}?token=wrong-token-0123456789"))[0] == 401
            assert (await get(port, f"{path}?token={TOKEN}"))[0] == 200
            assert (await get(port, path, {"Authorization": f"Bearer {TOKEN}"}))[0] == 200
            evil = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}
            assert (await get(port, path, evil))[0] == 403
            allowed = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://dash.example:3000"}
            status, headers, _ = await get(port, path, allowed)
            assert status == 200 and headers["access-control-allow-origin"] == "http://dash.example:3000"

    run(scenario())


# ---------------------------------------------------------------- a real CCTray monitor


@pytest.mark.skipif(not BUILDNOTIFY.exists(), reason="BuildNotify is not installed (scripts/setup --dev)")
def test_buildnotify_shows_each_build_with_its_colour_and_activity(run, sample_project, tmp_path):
    """BuildNotify (PyPI), its own HTTP adapter and parser, with a bearer token, as a user would set it up."""
    now = datetime.now(UTC)
    building = write_project(
        tmp_path / "building", {"id": "cp_1", "timestamp": now.isoformat(), "phase": "build_2_running"}
    )
    failed = write_project(
        tmp_path / "failed",
        {"id": "cp_9", "timestamp": (now - timedelta(hours=3)).isoformat(), "phase": "build_9", "error": "boom"},
    )

    async def scenario() -> list[dict[str, Any]]:
        async with mirror([sample_project, building, failed], token=TOKEN) as server:
            url = f"http://127.0.0.1:{server.port}/cctray.xml"
            reader = REPO / "tests" / "tools" / "buildnotify_fetch.py"
            process = await asyncio.create_subprocess_exec(
                str(BUILDNOTIFY),
                str(reader),
                url,
                TOKEN,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode == 0, err.decode()
            return json.loads(out)

    shown = {project["name"]: project for project in run(scenario())}
    assert shown["BuildRunner3"]["icon"] == "Success.Sleeping"  # green, idle
    assert shown["building"]["icon"] == "Unknown.Building"  # being built, no result yet
    assert shown["failed"]["icon"] == "Failure.Sleeping"  # red
    assert shown["failed"]["label"] == "cp_9" and shown["building"]["label"] == "cp_1"
    assert shown["BuildRunner3"]["url"].endswith("/#session=br3-sample")
    assert all(project["build_time"] for project in shown.values())
    assert sys.executable != str(BUILDNOTIFY)  # its own venv: none of the app's packages helped it
