"""The browser mirror page in a real headless Chromium, against a real `buildrunner-gui serve` process.

Needs Debian's `chromium` (/usr/bin/chromium) and the `playwright` Python package; the browser is the
system one (no `playwright install`). The page is loaded with the server's own strict CSP in force.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVING = re.compile(rb"serving ws://([^/\s]+):(\d+)/api/build/stream/(\S+)")
SESSION = "br3-sample"

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright Python package is missing (pip install playwright)"
)
expect = sync_api.expect

pytestmark = pytest.mark.timeout(60)


class Process:
    """A child process that prints a line matching `ready` once it serves; `stop()` leaves nothing running."""

    def __init__(self, argv: list[str], log: Path, ready: re.Pattern[bytes]) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        try:
            self.ready = self._read_until(ready, timeout=20.0)
        except BaseException:
            self.stop()
            raise

    def _read_until(self, ready: re.Pattern[bytes], timeout: float) -> re.Match[bytes]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        seen = b""
        deadline = time.monotonic() + timeout
        while (match := ready.search(seen)) is None or b"\n" not in seen[match.end() :]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.process.args} printed no ready line in {timeout} s: {seen!r}")
            ready_fds, _, _ = select.select([fd], [], [], remaining)
            if not ready_fds:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"{self.process.args} exited ({self.process.wait()}): {seen!r}")
            seen += chunk
        return match

    def kill(self) -> None:
        """An abrupt end (SIGKILL): the browser sees its connection drop without a close frame."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.log.close()


class Served(Process):
    """`buildrunner-gui serve PROJECT OPTIONS...`"""

    def __init__(self, log: Path, *projects_and_options: Path | str) -> None:
        argv = [sys.executable, "-m", "buildrunner_gui", "serve", *map(str, projects_and_options)]
        super().__init__(argv, log, SERVING)
        self.port = int(self.ready.group(2))
        self.session = self.ready.group(3).decode()

    def page_url(self, token: str | None = None) -> str:
        return f"http://127.0.0.1:{self.port}/" + (f"?token={token}" if token else "")


