"""Export a session's current state: JSON (the snapshot as is) and a self-contained HTML report."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any


def report_json(state: dict[str, Any]) -> str:
    return json.dumps(state, indent=2)


def report_html(state: dict[str, Any]) -> str:
    """One file, no external resources: the overview, features, components, checkpoints and errors."""
    e = html.escape
    progress = state["progress"]

    def items_table(items: list[dict[str, Any]]) -> str:
        rows = "".join(
            f"<tr><td>{e(i['id'])}</td><td>{e(i['name'])}</td><td class='s-{e(i['status'])}'>{e(i['status'])}</td>"
            f"<td>{i['progress']:.1f}%</td></tr>"
            for i in items
        )
        return f"<table><tr><th>id</th><th>name</th><th>status</th><th>progress</th></tr>{rows}</table>"

    checkpoints = "".join(
        f"<tr><td>{e(c['checkpoint_id'])}</td><td>{e(c['phase'])}</td><td>{e(c['status'])}</td>"
        f"<td>{e(c['timestamp'])}</td></tr>"
        for c in reversed(state["checkpoints"])
    )
    errors = "".join(f"<li>{e(x['file_path'] or '-')}: {e(x['error_message'])}</li>" for x in state["errors"])
    name = e(state["project"]["name"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name} — BuildRunner report</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 0 0 2em; }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; }}
.bar {{ background: #eee; width: 30em; height: 1em; }} .bar div {{ background: #0072B2; height: 1em; }}
.s-completed {{ color: #009E73; }} .s-in_progress {{ color: #0072B2; }}
.s-failed {{ color: #D55E00; font-weight: bold; }}
</style></head><body>
<h1>{name}</h1>
<p>{e(state["project"].get("path") or "")}<br>exported {datetime.now(UTC).isoformat(timespec="seconds")}</p>
<h2>Status: {e(state["status"])} — {progress["percent"]:.1f}%</h2>
<div class="bar"><div style="width:{max(0.0, min(100.0, progress["percent"])):.1f}%"></div></div>
<p>{progress["completed"]} of {progress["total"]} completed · {progress["tasks_completed"]} tasks ·
{progress["files_created"]} files created · {len(state["checkpoints"])} checkpoints</p>
<h2>Features</h2>{items_table(state["features"])}
<h2>Components</h2>{items_table(state["components"])}
<h2>Checkpoints</h2><table><tr><th>id</th><th>phase</th><th>status</th><th>time</th></tr>{checkpoints}</table>
<h2>Errors</h2><ul>{errors or "<li>none</li>"}</ul>
</body></html>
"""
