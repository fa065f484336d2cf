"""A page on another origin that does what BuildRunner 3's build monitor does, in a real Chromium, against a real
`serve --dialect br3`: a cross-origin `fetch` of the status, a plain `new WebSocket` (no subprotocol), and code
that reads `content`, `files.length` and `tasks.filter` as its components do."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

import pytest

from .test_browser_page import CHROMIUM, CHROMIUM_ARGS, Process, Served, expect, sync_api

pytestmark = pytest.mark.timeout(90)

CLIENT = """<!doctype html><meta charset="utf-8"><title>br3-like client</title>
<pre id="state">loading</pre>
<script>
window.problems = [];
window.addEventListener('error', (e) => window.problems.push(String(e.message)));
(async () => {
  const server = 'SERVER';
  const data = await (await fetch(server + '/api/build/status/SESSION')).json();
  const components = new Map(data.components.map((c) => [c.id, c]));
  const features = new Map(data.features.map((f) => [f.id, f]));
  const lines = [];
  let status = data.status;
  const render = () => {
    document.getElementById('state').textContent = JSON.stringify({
      id: data.id, status,
      files: [...components.values()].reduce((n, c) => n + c.files.length, 0),
      dependencies: [...components.values()].filter((c) => c.dependencies.length >= 0).length,
      done_tasks: [...features.values()].map((f) => f.tasks.filter((t) => t.completed).length).length,
      errors: [...features.values()].filter((f) => f.status === 'error').map((f) => f.id),
      lines,
    });
  };
  render();
  const ws = new WebSocket(server.replace('http', 'ws') + '/api/build/stream/' + data.id);
  ws.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.type === 'component_update' && components.has(m.component_id)) {
      Object.assign(components.get(m.component_id), { status: m.status, progress: m.progress, files: m.files,
                                                       error: m.error });
    } else if (m.type === 'feature_update' && features.has(m.feature_id)) {
      Object.assign(features.get(m.feature_id), { status: m.status, progress: m.progress, tasks: m.tasks });
    } else if (m.type === 'terminal_output') {
      lines.push(m.content || '');
    } else if (m.type === 'build_progress') {
      status = m.status;
    }
    render();
  };
})().catch((error) => window.problems.push('failed: ' + error));
</script>
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def browser_page():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium.new_context().new_page()
        finally:
            chromium.close()


def test_a_br3_like_page_on_another_origin_reads_the_build_live(tmp_path, sample_project: Path, browser_page):
    page_port = free_port()
    origin = f"http://127.0.0.1:{page_port}"
    served = Served(tmp_path / "serve.log", sample_project, "--port", "0", "--dialect", "br3", "--allow-origin", origin)
    site = tmp_path / "site"
    site.mkdir()
    server = f"http://127.0.0.1:{served.port}"
    (site / "index.html").write_text(CLIENT.replace("SERVER", server).replace("SESSION", served.session))
    pages = Process(
        [sys.executable, "-u", "-m", "http.server", str(page_port), "--bind", "127.0.0.1", "--directory", str(site)],
        tmp_path / "site.log", re.compile(rb"Serving HTTP"),
    )  # fmt: skip
    try:
        browser_page.goto(f"{origin}/index.html")
        state = browser_page.locator("#state")
        expect(state).to_contain_text('"id":"br3-sample"', timeout=15_000)

        log = sample_project / ".buildrunner" / "logs" / "monitor.log"
        log.write_text("compiling\nFAILED tests/test_cart.py\n")
        expect(state).to_contain_text('"lines":["compiling","FAILED tests/test_cart.py"]', timeout=15_000)
        registry_path = sample_project / ".buildrunner" / "features.json"
        registry = json.loads(registry_path.read_text())
        registry["features"][0]["status"] = "failed"
        registry_path.write_text(json.dumps(registry))
        expect(state).to_contain_text('"errors":["feat-001"]', timeout=15_000)  # failed reads as its error word
        shown = json.loads(state.text_content())
        assert shown["status"] == "error" and shown["files"] > 0
        assert browser_page.evaluate("window.problems") == []
    finally:
        pages.stop()
        served.stop()


def test_our_own_page_is_unchanged_on_a_br3_server(tmp_path, sample_project: Path, browser_page):
    """It asks for buildrunner.v1, so a server in the br3 dialect still gives it the protocol's v1."""
    from .test_browser_page import wait_for_first_render

    served = Served(tmp_path / "serve.log", sample_project, "--port", "0", "--dialect", "br3")
    try:
        browser_page.goto(served.page_url())
        wait_for_first_render(browser_page)
        assert browser_page.locator("#status-badge").get_attribute("data-status") == "completed"  # not br3 words
    finally:
        served.stop()