# A plain TCP relay: killing it cuts the browser's connection while the server (and its epoch) lives on.
RELAY = """
import asyncio, sys
listen, target = int(sys.argv[1]), int(sys.argv[2])
async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
async def handle(reader, writer):
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("relaying", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    manager = sync_api.sync_playwright()
    playwright = manager.start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    """Starts `serve` processes (and relays); every one is stopped at the end, whatever happened."""
    started: list[Process] = []

    def start(*projects_and_options: Path | str) -> Served:
        served = Served(tmp_path / "serve.log", *projects_and_options)
        started.append(served)
        return served

    def relay(listen: int, target: int) -> Process:
        process = Process(
            [sys.executable, "-c", RELAY, str(listen), str(target)], tmp_path / "relay.log", re.compile(rb"relaying")
        )
        started.append(process)
        return process

    start.relay = relay

    try:
        yield start
    finally:
        for served in started:
            served.stop()


def write_checkpoint(project: Path, name: str, body: dict) -> str:
    path = project / ".buildrunner" / "checkpoints" / f"{name}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(body))
    temporary.replace(path)  # appears whole: one 'created', never a half-written file
    return name


def wait_for_first_render(page) -> None:
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=10_000)
    expect(page.locator("#features tbody tr[data-id]")).to_have_count(17, timeout=10_000)
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "100")
    expect(page.locator("#progress-percent")).to_have_text("100%")


def test_page_renders_the_snapshot_and_applies_live_events(sample_project, serve, page):
    served = serve(sample_project, "--port", "0")
    assert served.session == SESSION
    page.goto(served.page_url())
    wait_for_first_render(page)

    assert page.locator("#status-badge").get_attribute("data-status") == "completed"
    expect(page.locator("#upstream-state")).to_be_hidden()  # a local project has no upstream to report on
    expect(page.locator("#components tbody tr[data-id]")).to_have_count(91)
    expect(page.locator("#sessions button[data-id='br3-sample']")).to_have_attribute("aria-current", "true")
    newest = page.locator("#checkpoints li[data-id]").first
    expect(newest).to_have_attribute("data-id", "checkpoint_20251117_224022_364548")
    page.evaluate("() => { window.notReloaded = true; }")

    checkpoint = write_checkpoint(
        sample_project,
        "checkpoint_20991231_000000_000001",
        {
            "phase": "build_x",
            "completion_percentage": 42,
            "features": [{"id": "feat-003", "status": "failed"}],
        },
    )
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "42", timeout=10_000)
    expect(page.locator("#progress-percent")).to_have_text("42%")
    expect(page.locator("#checkpoints li[data-id]").first).to_have_attribute("data-id", checkpoint)
    expect(page.locator("#checkpoints li[data-id]").first).to_contain_text("build_x")
    # The feature's row is updated in place; no row is added or lost.
    expect(page.locator("#features tbody tr[data-id='feat-003']")).to_have_attribute("data-status", "failed")
    expect(page.locator("#features tbody tr[data-id]")).to_have_count(17)
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "failed")
    expect(page.locator("#files li").first).to_have_attribute(
        "data-path", f".buildrunner/checkpoints/{checkpoint}.json"
    )

    # Text from the build is shown as text, never parsed as HTML.
    hostile = '<img src=x id=injected onerror="window.pwned=1"> done'
    with (sample_project / ".buildrunner" / "logs" / "research-cost.log").open("a") as log:
        log.write(hostile + "\n")
    expect(page.locator("#terminal .line").last).to_have_text(hostile, timeout=10_000)
    assert page.locator("#injected").count() == 0

    # The terminal keeps the last 1,000 lines and follows new output while scrolled to the bottom ...
    log_path = sample_project / ".buildrunner" / "logs" / "research-cost.log"
    with log_path.open("a") as log:
        log.write("".join(f"bulk line {n}\n" for n in range(1200)))
    expect(page.locator("#terminal .line").last).to_have_text("bulk line 1199", timeout=10_000)
    expect(page.locator("#terminal .line")).to_have_count(1000)
    assert page.evaluate(
        "() => { const t = document.getElementById('terminal');"
        " return t.scrollHeight - t.scrollTop - t.clientHeight < 8; }"
    )
    # ... but not while the reader has scrolled up.
    page.evaluate("() => { document.getElementById('terminal').scrollTop = 0; }")
    with log_path.open("a") as log:
        log.write("one more line\n")
    expect(page.locator("#terminal .line").last).to_have_text("one more line", timeout=10_000)
    assert page.evaluate("() => document.getElementById('terminal').scrollTop") == 0
    # Monitor notes are 'info' lines, shown apart from the build's own output.
    log_path.write_text("")
    expect(page.locator("#terminal .line.t-info").last).to_contain_text("log restarted", timeout=10_000)
    expect(page.locator("#terminal .line.t-info").last).to_have_attribute("data-type", "info")

    # A removed checkpoint leaves the history, and the figures go back.
    (sample_project / ".buildrunner" / "checkpoints" / f"{checkpoint}.json").unlink()
    expect(page.locator(f"#checkpoints li[data-id='{checkpoint}']")).to_have_count(0, timeout=10_000)
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "100")
    expect(page.locator("#features tbody tr[data-id='feat-003']")).to_have_attribute("data-status", "completed")

    assert page.evaluate("() => window.notReloaded === true && window.pwned === undefined")
    assert page.problems == []


def test_sessions_list_and_the_choice_in_the_hash(sample_project, tmp_path, serve, page):
    other = tmp_path / "other"
    shutil.copytree(sample_project, other)
    write_checkpoint(other, "checkpoint_20991231_000000_000001", {"phase": "other_build", "completion_percentage": 42})
    served = serve(sample_project, other, "--port", "0")
    page.goto(served.page_url())
    wait_for_first_render(page)  # the first session by default
    buttons = page.locator("#sessions button[data-id]")
    expect(buttons).to_have_count(2)
    expect(buttons.nth(0)).to_have_attribute("aria-current", "true")
    expect(buttons.nth(1)).to_have_attribute("data-id", "other")
    expect(buttons.nth(1)).to_contain_text("42%")

    buttons.nth(1).click()
    expect(page).to_have_url(re.compile(r"#session=other$"))
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "42", timeout=10_000)
    expect(page.locator("#checkpoints li[data-id]").first).to_have_attribute(
        "data-id", "checkpoint_20991231_000000_000001"
    )
    expect(page.locator("#footer")).to_have_attribute("data-session", "other")
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected")

    page.reload()  # the choice is remembered in the address
    expect(page.locator("#footer")).to_have_attribute("data-session", "other", timeout=10_000)
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "42", timeout=10_000)
    page.goto(served.page_url() + "#session=no-such-session")  # an unknown choice falls back to the first
    expect(page.locator("#footer")).to_have_attribute("data-session", SESSION, timeout=10_000)
    assert page.problems == []


def test_page_with_a_token(sample_project, serve, page):
    served = serve(sample_project, "--host", "127.0.0.1", "--port", "0", "--token", "a-secret-of-20-chars")

    refused = page.goto(served.page_url())
    assert refused is not None and refused.status == 401
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"http://127.0.0.1:{served.port}/api/build/sessions", timeout=5)
    assert answer.value.code == 401
    answer.value.close()

    accepted = page.goto(served.page_url("a-secret-of-20-chars"))
    assert accepted is not None and accepted.status == 200
    wait_for_first_render(page)  # the sessions fetch and the WebSocket both carried ?token=a-secret-of-20-chars
    checkpoint = write_checkpoint(
        sample_project, "checkpoint_20991231_000000_000001", {"phase": "with_token", "completion_percentage": 42}
    )
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "42", timeout=10_000)
    expect(page.locator("#checkpoints li[data-id]").first).to_have_attribute("data-id", checkpoint)
    assert page.problems == []


def test_page_reconnects_to_a_restarted_server(sample_project, serve, page):
    served = serve(sample_project, "--port", "0")
    port = served.port
    page.goto(served.page_url())
    wait_for_first_render(page)
    first_epoch = page.locator("#footer").get_attribute("data-epoch")
    assert first_epoch

    served.kill()
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    expect(page.locator("#connection-state")).to_contain_text("reconnecting in")
    # A change while the server is down reaches the page through the new server's snapshot.
    while_down = write_checkpoint(
        sample_project, "checkpoint_20991231_000000_000001", {"phase": "while_down", "completion_percentage": 55}
    )

    served = serve(sample_project, "--port", str(port))
    assert served.port == port
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=25_000)
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "55", timeout=10_000)
    expect(page.locator("#checkpoints li[data-id]").first).to_have_attribute("data-id", while_down)
    assert page.locator("#footer").get_attribute("data-epoch") not in ("", first_epoch)  # reloaded from status

    after = write_checkpoint(
        sample_project, "checkpoint_20991231_000000_000002", {"phase": "after_restart", "completion_percentage": 42}
    )
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "42", timeout=10_000)
    expect(page.locator("#checkpoints li[data-id]").first).to_have_attribute("data-id", after)
    expect(page.locator("#features tbody tr[data-id]")).to_have_count(17)
    expect(page.locator(f"#checkpoints li[data-id='{while_down}']")).to_have_count(1)
    assert page.problems == []


def test_page_resumes_on_the_same_epoch_without_duplicates(sample_project, serve, page):
    """The connection drops but the server lives on: the page sends `resume` with what it last applied, and
    events it already has (in the fresh status, or replayed) are not applied twice."""
    relay_port = free_port()
    served = serve(sample_project, "--port", "0", "--allow-origin", f"http://127.0.0.1:{relay_port}")
    relay = serve.relay(relay_port, served.port)
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.goto(f"http://127.0.0.1:{relay_port}/")
    wait_for_first_render(page)
    epoch = page.locator("#footer").get_attribute("data-epoch")
    before = write_checkpoint(
        sample_project, "checkpoint_20991231_000000_000001", {"phase": "before_drop", "completion_percentage": 42}
    )
    expect(page.locator("#checkpoints li[data-id]").first).to_have_attribute("data-id", before, timeout=10_000)
    last_seq = int(page.locator("#footer").get_attribute("data-seq"))

    relay.kill()
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    during = write_checkpoint(
        sample_project, "checkpoint_20991231_000000_000002", {"phase": "during_drop", "completion_percentage": 55}
    )
    with (sample_project / ".buildrunner" / "logs" / "research-cost.log").open("a") as log:
        log.write("line written while the page was away\n")
    time.sleep(0.5)  # let the server see both changes before the page is back

    relay = serve.relay(relay_port, served.port)
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=25_000)
    expect(page.locator("#progress-percent")).to_have_attribute("data-value", "55", timeout=10_000)
    expect(page.locator("#checkpoints li[data-id]").first).to_have_attribute("data-id", during)
    expect(page.locator("#terminal .line").last).to_have_text("line written while the page was away")
    assert page.locator("#footer").get_attribute("data-epoch") == epoch

    deadline = time.monotonic() + 5
    resumes: list[dict] = []
    while not resumes and time.monotonic() < deadline:
        page.wait_for_timeout(50)
        resumes = [m for m in map(json.loads, sent) if m.get("type") == "resume"]
    assert resumes == [{"type": "resume", "epoch": epoch, "last_seq": last_seq}]

    page.wait_for_timeout(300)  # time for any replayed duplicate to arrive (and be ignored)
    assert page.locator("#terminal .line", has_text="line written while the page was away").count() == 1
    for checkpoint in (before, during):
        assert page.locator(f"#checkpoints li[data-id='{checkpoint}']").count() == 1
        path = f".buildrunner/checkpoints/{checkpoint}.json"
        assert page.locator(f"#files li[data-path='{path}']").count() == 1
    expect(page.locator("#features tbody tr[data-id]")).to_have_count(17)
    assert page.problems == []


def test_page_on_a_relay_shows_what_the_upstream_serves_through_a_whole_build(tmp_path, serve, page):
    """The browser page, on a relay (`serve ws://…`) of a served project, ends a scripted build showing exactly the
    upstream's own snapshot: every feature and component row, the figures and the checkpoint history."""
    from buildrunner_gui.demo import DemoBuild

    demo = DemoBuild(tmp_path / "demo-project", duration=3.0, seed=5)
    demo.prepare()
    upstream = serve(demo.folder, "--port", "0")
    relay = serve(f"ws://127.0.0.1:{upstream.port}/api/build/stream/{upstream.session}", "--port", "0")
    page.goto(relay.page_url() + f"#{relay.session}")
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected", timeout=10_000)
    demo.start()
    try:
        deadline = time.monotonic() + 30
        while not demo.finished and time.monotonic() < deadline:
            time.sleep(0.1)
        assert demo.finished
    finally:
        demo.stop()
    status_url = f"http://127.0.0.1:{upstream.port}/api/build/status/{upstream.session}"

    def upstream_state() -> dict:
        with urllib.request.urlopen(status_url, timeout=10) as response:
            return json.load(response)

    def page_view() -> dict:
        def rows(table: str) -> list:
            return sorted(
                page.locator(f"#{table} tbody tr[data-id]").evaluate_all(
                    "rows => rows.map(r => [r.dataset.id, r.dataset.status, Number(r.dataset.progress)])"
                )
            )

        return {
            "features": rows("features"),
            "components": rows("components"),
            "checkpoints": page.locator("#checkpoints li[data-id]").evaluate_all(
                "items => items.map(i => i.dataset.id)"
            ),
            "percent": float(page.locator("#progress-percent").get_attribute("data-value")),
            "status": page.locator("#status-badge").get_attribute("data-status"),
        }

    def expected_view(state: dict) -> dict:
        return {
            "features": sorted([i["id"], i["status"], float(i["progress"])] for i in state["features"]),
            "components": sorted([i["id"], i["status"], float(i["progress"])] for i in state["components"]),
            "checkpoints": [row["checkpoint_id"] for row in reversed(state["checkpoints"])],
            "percent": float(state["progress"]["percent"]),
            "status": state["status"],
        }

    # The upstream's watcher and then the relay take a moment to see the last writes: compare until both settle.
    deadline = time.monotonic() + 15
    while True:
        state = upstream_state()
        want, got = expected_view(state), page_view()
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert got == want
    assert state["features"] and state["checkpoints"]
    upstream_badge = page.locator("#upstream-state")
    expect(upstream_badge).to_have_attribute("data-state", "live")
    expect(upstream_badge).to_be_visible()
    expect(page.locator("body")).not_to_have_class(re.compile("upstream-stale"))

    upstream.stop()  # the relay's upstream goes away: the page must not go on looking live
    expect(upstream_badge).not_to_have_attribute("data-state", "live", timeout=10_000)
    expect(upstream_badge).to_contain_text("last contact")
    expect(page.locator("body")).to_have_class(re.compile("upstream-stale"))
    expect(page.locator("#connection-state")).to_have_attribute("data-state", "connected")  # the relay itself is up
    assert page.problems == []
