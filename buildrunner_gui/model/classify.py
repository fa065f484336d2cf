"""Which kind of BuildRunner file a project-relative path is (formats.md, "Files and what they mean")."""

from __future__ import annotations

from typing import Literal

FileType = Literal["checkpoint", "features", "context", "artifact", "log", "spec", "other"]

STATE_DIR = ".buildrunner"

# Kinds whose content the differ reads; the rest are only listed.
PARSED_TYPES: frozenset[str] = frozenset(("checkpoint", "features", "context", "spec"))
DOCUMENT_TYPES: frozenset[str] = frozenset(("context", "spec"))


def classify(rel_path: str) -> FileType:
    """`rel_path` is relative to the project root, with `/` separators."""
    if rel_path == "PROJECT_SPEC.md":
        return "spec"
    parts = rel_path.split("/")
    if len(parts) < 2 or parts[0] != STATE_DIR:
        return "other"
    inner = parts[1:]
    name = inner[-1]
    if inner == ["features.json"]:
        return "features"
    if inner == ["PROJECT_SPEC.md"]:
        return "spec"
    if len(inner) == 2 and inner[0] == "checkpoints" and name.endswith(".json"):
        return "checkpoint"
    if len(inner) >= 2 and inner[0] == "context" and name.endswith((".md", ".txt")):
        return "context"
    if len(inner) >= 2 and inner[0] == "artifacts":
        return "artifact"
    if len(inner) == 2 and inner[0] == "logs" and name.endswith(".log"):
        return "log"
    return "other"


def is_relevant(rel_path: str) -> bool:
    """Files the app reports at all: everything under `.buildrunner/`, and the root `PROJECT_SPEC.md`,
    except writers' temporary files (`.name.tmp`, `name~`), which are noise in the activity log."""
    if rel_path != STATE_DIR and is_temporary(rel_path.rsplit("/", 1)[-1]):
        return False
    return rel_path == "PROJECT_SPEC.md" or rel_path == STATE_DIR or rel_path.startswith(STATE_DIR + "/")


def is_temporary(name: str) -> bool:
    return (name.startswith(".") and name.endswith(".tmp")) or name.endswith("~") or name.endswith(".swp")
