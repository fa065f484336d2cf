"""The text of every file project creation writes: spec, feature registry, context documents, README, .gitignore.

Pure functions of the project's details (no I/O, no clock: the caller passes `now`), so they are easy to test and
the initializer stays about ordering and rollback. The shapes follow what BuildRunner 3 writes: `PROJECT_SPEC.md`
with `## Feature N: Name` sections, `features.json` as its `br init` creates it, and the four context documents
of `.buildrunner/context/`.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Protocol


class Feature(Protocol):
    name: str
    description: str


def feature_id(index: int) -> str:
    """BuildRunner's own registry numbers features `feat-001`, `feat-002`, …"""
    return f"feat-{index + 1:03d}"


def _iso_utc(now: _dt.datetime) -> str:
    return now.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_spec(
    name: str, description: str, features: Sequence[Feature], tech_stack: Sequence[str], now: _dt.datetime
) -> str:
    """`.buildrunner/PROJECT_SPEC.md`: the PRD's content, with guidance in place of anything it left out."""
    lines = [
        f"# {name}",
        "",
        "**Version:** 0.1.0",
        f"**Last Updated:** {now.replace(microsecond=0, tzinfo=None).isoformat()}",  # naive local, as BuildRunner
        "",
        "## Project Overview",
        "",
        description.strip() or "_What does this project do, and for whom? Replace this line with a short overview._",
        "",
    ]
    if features:
        for index, feature in enumerate(features):
            lines += [
                f"## Feature {index + 1}: {feature.name}",
                "",
                "**Priority:** Medium",
                f"**ID:** {feature_id(index)}",
                "**Status:** Planned",
                "",
                "### Description",
                "",
                feature.description.strip() or "_Describe this feature._",
                "",
                "### Acceptance Criteria",
                "",
                "- [ ] _Add the checks that prove this feature works._",
                "",
            ]
    else:
        lines += [
            "## Feature 1: <Feature name>",
            "",
            "**Priority:** Medium",
            "",
            "### Description",
            "",
            "_No features yet. Copy this section once per feature (`## Feature 2: …`, `## Feature 3: …`) and",
            "add each one to `.buildrunner/features.json` as well, so the build can track it._",
            "",
            "### Acceptance Criteria",
            "",
            "- [ ] _Add the checks that prove this feature works._",
            "",
        ]
    lines += ["## Tech Stack", ""]
    if tech_stack:
        lines += [f"- {item}" for item in tech_stack]
    else:
        lines.append("_Languages, frameworks, databases and services this project uses, one per line._")
    lines += [
        "",
        "## Out of Scope",
        "",
        "_What this project deliberately does not do._",
        "",
    ]
    return "\n".join(lines)


def features_json(name: str, description: str, features: Sequence[Feature], now: _dt.datetime) -> str:
    """`.buildrunner/features.json` in BuildRunner 3's format: every feature `planned`, progress 0."""
    stamp = _iso_utc(now)
    document = {
        "project": name,
        "version": "1.0.0",
        "status": "in_development",
        "last_updated": stamp,
        "description": description,
        "features": [
            {
                "id": feature_id(index),
                "name": feature.name,
                "description": feature.description,
                "priority": "medium",
                "status": "planned",
                "progress": 0,
                "components": [],
                "blockers": [],
                "dependencies": [],
                "created_at": stamp,
            }
            for index, feature in enumerate(features)
        ],
        "metrics": {
            "features_complete": 0,
            "features_in_progress": 0,
            "features_planned": len(features),
            "completion_percentage": 0,
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def context_documents(
    name: str, description: str, features: Sequence[Feature], tech_stack: Sequence[str], now: _dt.datetime
) -> dict[str, str]:
    """The starter documents of `.buildrunner/context/`: file name -> text."""
    today = now.date().isoformat()
    stack = "\n".join(f"- {item}" for item in tech_stack) or "_Not decided yet._"
    planned = "\n".join(f"- {feature_id(i)} {f.name}" for i, f in enumerate(features)) or "_No features yet._"
    return {
        "architecture.md": "\n".join(
            [
                "# Architecture Decisions",
                "",
                f"Project: **{name}**",
                "",
                "## Tech Stack",
                "",
                stack,
                "",
                "## Decisions",
                "",
                "_Record each significant decision here: what was decided, why, and what was rejected._",
                "",
            ]
        ),
        "current-work.md": "\n".join(
            [
                "# Current Work",
                "",
                "**Status:** Not started",
                f"**Created:** {today}",
                "",
                description.strip() or "_No description yet._",
                "",
                "## Planned",
                "",
                planned,
                "",
                "## In Progress",
                "",
                "_Nothing yet._",
                "",
                "## Completed",
                "",
                "_Nothing yet._",
                "",
            ]
        ),
        "blockers.md": "\n".join(
            [
                "# Blockers",
                "",
                "## Active Blockers",
                "",
                "*None currently*",
                "",
                "## Resolved Blockers",
                "",
                "*None yet*",
                "",
            ]
        ),
        "test-results.md": "\n".join(
            [
                "# Test Results",
                "",
                "## Latest Test Run",
                "",
                "**Status:** Not yet run",
                "**Date:** Pending",
                "**Coverage:** TBD",
                "",
            ]
        ),
    }


def readme(name: str, description: str, alias: str, features: Sequence[Feature], tech_stack: Sequence[str]) -> str:
    lines = [f"# {name}", "", description.strip() or "_A short description of the project._", ""]
    if features:
        lines += ["## Features", ""]
        lines += [
            f"- **{f.name}**" + (f" — {' '.join(f.description.split())}" if f.description.strip() else "")
            for f in features
        ]
        lines.append("")
    if tech_stack:
        lines += ["## Tech Stack", "", *(f"- {item}" for item in tech_stack), ""]
    lines += [
        "## Layout",
        "",
        "| path | what it holds |",
        "|---|---|",
        "| `core/` | the project's source code |",
        "| `tests/` | its tests |",
        "| `docs/` | its documentation |",
        "| `.buildrunner/PROJECT_SPEC.md` | the project spec: what to build |",
        "| `.buildrunner/features.json` | the feature registry BuildRunner updates as it builds |",
        "| `.buildrunner/context/` | context documents for the build |",
        "| `.buildrunner/checkpoints/`, `logs/`, `artifacts/` | build state, logs and outputs |",
        "",
        "## Building",
        "",
        f"This project is registered with BuildRunner as `{alias}`. Watch its build live with",
        "",
        "```",
        f"buildrunner-gui {alias}",
        "```",
        "",
    ]
    return "\n".join(lines)


def gitignore() -> str:
    return "\n".join(
        [
            "# Python",
            "__pycache__/",
            "*.py[cod]",
            ".venv/",
            "venv/",
            "*.egg-info/",
            ".pytest_cache/",
            ".coverage",
            "htmlcov/",
            "dist/",
            "build/",
            "",
            "# Node",
            "node_modules/",
            "",
            "# Secrets and local settings",
            ".env",
            ".env.*",
            "!.env.example",
            "",
            "# Editors and OS",
            ".idea/",
            ".vscode/",
            ".DS_Store",
            "Thumbs.db",
            "",
            "# BuildRunner: logs are local; the spec, features, context and checkpoints are worth committing",
            ".buildrunner/logs/",
            "",
        ]
    )
